"""What the VRP, Comware and IOS drivers share: getters from TextFSM records, and a config lifecycle
whose candidate stays in jinbao until commit.

Why the candidate is held here and not staged on the device at load time: Comware and IOS have
no candidate store a CLI session can fill and then drop (VRP's two-stage mode has one, but it
lives as long as the session). So `load_*` checks the candidate with netconfig's own parsers
(hier_config and the platform's syntax rules, `netconfig.checks`), `compare_config` is
hier_config's remediation from the live running config, `discard_config` sends nothing, and only
`commit_config` touches the device, through the platform's own safety net (the hooks below).

A platform class sets its commands and implements four hooks: `_push` (send the remediation
with the platform's revert timer), `_pending`, `_confirm` and `_rollback`. Each vendor quirk is
explained in the docstring of the hook that handles it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import ClassVar

from jinbao.target import Target
from netconfig.checks import check
from netconfig.checks.diff import remediation, unified
from netconfig.parsers import ParseError, parse

from .base import CandidateInvalid, CommitFailed, Configs, DriverError, Facts, Interface, OspfNeighbor, Routes
from .base import destination as checked
from .cli import NetmikoTransport, Transport

TransportFactory = Callable[[Target], Transport]

_UNITS = {"year": 365 * 86400, "week": 7 * 86400, "day": 86400, "hour": 3600, "minute": 60, "second": 1}
_OSPF_STATES = {s.lower(): s for s in ("Down", "Attempt", "Init", "2-Way", "ExStart", "Exchange", "Loading", "Full")}
_OSPF_STATES["2way"] = "2-Way"
_ROLES = {"dr": "DR", "bdr": "BDR", "drother": "DROther", "-": "-", "none": "-", "": "-"}


def uptime_seconds(text: str) -> float:
    """'1 year, 12 weeks, 3 days, 4 hours, 18 minutes' → seconds."""
    return float(sum(int(n) * _UNITS[u] for n, u in re.findall(r"(\d+)\s*(year|week|day|hour|minute|second)", text)))


def ospf_state(state: str, role: str = "") -> str:
    """One spelling for every platform: 'FULL/DROTHER' and ('Full', 'DROther') → 'Full/DROther'."""
    if "/" in state:
        state, role = state.split("/", 1)
    name = _OSPF_STATES.get(state.lower().replace("-", ""), _OSPF_STATES.get(state.lower(), state))
    return f"{name}/{_ROLES.get(role.lower(), role)}"


def config_interfaces(config: str) -> dict[str, tuple[str, list[str]]]:
    """{interface: (description, ["address/prefixlen", ...])} from an IOS/VRP/Comware config."""
    out: dict[str, tuple[str, list[str]]] = {}
    name = None
    for line in config.splitlines():
        if m := re.match(r"interface (\S+)$", line):
            name = m[1]
            out[name] = ("", [])
        elif name and line.startswith(" "):
            addrs = out[name][1]
            if m := re.match(r"\s+description (.+)$", line):
                out[name] = (m[1].strip(), addrs)
            elif m := re.match(r"\s+ip address (\d+\.\d+\.\d+\.\d+) (\d+\.\d+\.\d+\.\d+)", line):
                plen = sum(bin(int(o)).count("1") for o in m[2].split("."))
                addrs.append(f"{m[1]}/{plen}")
        else:
            name = None
    return out


class VendorDriver:
    """Getters and lifecycle over a prompt-driven CLI; subclasses supply commands and hooks."""

    platform: ClassVar[str]
    SHOW_VERSION: ClassVar[str]
    SHOW_INTERFACES: ClassVar[str]
    SHOW_RUNNING: ClassVar[str]
    SHOW_STARTUP: ClassVar[str]
    SHOW_OSPF: ClassVar[str]
    SHOW_ROUTE: ClassVar[str]  # with {destination}
    HOSTNAME: ClassVar[str]  # the config line naming the device
    PROMPT: ClassVar[str]  # a regex for the CLI prompt in every view (what a recorded session shows)
    VENDOR: ClassVar[str]
    # A line of device output that means the command was refused (VRP/Comware `Error: …`,
    # IOS `% Invalid input …`).
    ERROR: ClassVar[re.Pattern[str]]

    def __init__(self, target: Target, transport: TransportFactory | None = None, timeout: float = 30.0):
        self.target = target
        self.name = target.name
        self._make = transport or (lambda t: NetmikoTransport(t, timeout))
        self._t: Transport | None = None
        self._candidate: str | None = None
        self._mode = "replace"

    # -- session ------------------------------------------------------------------------------------
    def open(self) -> None:
        self._t = self._make(self.target)

    def close(self) -> None:
        if self._t is not None:
            self._t.close()
            self._t = None

    def _send(self, command: str, expect: str | None = None, timeout: float = 30.0) -> str:
        if self._t is None:
            raise DriverError(f"{self.name}: not open")
        return self._t.send(command, expect=expect, timeout=timeout)

    def _refused(self, output: str) -> str | None:
        """The device's own error message in output, if it refused the command."""
        lines = output.splitlines()
        for i, line in enumerate(lines):
            if self.ERROR.search(line):
                # IOS points at the fault with a caret on the line before its message.
                return "\n".join(x.rstrip() for x in lines[max(0, i - 1) : i + 2] if x.strip())
        return None

    def _apply(self, command: str, expect: str | None = None, timeout: float = 60.0) -> str:
        """Send a command that must be accepted; CommitFailed with the device's words otherwise."""
        out = self._send(command, expect, timeout)
        if why := self._refused(out):
            raise CommitFailed(f"{self.name}: the device refused {command!r}: {why}")
        return out

    def _records(self, command: str) -> list[dict[str, object]]:
        text = self._send(command)
        try:
            return parse(self.platform, command, text)
        except ParseError as e:
            raise DriverError(f"{self.name}: {e}") from e

    # -- getters ------------------------------------------------------------------------------------
    def _running(self) -> str:
        return self._send(self.SHOW_RUNNING, timeout=120)

    def interface_name(self, name: str) -> str:
        """Hook: the full name of an interface as the config spells it (Comware abbreviates)."""
        return name

    def _version(self, record: dict[str, object]) -> tuple[str, str, str, str]:
        """Hook: (model, os_version, serial, uptime text) from the version record."""
        raise NotImplementedError

    def get_facts(self) -> Facts:
        [version] = self._records(self.SHOW_VERSION) or [{}]
        model, os_version, serial, uptime = self._version(version)
        running = self._running()
        host = re.search(rf"^{self.HOSTNAME} (\S+)", running, re.M)
        return Facts(
            hostname=host[1] if host else "",
            fqdn=host[1] if host else "",
            vendor=self.VENDOR,
            model=model,
            os_version=os_version,
            serial_number=serial,
            uptime=uptime_seconds(uptime),
            interface_list=sorted(self.get_interfaces()),
        )

    def _link(self, record: dict[str, object]) -> tuple[bool, bool]:
        """Hook: (is_up, is_enabled) from an interface-brief record."""
        raise NotImplementedError

    def get_interfaces(self) -> dict[str, Interface]:
        from_config = config_interfaces(self._running())
        out = {}
        for r in self._records(self.SHOW_INTERFACES):
            name = self.interface_name(str(r["interface"]))
            up, enabled = self._link(r)
            desc, addrs = from_config.get(name, ("", []))
            out[name] = Interface(
                is_up=up,
                is_enabled=enabled,
                description=desc or str(r.get("description", "")),
                last_flapped=-1.0,
                speed=0.0,  # the brief tables do not say; `display interface` would, at a command per port
                mtu=0,
                mac_address="",
                ipv4=addrs,
            )
        return out

    def get_config(self, retrieve: str = "all") -> Configs:
        want = {"running", "startup", "candidate"} if retrieve == "all" else {retrieve}
        return Configs(
            running=self._running() if "running" in want else "",
            startup=self._send(self.SHOW_STARTUP, timeout=120) if "startup" in want else "",
            # The contract's candidate is a device-side one; ours lives in jinbao until commit.
            candidate="",
        )

    def get_ospf_neighbors(self) -> list[OspfNeighbor]:
        return [
            OspfNeighbor(
                router_id=str(r["neighbor_id"]),
                address=str(r.get("address") or r.get("ip_address") or ""),
                interface=self.interface_name(str(r["interface"])),
                state=ospf_state(str(r["state"]), str(r.get("role", ""))),
            )
            for r in self._records(self.SHOW_OSPF)
        ]

    def _route_protocol(self, record: dict[str, object]) -> str:
        return str(record["protocol"]).split()[0].lower()

    def get_route_to(self, destination: str) -> Routes:
        routes: Routes = {}
        for r in self._records(self.SHOW_ROUTE.format(destination=checked(destination).split("/")[0])):
            routes.setdefault(f"{r['network']}/{r['prefix_length']}", []).append(
                {
                    "protocol": self._route_protocol(r),
                    # A single-address lookup shows the routes in use; IOS stars the active one.
                    "current_active": str(r.get("active", "*")) == "*",
                    "next_hop": str(r.get("nexthop_ip") or ""),
                    "outgoing_interface": self.interface_name(str(r.get("nexthop_if") or "")),
                    "preference": int(str(r.get("distance") or 0)),
                    "age": -1,
                    "routing_table": str(r.get("vrf") or "default"),
                }
            )
        return routes

    # -- config lifecycle ---------------------------------------------------------------------------
    def _load(self, config: str | None, filename: str | None, mode: str) -> None:
        if config is None:
            if filename is None:
                raise DriverError(f"{self.name}: give config= or filename=")
            with open(filename) as f:
                config = f.read()
        if mode == "replace":
            problems = check(self.platform, config) or []
            if problems:
                listed = "\n".join(f"  {p}" for p in problems[:20])
                raise CandidateInvalid(f"{self.name}: the candidate fails {self.platform}'s checks:\n{listed}")
        self._candidate, self._mode = config, mode

    def load_replace_candidate(self, filename: str | None = None, config: str | None = None) -> None:
        self._load(config, filename, "replace")

    def load_merge_candidate(self, filename: str | None = None, config: str | None = None) -> None:
        self._load(config, filename, "merge")

    def _changes(self) -> list[str]:
        """The lines commit would send: hier_config's remediation for a replace, as given for a merge."""
        assert self._candidate is not None
        if self._mode == "merge":
            return [line.rstrip() for line in self._candidate.splitlines() if line.strip()]
        # Sent unindented: the device's prompt carries the section, and hier_config closes each
        # section with its own `quit` / `exit` line.
        text = remediation(self.platform, self._running(), self._candidate)
        return [line.strip() for line in text.splitlines() if line.strip()]

    def compare_config(self) -> str:
        if self._candidate is None:
            return ""
        if self._mode == "merge":
            return "".join(f"+ {line}\n" for line in self._changes())
        diff = unified(self.platform, self._running(), self._candidate)
        return diff + "\n" if diff else ""

    def discard_config(self) -> None:
        # Nothing was sent at load time, so there is nothing on the device to drop.
        self._candidate = None

    def commit_config(self, message: str = "", revert_in: int | None = None) -> None:
        if self._candidate is None:
            raise CommitFailed(f"{self.name}: no candidate loaded")
        if revert_in is not None and revert_in < 1:
            raise CommitFailed(f"{self.name}: revert_in must be at least 1 second")
        if self.has_pending_commit():
            raise CommitFailed(f"{self.name}: a commit awaits confirmation: confirm or roll it back first")
        lines = self._changes()
        if lines:
            self._push(lines, revert_in, message)
        self._candidate = None

    def confirm_commit(self) -> None:
        if not self.has_pending_commit():
            raise CommitFailed(f"{self.name}: no commit awaits confirmation")
        self._confirm()

    def has_pending_commit(self) -> bool:
        return self._pending()

    def rollback(self) -> None:
        self._rollback()

    # -- the platform's hooks -----------------------------------------------------------------------
    def _push(self, lines: list[str], revert_in: int | None, message: str) -> None:
        raise NotImplementedError

    def _pending(self) -> bool:
        raise NotImplementedError

    def _confirm(self) -> None:
        raise NotImplementedError

    def _rollback(self) -> None:
        raise NotImplementedError


def minutes(seconds: int, low: int = 1, high: int = 120) -> int:
    """A revert timer in whole minutes, rounded up (never revert sooner than asked), within [low, high]."""
    m = max(low, math.ceil(seconds / 60))
    if m > high:
        raise CommitFailed(f"revert_in {seconds}s is over the platform's {high}-minute limit")
    return m
