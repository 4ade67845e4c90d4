"""The estate, resolved: every device, address and link explicit. Frozen once built.

This is the one model of the estate that every domain reads. The loader (resolve.py) builds it
from the YAML, the validator (validate.py) checks it, and nothing downstream re-checks what
the validator guarantees: a DR pair names devices that exist, addresses don't collide, and
so on.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from .platforms import Platform
from .yamlsrc import Origin

SiteKind = Literal["province", "city", "county", "dr"]
ZoneKind = Literal["core", "production", "exchange", "decision", "public", "management", "lan", "service_hall"]
LinkType = Literal["wan", "lan", "dr", "uplink"]
Role = Literal[
    "wan_router",
    "access_router",
    "core_switch",
    "aggregation_switch",
    "access_switch",
    "firewall",
    "ids",
    "db_server",
    "app_server",
    "web_server",
    "exchange_server",
    "storage",
    "tape_library",
    "backup_server",
    "ca",
    "ocsp",
    "pbx",
    "ivr",
    "cti",
    "mcu",
    "ups",
    "env_sensor",
    "air_conditioner",
    "jump_host",
    "log_collector",
    "monitor",
    "server",
]
# Roles that route and so carry a loopback and take part in OSPF.
ROUTING_ROLES = frozenset({"wan_router", "access_router", "core_switch", "firewall"})


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)


class SecretRef(_Frozen):
    """A pointer to a secret (env:NAME, file:PATH or vault:PATH#KEY), never the secret itself."""

    ref: str

    def __str__(self) -> str:
        return self.ref


class SnmpProfile(_Frozen):
    """How to talk SNMP to a device. Version 3 has a user and keys (no privacy key at
    authNoPriv); v2c and v1 have a community. Anything weaker than v3 authPriv with SHA and AES
    carries `insecure_because`, the explicit opt-in the validator asks for."""

    name: str
    version: Literal[3, "v2c", "v1"]
    user: str = ""
    security_level: Literal["authPriv", "authNoPriv"] = "authPriv"
    auth_protocol: str = "sha"
    priv_protocol: str = "aes"
    auth_key: SecretRef | None = None
    priv_key: SecretRef | None = None
    community: SecretRef | None = None
    insecure_because: str = ""
    origin: Origin | None = Field(default=None, exclude=True)

    @model_serializer(mode="wrap")
    def _ser(self, handler: SerializerFunctionWrapHandler) -> dict:
        out = _without_unused(handler, self, ("community", "insecure_because", "auth_key", "priv_key", "user"))
        if out.get("security_level") == "authPriv":
            out.pop("security_level")
        return out

    @property
    def community_based(self) -> bool:
        return self.version in ("v2c", "v1")


class Thresholds(_Frozen):
    """Monitoring limits (docs/monitoring.md); None: not watched. A device class's defaults
    (monitoring/profiles/) are overridden by the inventory's `monitoring:` section."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    link_utilisation_pct: float | None = None
    cpu_pct: float | None = None
    memory_pct: float | None = None
    disk_pct: float | None = None
    ups_runtime_min: float | None = None
    ups_load_pct: float | None = None
    temperature_c: float | None = None
    humidity_pct: float | None = None

    def over(self, base: Thresholds) -> Thresholds:
        """base with every limit this one sets replaced by this one's."""
        return base.model_copy(update=self.model_dump(exclude_none=True))


class MonitoringSettings(_Frozen):
    """The inventory's thresholds: estate-wide, per site, per device; the most specific wins."""

    interval_s: int = 60  # `monitor run`'s polling interval
    thresholds: Thresholds = Thresholds()
    sites: dict[str, Thresholds] = {}
    devices: dict[str, Thresholds] = {}
    origin: Origin | None = Field(default=None, exclude=True)
    # Where each site's and device's entry was written ("sites.NAME", "devices.NAME").
    origins: dict[str, Origin] = Field(default={}, exclude=True)


class Zone(_Frozen):
    name: str
    site: str
    kind: ZoneKind
    vlan: int
    block: IPv4Network
    firewall: str | None = None
    origin: Origin | None = Field(default=None, exclude=True)


class Site(_Frozen):
    name: str
    kind: SiteKind
    title: str = ""
    parent: str | None = None
    block: IPv4Network
    loopback_pool: IPv4Network
    mgmt_block: IPv4Network
    ospf_area: int
    zones: dict[str, Zone]
    origin: Origin | None = Field(default=None, exclude=True)


class Interface(_Frozen):
    name: str
    ip: IPv4Interface | None = None
    zone: str | None = None
    link: str | None = None
    description: str = ""


class StaticRoute(_Frozen):
    """A static route: to prefix via a next hop on a connected subnet, or discarded (null0)."""

    prefix: IPv4Network
    via: IPv4Address | Literal["null0"]
    distance: int | None = None  # None: the platform's default for static routes (1)


def _without_unused(handler: SerializerFunctionWrapHandler, obj: BaseModel, fields: tuple[str, ...]) -> dict:
    # Fields added after the estates' JSON was settled are shown only when they are used, so an
    # estate that uses none of them reads as it always did (tests/golden/estate).
    out = handler(obj)
    for f in fields:
        if not out.get(f):
            out.pop(f, None)
    return out


class Device(_Frozen):
    name: str
    site: str
    role: Role
    platform: Platform
    vendor: str = ""
    model: str = ""
    zone: str | None = None
    fqdn: str
    mgmt_ip: IPv4Address
    loopback: IPv4Address | None = None
    interfaces: tuple[Interface, ...] = ()
    snmp_profile: str
    management: tuple[str, ...]
    static_routes: tuple[StaticRoute, ...] = ()
    # Prefixes the device originates into OSPF from a loopback address (their first host).
    announce: tuple[IPv4Network, ...] = ()
    origin: Origin | None = Field(default=None, exclude=True)

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict:
        return _without_unused(handler, self, ("static_routes", "announce"))

    def interface(self, name: str) -> Interface:
        for i in self.interfaces:
            if i.name == name:
                return i
        raise KeyError(f"{self.name} has no interface {name}")


class LinkEnd(_Frozen):
    device: str
    interface: str
    ip: IPv4Interface


class Link(_Frozen):
    id: str
    type: LinkType
    a: LinkEnd
    b: LinkEnd
    carrier: str | None = None
    medium: str | None = None
    bandwidth_mbps: int
    role: Literal["primary", "backup"]
    subnet: IPv4Network
    ospf_area: int
    cost: int
    description: str = ""  # appended to both ends' interface descriptions (a circuit id)
    origin: Origin | None = Field(default=None, exclude=True)

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict:
        return _without_unused(handler, self, ("description",))

    def ends(self) -> tuple[LinkEnd, LinkEnd]:
        return (self.a, self.b)


class Service(_Frozen):
    proto: Literal["tcp", "udp", "icmp"]
    ports: tuple[int, int] | None = None  # inclusive range; None for icmp

    def __str__(self) -> str:
        if self.ports is None:
            return self.proto
        lo, hi = self.ports
        return f"{self.proto}/{lo}" if lo == hi else f"{self.proto}/{lo}-{hi}"


class Policy(_Frozen):
    """One permitted flow between two zones of a site. Anything not listed is denied."""

    site: str
    from_zone: str
    to_zone: str
    services: tuple[Service, ...]
    why: str = ""
    origin: Origin | None = Field(default=None, exclude=True)


class DrPair(_Frozen):
    name: str
    primary: str
    standby: str
    level: int
    rto_s: int
    rpo_s: int
    replication: Literal["sync", "async"]
    origin: Origin | None = Field(default=None, exclude=True)


class ChangeWave(_Frozen):
    """A wave of config apply: the devices of these site kinds, sites or roles (any matches)."""

    name: str
    kinds: tuple[SiteKind, ...] = ()
    sites: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    origin: Origin | None = Field(default=None, exclude=True)

    def matches(self, site: str, kind: str, role: str) -> bool:
        return site in self.sites or kind in self.kinds or role in self.roles


class Ospf(_Frozen):
    process: int = 1
    reference_bandwidth_mbps: int = 100000
    hello_s: int = 10
    dead_s: int = 40


class AdminUser(_Frozen):
    """A local administrator account; its password is a reference, resolved on the way to a device."""

    name: str
    role: Literal["system", "security", "audit"]
    password: SecretRef


class LoginPolicy(_Frozen):
    max_failures: int
    lockout_minutes: int
    idle_timeout_minutes: int


class ManagementPlane(_Frozen):
    """The estate's management-plane intent (MLPS 2.0 level 3): every managed device follows it."""

    ntp: tuple[str, ...]  # devices in a management zone
    syslog: tuple[str, ...]
    banner: str
    login: LoginPolicy
    users: tuple[AdminUser, ...]
    ospf_auth_key: SecretRef | None = None
    origin: Origin | None = Field(default=None, exclude=True)


class Estate(_Frozen):
    name: str
    title: str = ""
    domain: str
    supernet: IPv4Network
    mgmt_block: IPv4Network
    link_block: IPv4Network
    sites: dict[str, Site]
    devices: dict[str, Device]
    links: tuple[Link, ...]
    policies: tuple[Policy, ...]
    dr_pairs: tuple[DrPair, ...]
    snmp_profiles: dict[str, SnmpProfile]
    ospf: Ospf
    management_plane: ManagementPlane | None = None
    change_waves: tuple[ChangeWave, ...] = ()
    monitoring: MonitoringSettings | None = None
    source: str = Field(default="", exclude=True)

    @model_serializer(mode="wrap")
    def _ser(self, handler: SerializerFunctionWrapHandler) -> dict:
        return _without_unused(handler, self, ("monitoring",))

    def site_of(self, device: str) -> Site:
        return self.sites[self.devices[device].site]

    def zone(self, site: str, zone: str) -> Zone:
        return self.sites[site].zones[zone]

    def links_of(self, device: str) -> list[Link]:
        return [l for l in self.links if device in (l.a.device, l.b.device)]

    def select(self, site: str | None = None, role: str | None = None) -> list[Device]:
        """Devices filtered by site and role; either filter may be omitted."""
        return [
            d for d in self.devices.values() if (site is None or d.site == site) and (role is None or d.role == role)
        ]
