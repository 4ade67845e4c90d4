"""The kinds of syntax rule, and the rules every vendor platform shares.

A platform's rule table is a tuple of these; each rule has an id, a message and a fix, and
`run(loaded)` returns its findings. Patterns are matched against a line's text with its
whitespace collapsed (what the device's parser sees), not against the raw line.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from netconfig.checks.finding import Finding
from netconfig.checks.loader import Dialect, Line, Loaded, load
from netconfig.checks.structure import View, check_structure

IPV4 = r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}"


def _lines(loaded: Loaded, within: re.Pattern[str] | None) -> Iterator[Line]:
    for line in loaded.lines:
        if within is None or (line.parent is not None and within.search(line.parent.text)):
            yield line


@dataclass(frozen=True)
class Rule:
    """Base: an id, what is wrong, how to fix it."""

    id: str
    message: str
    fix: str

    def finding(self, line: Line | None, detail: str = "") -> Finding:
        """A finding of this rule at `line` (None: the config as a whole)."""
        message = f"{self.message} ({detail})" if detail else self.message
        return Finding(line.number if line else 0, line.text if line else "", self.id, message, self.fix)

    def run(self, loaded: Loaded) -> list[Finding]:  # pragma: no cover - every kind overrides it
        raise NotImplementedError


@dataclass(frozen=True)
class Forbid(Rule):
    """No line may match `pattern` (optionally: no child of a section matching `within`)."""

    pattern: str = ""
    within: str | None = None

    def run(self, loaded: Loaded) -> list[Finding]:
        pat, within = re.compile(self.pattern), re.compile(self.within) if self.within else None
        return [self.finding(line) for line in _lines(loaded, within) if pat.search(line.text)]


@dataclass(frozen=True)
class Require(Rule):
    """Some top-level line must match `pattern`."""

    pattern: str = ""

    def run(self, loaded: Loaded) -> list[Finding]:
        pat = re.compile(self.pattern)
        return [] if any(pat.search(line.text) for line in loaded.top) else [self.finding(None)]


@dataclass(frozen=True)
class Valid(Rule):
    """Every line matching `pattern` must pass `ok(match)`; `ok` may return a reason string for failing."""

    pattern: str = ""
    ok: Callable[[re.Match[str]], bool | str] = lambda m: True
    within: str | None = None

    def run(self, loaded: Loaded) -> list[Finding]:
        pat, within = re.compile(self.pattern), re.compile(self.within) if self.within else None
        out = []
        for line in _lines(loaded, within):
            if m := pat.search(line.text):
                verdict = self.ok(m)
                if verdict is not True:
                    out.append(self.finding(line, verdict if isinstance(verdict, str) else ""))
        return out


@dataclass(frozen=True)
class SectionNeeds(Rule):
    """Every section whose opening line matches `section` must hold a child matching `child`,
    and at least one such section must exist (`required`)."""

    section: str = ""
    child: str = ""
    required: bool = True

    def run(self, loaded: Loaded) -> list[Finding]:
        sec, child = re.compile(self.section), re.compile(self.child)
        sections = [line for line in loaded.lines if sec.search(line.text)]
        if not sections and self.required:
            return [self.finding(None, f"no section matching {self.section!r}")]
        return [self.finding(s) for s in sections if s.child(child) is None]


@dataclass(frozen=True)
class Custom(Rule):
    """A whole-config predicate: `find(loaded)` yields (line, detail) for each problem."""

    find: Callable[[Loaded], Iterator[tuple[Line | None, str]]] = lambda loaded: iter(())

    def run(self, loaded: Loaded) -> list[Finding]:
        return [self.finding(line, detail) for line, detail in self.find(loaded)]


# --- predicates shared by the platforms -------------------------------------------------


def valid_ipv4(text: str) -> bool:
    """A dotted quad with every octet 0–255."""
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def mask_length(mask: str) -> int | None:
    """The prefix length of a dotted mask or a bare length ('24'), or None when it is not contiguous."""
    if mask.isdigit():
        return int(mask) if int(mask) <= 32 else None
    if not valid_ipv4(mask):
        return None
    bits = f"{int(ipaddress.IPv4Address(mask)):032b}"
    return None if "01" in bits else bits.count("1")


def interface_address_ok(m: re.Match[str]) -> bool | str:
    """An interface address: valid octets, a contiguous mask, and not the subnet's network or
    broadcast address (the device refuses both for masks shorter than /31)."""
    ip, mask = m.group("ip"), m.group("mask")
    if not valid_ipv4(ip):
        return f"{ip} is not an IPv4 address"
    length = mask_length(mask)
    if length is None:
        return f"mask {mask} is not contiguous"
    iface = ipaddress.IPv4Interface(f"{ip}/{length}")
    if length < 31 and iface.ip in (iface.network.network_address, iface.network.broadcast_address):
        return f"{ip} is the network or broadcast address of {iface.network}"
    return True


def wildcard_ok(m: re.Match[str]) -> bool | str:
    """An OSPF `network` statement: valid address and a wildcard that is an inverted contiguous mask."""
    if not valid_ipv4(m.group("ip")):
        return f"{m.group('ip')} is not an IPv4 address"
    wildcard = m.group("wildcard")
    if not valid_ipv4(wildcard):
        return f"wildcard {wildcard} is not dotted"
    inverted = str(ipaddress.IPv4Address(int(ipaddress.IPv4Address(wildcard)) ^ 0xFFFFFFFF))
    return True if mask_length(inverted) is not None else f"wildcard {wildcard} is not contiguous"


# The estate's idle timeout bound for every vty line (MLPS asks for one; 15 minutes is ours).
MAX_IDLE_MINUTES = 15


def idle_timeout_ok(m: re.Match[str]) -> bool | str:
    """`idle-timeout`/`exec-timeout` MIN [SEC]: set, and no longer than the estate allows."""
    minutes, seconds = int(m.group("min")), int(m.group("sec") or 0)
    if minutes == 0 and seconds == 0:
        return "0 0 turns the timeout off"
    return True if minutes <= MAX_IDLE_MINUTES else f"{minutes} minutes is longer than the estate's {MAX_IDLE_MINUTES}"


def vty_range_ok(highest: int) -> Callable[[re.Match[str]], bool | str]:
    """A vty range FIRST [LAST] within the lines the platform has (0..highest)."""

    def ok(m: re.Match[str]) -> bool | str:
        first, last = int(m.group("first")), int(m.group("last") or m.group("first"))
        return True if 0 <= first <= last <= highest else f"vty {first} {last} is beyond 0-{highest}"

    return ok


def subnet_ok(m: re.Match[str]) -> bool | str:
    """A network with no host bits under a contiguous mask (groups `net`, `mask`): the device
    would store the masked network, so anything else reads back as a different line."""
    net, mask = m.group("net"), m.group("mask")
    length = mask_length(mask)
    if not valid_ipv4(net) or length is None:
        return f"{net} {mask} is not a network and a contiguous mask"
    if str(ipaddress.IPv4Network(f"{net}/{length}", strict=False).network_address) != net:
        return f"{net} has host bits set under /{length}"
    return True


def static_route_ok(m: re.Match[str]) -> bool | str:
    """A static route: a network with no host bits under a contiguous mask, a next hop that is an
    address or the discard interface, a distance (preference) 1-255."""
    via, distance = m.group("via"), m.group("distance")
    if (network := subnet_ok(m)) is not True:
        return network
    if via.lower() != "null0" and not valid_ipv4(via):
        return f"next hop {via} is neither an IPv4 address nor Null0"
    if distance is not None and not 1 <= int(distance) <= 255:
        return f"distance {distance} is outside 1-255"
    return True


# Global-table static routes per platform (the management VRF's own route is left alone): IOS
# `ip route NET MASK NH [DISTANCE]`, VRP and Comware `ip route-static NET MASK|LEN NH [preference N]`.
_ROUTE_TAIL = r"(?P<net>\S+) (?P<mask>\S+) (?P<via>\S+)"
_STATIC_ROUTE = {
    "ios": rf"^ip route (?!vrf ){_ROUTE_TAIL}(?: (?P<distance>\d+))?$",
    "vrp": rf"^ip route-static (?!vpn-instance ){_ROUTE_TAIL}(?: preference (?P<distance>\d+))?$",
    "comware": rf"^ip route-static (?!vpn-instance ){_ROUTE_TAIL}(?: preference (?P<distance>\d+))?$",
}


def vlan_ids_ok(m: re.Match[str]) -> bool | str:
    """VLAN ids and ranges ('10', '10 to 20', '10-20', '10,20') within 1–4094: 0 and 4095 are reserved."""
    for n in re.findall(r"\d+", m.group("vlans")):
        if not 1 <= int(n) <= 4094:
            return f"VLAN {n} is outside 1-4094"
    return True


def _duplicate_interfaces(loaded: Loaded) -> Iterator[tuple[Line | None, str]]:
    seen: dict[str, Line] = {}
    for line in loaded.top:
        if line.text.lower().startswith("interface "):
            name = line.text.split(None, 1)[1].replace(" ", "").lower()
            if name in seen:
                yield line, f"first at line {seen[name].number}"
            else:
                seen[name] = line


def _duplicate_addresses(loaded: Loaded) -> Iterator[tuple[Line | None, str]]:
    pat = re.compile(rf"^ip address (?P<ip>{IPV4})\b")
    seen: dict[str, Line] = {}  # address -> the interface line that holds it
    for line in loaded.lines:
        m = pat.search(line.text)
        if m and line.parent is not None:
            ip = m.group("ip")
            if ip in seen and seen[ip] is not line.parent:
                yield line, f"{ip} is already on {seen[ip].text}"
            seen.setdefault(ip, line.parent)


def _repeated_lines(loaded: Loaded) -> Iterator[tuple[Line | None, str]]:
    reported: set[int] = set()
    for line in loaded.duplicates:
        reported.add(id(line))
        # A repeated interface section is duplicate-interface's finding; the lines inside a
        # repeated section repeat only because their section does.
        if line.parent is None and line.text.lower().startswith("interface "):
            continue
        if line.parent is not None and id(line.parent) in reported:
            continue
        yield line, "the same line already appears in this section"


def shared_rules(prefix: str, vlan_lines: str) -> tuple[Rule, ...]:
    """The rules every vendor platform runs, ids prefixed with the platform's short name.

    `vlan_lines` is the platform's pattern for lines that carry VLAN ids, with a group `vlans`.
    """
    return (
        Valid(
            f"{prefix}.ip-address",
            "an interface address the device would refuse",
            "give a host address in the subnet and a contiguous mask (e.g. 255.255.255.252)",
            pattern=r"^ip address (?P<ip>\S+) (?P<mask>\S+)",
            ok=interface_address_ok,
        ),
        Valid(
            f"{prefix}.ospf-network",
            "an OSPF network statement with a bad address or wildcard",
            "write the network address and its wildcard (inverse mask), e.g. 10.34.0.0 0.0.0.255",
            pattern=r"^network (?P<ip>\S+) (?P<wildcard>\S+)",
            ok=wildcard_ok,
        ),
        Valid(
            f"{prefix}.vlan-range",
            "a VLAN id outside 1-4094",
            "use a VLAN id from 1 to 4094",
            pattern=vlan_lines,
            ok=vlan_ids_ok,
        ),
        Custom(
            f"{prefix}.duplicate-interface",
            "the same interface is configured in two sections",
            "merge the two sections into one",
            find=_duplicate_interfaces,
        ),
        Custom(
            f"{prefix}.duplicate-ip",
            "the same IPv4 address is on two interfaces (the device refuses an overlapping address)",
            "give each interface its own address",
            find=_duplicate_addresses,
        ),
        Custom(
            f"{prefix}.repeated-line",
            "a line repeats an earlier one in the same section",
            "keep one copy",
            find=_repeated_lines,
        ),
        Valid(
            f"{prefix}.static-route",
            "a static route the device would refuse",
            "write the network address, a contiguous mask, a next-hop address or Null0, a distance 1-255",
            pattern=_STATIC_ROUTE.get(prefix, r"(?!)"),
            ok=static_route_ok,
        ),
    )


def run(rules: tuple[Rule, ...], loaded: Loaded) -> list[Finding]:
    """Every finding of every rule, in line order."""
    found = [f for rule in rules for f in rule.run(loaded)]
    return sorted(found, key=lambda f: (f.line, f.rule))


def check_config(dialect: Dialect, views: tuple[View, ...], rules: tuple[Rule, ...], text: str) -> list[Finding]:
    """Every structure and syntax finding for one platform's config, in line order."""
    loaded = load(dialect, text)
    return sorted(check_structure(loaded, views) + run(rules, loaded), key=lambda f: (f.line, f.rule))


def ntp_and_name_rules(prefix: str) -> tuple[Rule, ...]:
    """VRP and Comware share these two: `ntp-service unicast-server` and `sysname`."""
    return (
        Require(
            f"{prefix}.ntp",
            "no NTP server: log timestamps from this device cannot be correlated",
            "add `ntp-service unicast-server <ntp server>`",
            pattern=rf"^ntp-service unicast-server {IPV4}",
        ),
        Require(f"{prefix}.sysname", "no sysname", "add `sysname <device name>`", pattern=r"^sysname \S+$"),
    )
