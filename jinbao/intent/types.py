"""What a device should be, platform-neutral: the intent every renderer and the lab read.

Frozen dataclasses computed from the estate alone (jinbao/intent/build.py). A template turns one
DeviceIntent into one platform's syntax and decides nothing the estate did not say. Secrets are
references (`env:…`), never values.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Literal

from ..model import Service


@dataclass(frozen=True)
class Peer:
    """The other end of a link, as the description names it."""

    device: str
    interface: str
    carrier: str | None
    medium: str | None
    bandwidth_mbps: int
    role: Literal["primary", "backup"]


@dataclass(frozen=True)
class OspfInterface:
    area: int
    cost: int
    point_to_point: bool
    passive: bool  # a guarded zone's hosts speak no OSPF: the firewall routes for them
    hello_s: int
    dead_s: int
    auth_key: str | None  # secret reference; None: no authentication
    bfd: bool  # BFD on WAN links: a silent failure is seen in under a second, not a dead interval


@dataclass(frozen=True)
class InterfaceIntent:
    name: str
    address: IPv4Interface | None
    description: str
    zone: str | None = None
    link: str | None = None
    bandwidth_mbps: int | None = None
    peer: Peer | None = None
    ospf: OspfInterface | None = None


@dataclass(frozen=True)
class OspfIntent:
    process: int
    router_id: IPv4Address
    reference_bandwidth_mbps: int
    networks: tuple[tuple[IPv4Network, int], ...]  # (prefix, area), loopback first
    passive: tuple[str, ...]  # interface names


@dataclass(frozen=True)
class AdminIntent:
    name: str
    role: Literal["system", "security", "audit"]
    password_ref: str


@dataclass(frozen=True)
class SnmpIntent:
    user: str
    auth_protocol: str
    priv_protocol: str
    auth_key_ref: str
    priv_key_ref: str


@dataclass(frozen=True)
class ManagementIntent:
    """The management plane of one device (MLPS 2.0 level 3)."""

    interface: str  # the out-of-band management port, by platform
    address: IPv4Interface
    gateway: IPv4Address
    allowed_from: IPv4Network  # only the management network may reach the management plane
    protocols: tuple[str, ...]  # ssh, snmp, … (the validator refused cleartext ones)
    snmp: SnmpIntent | None
    banner: str | None
    max_failures: int | None
    lockout_minutes: int | None
    idle_timeout_minutes: int | None
    users: tuple[AdminIntent, ...]
    ntp: tuple[IPv4Address, ...]
    syslog: tuple[IPv4Address, ...]

    @property
    def ssh(self) -> bool:
        return "ssh" in self.protocols


@dataclass(frozen=True)
class ZoneRule:
    """One permitted flow across a firewall: from one zone's interface to another's.

    from_zone/to_zone are the firewall's own zones the flow enters and leaves by; flow_from/flow_to
    are the policy's. They differ on a firewall that guards one zone from the transit zone (core):
    there the far zone is reached through the transit interface, and only the far zone's networks
    (sources/destinations) tell the policy's flow from any other traffic crossing core.
    """

    from_zone: str
    to_zone: str
    in_interface: str
    out_interface: str
    services: tuple[Service, ...]
    why: str
    flow_from: str
    flow_to: str
    sources: tuple[IPv4Network, ...] = ()  # empty: any source in from_zone
    destinations: tuple[IPv4Network, ...] = ()  # empty: any destination in to_zone

    @property
    def name(self) -> str:
        return f"{self.flow_from}-to-{self.flow_to}"


@dataclass(frozen=True)
class FirewallIntent:
    """A zone-border firewall: everything not in rules is dropped (default deny)."""

    rules: tuple[ZoneRule, ...]
    zones: tuple[tuple[str, str], ...]  # (zone, interface) it guards or routes into


@dataclass(frozen=True)
class StaticRouteIntent:
    prefix: IPv4Network
    via: IPv4Address | None  # None: discard (Null0)
    distance: int | None  # None: the platform's default (1)


@dataclass(frozen=True)
class DeviceIntent:
    name: str
    fqdn: str
    platform: str
    role: str
    site: str
    vendor: str
    model: str
    loopback: IPv4Address | None
    interfaces: tuple[InterfaceIntent, ...]
    ospf: OspfIntent | None
    management: ManagementIntent
    firewall: FirewallIntent | None
    static_routes: tuple[StaticRouteIntent, ...] = ()
    # Announced prefixes as loopback addresses: each prefix's first host with the prefix's length.
    # OSPF advertises a loopback address as a /32 host route (RFC 2328 9.1; FRR, IOS, VRP and
    # Comware alike), so what the far routers learn is that first host, not the whole prefix.
    announce: tuple[IPv4Interface, ...] = ()
