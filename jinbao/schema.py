"""The YAML format of an estate, as written by people: compact, with templates and counts.

Every inventory file is validated against InventoryFile on its own, so a schema error points
at the file and line where it was written. jinbao/resolve/ then expands the compact form into the
explicit model of model.py.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainValidator, Strict

from .model import LinkType, Role, SiteKind, ZoneKind
from .names import MAX_NAME, NAME_RE, PATTERN_NAME_RE
from .platforms import Platform
from .schema_base import Line, SecretRefStr, Text, _printable, not_blank, once_each
from .schema_snmp import RawMonitoring, RawSnmpProfile

_DUR_RE = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_DUR_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration(v):
    # A bare number is not read as seconds: `rpo: 30` means 30 minutes to one reader and 30
    # seconds to another, and an RPO is a promise an auditor checks.
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if v < 0:
            raise ValueError(f"{v} is negative; a duration is 0 or more, with its unit (0s, 30m, 4h)")
        raise ValueError(f"{v} has no unit: write {v}s, {v}m, {v}h or {v}d")
    m = _DUR_RE.match(str(v))
    if not m:
        raise ValueError(f"{v!r} is not a duration: write a whole number and its unit, such as 0s, 30s, 15m, 4h or 2d")
    return int(m.group(1)) * _DUR_UNITS[m.group(2)]


Duration = Annotated[int, BeforeValidator(_duration)]
# Sites, devices and zones; device and zone names may hold {placeholders}. A device name is
# checked again as a host name once its placeholders are filled in (resolve/devices.py).
Name = Annotated[str, Field(pattern=PATTERN_NAME_RE, max_length=MAX_NAME)]
# Names no placeholder is ever filled into: templates, SNMP profiles, sites, zones, waves and the
# estate ('{site}' as a zone name stayed the text '{site}', in every interface description).
KeyName = Annotated[str, Field(pattern=NAME_RE, max_length=MAX_NAME)]
# Whole numbers in a range, spelled out as aliases so type checkers can read them. Strict: YAML's
# `yes`, `1.5` or `"10"` are mistakes, not numbers.
Prefix = Annotated[int, Strict(), Field(ge=8, le=32)]
# A subnet that holds hosts needs at least two addresses besides network and broadcast.
HostPrefix = Annotated[int, Strict(), Field(ge=8, le=30)]
Count = Annotated[int, Strict(), Field(ge=1, le=999)]
Vlan = Annotated[int, Strict(), Field(ge=1, le=4094)]  # IEEE 802.1Q: 0 and 4095 are reserved
# Mbit/s, as FRR's interface `bandwidth (1-1000000)` takes it (1 Tbit/s at most).
Bandwidth = Annotated[int, Strict(), Field(ge=1, le=1_000_000)]
# OSPF interface costs, process ids and timers are 16 bits (RFC 2328 A.3.2; FRR's ranges).
NonZero16 = Annotated[int, Strict(), Field(ge=1, le=65535)]
DrLevel = Annotated[int, Strict(), Field(ge=1, le=6)]
RefBandwidth = Annotated[int, Strict(), Field(ge=1, le=4_294_967)]


def _circuit_text(v: str) -> str:
    # It lands in interface descriptions on every vendor: plain ASCII, since devices differ in how
    # they store other characters, and short, so the description the link already has plus this
    # stays within the shortest limit (IOS: 240 characters).
    if not v.isascii():
        raise ValueError("a link description must be plain ASCII: devices differ in how they store other characters")
    return v


CircuitText = Annotated[
    str, Field(min_length=1, max_length=80), AfterValidator(_printable), AfterValidator(_circuit_text)
]

# RFC 2328 area ids are 32-bit; people write them as a number or dotted (0.0.0.1).
MAX_AREA = 2**32 - 1


def _area(v):
    if v == "auto":
        return v
    if isinstance(v, str) and v.count(".") == 3:
        try:
            return int(IPv4Address(v))
        except ValueError:
            pass
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"{v!r} is not an OSPF area: write auto, a number 0-{MAX_AREA} or dotted (0.0.0.1)")
    if not 0 <= v <= MAX_AREA:
        raise ValueError(f"OSPF area {v} is outside 0-{MAX_AREA}")
    return v


AreaId = Annotated[int | Literal["auto"], PlainValidator(_area)]


def _loopback(v):
    if isinstance(v, bool):
        return v
    if isinstance(v, str):
        try:
            return IPv4Address(v)
        except ValueError:
            pass
    raise ValueError(f"{v!r} is not a loopback: write true, false or an address such as 10.34.0.1")


Loopback = Annotated[bool | IPv4Address, PlainValidator(_loopback)]

# Blocks that can never be an estate's own address space (RFC 6890): 0/8, loopback,
# link-local, multicast, reserved and broadcast. Routers refuse or silently drop them.
_UNUSABLE = [IPv4Network(n) for n in ("0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "240.0.0.0/4")]


def _usable(net: IPv4Network) -> IPv4Network:
    for bad in _UNUSABLE:
        if net.overlaps(bad):
            raise ValueError(f"{net} overlaps {bad}, which cannot be used for an estate's addresses (RFC 6890)")
    return net


# The private ranges (RFC 1918), and the shared space carriers use behind NAT (RFC 6598), which
# no one routes on the Internet either: the national estate's management network needs more /24s
# than 172.16/12 holds. An estate's own blocks are never public: that space is someone else's on
# the Internet, and a management network in it would route there, or leak.
_PRIVATE = [IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")]


def _private(net: IPv4Network) -> IPv4Network:
    if not any(net.subnet_of(p) for p in _PRIVATE):
        raise ValueError(
            f"{net} is public address space: an estate's supernet, management and link blocks lie inside "
            "10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 (RFC 1918), or 100.64.0.0/10 (RFC 6598) where those run out"
        )
    return net


Block = Annotated[IPv4Network, AfterValidator(_usable), AfterValidator(_private)]


def _route_prefix(v) -> IPv4Network:
    # pydantic's IPv4Network says only "not a valid IPv4 network" for 10.250.1.1/24; a prefix
    # with host bits set is the commonest slip, and the network meant is known, so say it.
    if not isinstance(v, str) or isinstance(v, bool):
        raise ValueError(f"{v!r} is not a prefix: write a network and its length, such as 10.250.1.0/24")
    try:
        loose = IPv4Network(v.strip(), strict=False)
    except ValueError:
        raise ValueError(
            f"{v!r} is not an IPv4 prefix: write a network and its length, such as 10.250.1.0/24"
        ) from None
    if "/" not in v:
        raise ValueError(f"{v!r} has no prefix length: write it with one, such as {loose.network_address}/24")
    if str(loose) != v.strip():
        raise ValueError(f"{v} has host bits set: the network of that length is {loose}")
    return loose


RoutePrefix = Annotated[IPv4Network, PlainValidator(_route_prefix)]
# An announced prefix is originated into OSPF: it must be space routers can use (RFC 6890).
AnnouncePrefix = Annotated[IPv4Network, PlainValidator(_route_prefix), AfterValidator(_usable)]


def _next_hop(v):
    # Vendors spell the discard interface Null0 (IOS, FRR) or NULL0 (VRP, Comware); any case is it.
    if isinstance(v, str) and v.strip().lower() == "null0":
        return "null0"
    if isinstance(v, str):
        try:
            return IPv4Address(v.strip())
        except ValueError:
            pass
    raise ValueError(f"{v!r} is not a next hop: write an IPv4 address such as 10.90.16.18, or null0 to discard")


NextHop = Annotated[IPv4Address | Literal["null0"], PlainValidator(_next_hop)]
# Administrative distance, as every platform takes it (FRR, IOS: 1-255; VRP/Comware preference 1-255).
Distance = Annotated[int, Strict(), Field(ge=1, le=255)]

# Matched whole (fullmatch): Python's $ also matches before a final newline, which a | block leaves.
_PORT_RE = re.compile(r"^(icmp|(tcp|udp)/\d{1,5}(-\d{1,5})?)$")


def _service(v: str) -> str:
    if not _PORT_RE.fullmatch(v):
        raise ValueError(f"{v!r} is not a valid service")
    _, _, ports = v.partition("/")
    if ports:
        first, _, last = ports.partition("-")
        lo, hi = int(first), int(last or first)
        for port in (lo, hi):
            if not 1 <= port <= 65535:
                raise ValueError(f"{v!r}: port {port} is outside 1-65535")
        if lo > hi:
            raise ValueError(f"{v!r}: the range runs backwards ({lo} > {hi})")
    return v


Service = Annotated[str, AfterValidator(_service)]

_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_DOMAIN_RE = re.compile(rf"^{_LABEL}(\.{_LABEL})+$")


def _domain(v: str) -> str:
    if len(v) > 253 or not _DOMAIN_RE.fullmatch(v):  # RFC 1035: 253 characters in all
        raise ValueError(
            f"{v!r} is not a DNS domain: lower-case labels of letters, digits and '-', "
            "joined by dots, such as hrss.ah.example"
        )
    return v


Domain = Annotated[str, AfterValidator(_domain)]


Protocols = Annotated[
    list[Literal["ssh", "snmp", "netconf", "https", "telnet", "http", "ftp"]],
    Field(min_length=1),
    AfterValidator(once_each),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ForEach(_Strict):
    """Repeat an entry once per site of this kind; '{each}' and '{each_parent}' name that site."""

    kind: SiteKind


class RawStaticRoute(_Strict):
    prefix: RoutePrefix
    via: NextHop
    distance: Distance | None = None


class RawDevice(_Strict):
    name: Name
    count: Count | None = None
    for_each: ForEach | None = None
    role: Role
    platform: Platform
    vendor: Line = ""
    model: Line = ""
    zone: Text | None = None
    ip: IPv4Interface | None = None
    mgmt_ip: IPv4Address | None = None
    loopback: Loopback = False
    snmp_profile: Text | None = None
    management: Protocols | None = None
    static_routes: list[RawStaticRoute] = []
    announce: list[AnnouncePrefix] = []


class RawZone(_Strict):
    name: KeyName
    kind: ZoneKind
    vlan: Vlan
    prefix: HostPrefix = 24
    block: IPv4Network | None = None
    firewall: Text | None = None


class RawSiteTemplate(_Strict):
    kind: SiteKind
    prefix: Prefix | None = None
    loopbacks: Prefix = 28
    zones: list[RawZone] = []
    devices: list[RawDevice] = []


class RawSite(_Strict):
    name: KeyName | None = None
    names: list[KeyName] | None = None
    template: Text | None = None
    kind: SiteKind | None = None
    title: Line = ""
    parent: Text | None = None
    block: IPv4Network | None = None
    prefix: Prefix | None = None
    loopbacks: Prefix | None = None
    ospf_area: AreaId | None = None
    zones: list[RawZone] | None = None
    devices: list[RawDevice] | None = None


class RawLink(_Strict):
    a: Text
    b: Text
    for_each: ForEach | None = None
    type: LinkType = "wan"
    carrier: Text | None = None
    medium: Text | None = None
    bandwidth: Bandwidth
    role: Literal["primary", "backup"] = "primary"
    cost: NonZero16 | None = None
    subnet: IPv4Network | None = None
    # A circuit id, say: appended to both ends' interface descriptions (see _circuit_text).
    description: CircuitText | None = None


class RawPolicy(_Strict):
    site: Text
    for_each: ForEach | None = None
    from_: Text = Field(alias="from")
    to: Text
    services: Annotated[list[Service], Field(min_length=1)]
    why: Line = ""


class RawDrPair(_Strict):
    # A group name in Ansible (dr_pair_<name>) and a name in drill reports: a name like any other.
    name: Name
    for_each: ForEach | None = None
    primary: Text
    standby: Text
    level: DrLevel = Field(description="GB/T 20988 disaster-recovery level")
    rto: Duration
    rpo: Duration
    replication: Literal["sync", "async"]


class RawManagement(_Strict):
    block: Block
    site_prefix: HostPrefix = 24
    protocols: Protocols = ["ssh", "snmp"]


class RawLinkPlan(_Strict):
    block: Block
    prefix: Literal[30, 31] = 30


# The block size of each kind of site when estate.site_prefix is not given at all.
DEFAULT_SITE_PREFIX: dict[SiteKind, int] = {"province": 19, "dr": 21, "city": 22, "county": 26}


class RawEstate(_Strict):
    name: KeyName
    title: Line = ""
    domain: Domain
    supernet: Block
    # Given, the map must name every kind of site the estate has that sets no prefix itself.
    site_prefix: dict[SiteKind, Prefix] = DEFAULT_SITE_PREFIX
    management: RawManagement
    links: RawLinkPlan
    snmp_profile: Text


class RawOspf(_Strict):
    # The ranges FRR's ospfd accepts: `router ospf (1-65535)`, `auto-cost reference-bandwidth
    # (1-4294967)`, `ip ospf hello-interval|dead-interval (1-65535)`. dead > hello is checked
    # with the estate's settings, where both lines are known.
    process: NonZero16 = 1
    reference_bandwidth: RefBandwidth = 100000
    hello: NonZero16 = 10
    dead: NonZero16 = 40


class RawRouting(_Strict):
    ospf: RawOspf = RawOspf()


# MLPS 2.0 level 3 asks for separated administrator roles (8.1.4.2 c): one who runs the system,
# one who sets security policy, one who reads the audit trail.
AdminRole = Literal["system", "security", "audit"]
UserName = Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_-]{0,31}$")]


class RawLogin(_Strict):
    # MLPS 2.0 level 3 (8.1.4.1 b): lock out after repeated failures, log out an idle session.
    max_failures: Annotated[int, Strict(), Field(ge=1, le=10)] = 5
    lockout_minutes: Annotated[int, Strict(), Field(ge=1, le=1440)] = 10
    idle_timeout_minutes: Annotated[int, Strict(), Field(ge=1, le=60)] = 10


class RawAdmin(_Strict):
    name: UserName
    role: AdminRole
    password: SecretRefStr


def _ascii_banner(v: str) -> str:
    # Vendor CLIs differ in what they accept beyond ASCII (VRP and Comware take the banner in the
    # console's code page); a banner that reaches one device garbled says nothing.
    if not v.isascii():
        raise ValueError("a login banner must be plain ASCII: devices differ in how they store other characters")
    # Each platform ends its banner at one of these (VRP's quotes, Comware's %, IOS's ^C
    # delimiter), and a line starting with # is a file header in the Linux rendering's bundle.
    bad = sorted({c for c in v if c in '"%^\\'})
    if bad or v.lstrip().startswith("#"):
        raise ValueError(
            "a login banner may not hold " + " ".join(repr(c) for c in bad or ["#"]) + ": devices end their banner "
            "at it (VRP's quotes, Comware's %, IOS's ^); reword the banner without it"
        )
    return v


class RawManagementPlane(_Strict):
    """What every device's management plane says: where it sends time and logs, who may log in."""

    ntp: Annotated[list[Text], Field(min_length=1)]
    syslog: Annotated[list[Text], Field(min_length=1)]
    banner: Annotated[
        str,
        Field(min_length=1, max_length=500),
        AfterValidator(_printable),
        AfterValidator(not_blank),
        AfterValidator(_ascii_banner),
    ]
    login: RawLogin = RawLogin()
    users: Annotated[list[RawAdmin], Field(min_length=1)]
    ospf_auth_key: SecretRefStr | None = None


class RawWave(_Strict):
    """One wave of `jinbao config apply`: every changed device matching any of its selectors."""

    name: KeyName
    kinds: Annotated[list[SiteKind], AfterValidator(once_each)] = []
    sites: Annotated[list[KeyName], AfterValidator(once_each)] = []
    roles: Annotated[list[Role], AfterValidator(once_each)] = []


class InventoryFile(_Strict):
    """One YAML file of an estate. Any section may be in any file; lists from files concatenate."""

    estate: RawEstate | None = None
    routing: RawRouting | None = None
    management_plane: RawManagementPlane | None = None
    snmp_profiles: dict[KeyName, RawSnmpProfile] | None = None
    monitoring: RawMonitoring | None = None
    site_templates: dict[KeyName, RawSiteTemplate] | None = None
    sites: list[RawSite] | None = None
    links: list[RawLink] | None = None
    policies: list[RawPolicy] | None = None
    dr_pairs: list[RawDrPair] | None = None
    # The order config apply changes devices in, first wave first (default: province, dr, city,
    # county, by site kind). A device no wave matches goes in a last wave, "other".
    change_waves: list[RawWave] | None = None
