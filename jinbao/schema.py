"""The YAML format of an estate, as written by people: compact, with templates and counts.

Every inventory file is validated against InventoryFile on its own, so a schema error points
at the file and line where it was written. resolve.py then expands the compact form into the
explicit model of model.py.
"""
from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from .model import LinkType, Platform, Role, SiteKind, ZoneKind

_SECRET_RE = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]*|file:\S+|vault:\S+#\S+)$")


def _secret_ref(v: str) -> str:
    if not _SECRET_RE.match(v):
        # Do not echo the value: it may be the secret someone pasted in.
        raise ValueError(
            "must be a secret reference (env:NAME, file:PATH or vault:FILE#KEY), never the secret itself"
        )
    return v


SecretRefStr = Annotated[str, AfterValidator(_secret_ref)]

_DUR_RE = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_DUR_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration(v):
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    m = _DUR_RE.match(str(v))
    if not m:
        raise ValueError("must be a duration such as 0s, 30s, 15m, 4h or 2d")
    return int(m.group(1)) * _DUR_UNITS[m.group(2)]


Duration = Annotated[int, BeforeValidator(_duration)]
Name = Annotated[str, Field(pattern=r"^[a-z0-9{][a-z0-9{}_-]*$", max_length=40)]
Prefix = Annotated[int, Field(ge=8, le=32)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ForEach(_Strict):
    """Repeat an entry once per site of this kind; '{each}' and '{each_parent}' name that site."""

    kind: SiteKind


class RawDevice(_Strict):
    name: Name
    count: int | None = Field(default=None, ge=1, le=999)
    for_each: ForEach | None = None
    role: Role
    platform: Platform
    vendor: str = ""
    model: str = ""
    zone: str | None = None
    ip: IPv4Interface | None = None
    mgmt_ip: IPv4Address | None = None
    loopback: bool | IPv4Address = False
    snmp_profile: str | None = None
    management: list[Literal["ssh", "snmp", "netconf", "https", "telnet", "http", "ftp"]] | None = None


class RawZone(_Strict):
    name: Name
    kind: ZoneKind
    vlan: int = Field(ge=1, le=4094)
    prefix: Prefix = 24
    block: IPv4Network | None = None
    firewall: str | None = None


class RawSiteTemplate(_Strict):
    kind: SiteKind
    prefix: Prefix | None = None
    loopbacks: Prefix = 28
    zones: list[RawZone] = []
    devices: list[RawDevice] = []


class RawSite(_Strict):
    name: Name | None = None
    names: list[Name] | None = None
    template: str | None = None
    kind: SiteKind | None = None
    title: str = ""
    parent: str | None = None
    block: IPv4Network | None = None
    prefix: Prefix | None = None
    loopbacks: Prefix | None = None
    ospf_area: int | Literal["auto"] | None = None
    zones: list[RawZone] | None = None
    devices: list[RawDevice] | None = None


class RawLink(_Strict):
    a: str
    b: str
    for_each: ForEach | None = None
    type: LinkType = "wan"
    carrier: str | None = None
    medium: str | None = None
    bandwidth: int = Field(gt=0, description="Mbit/s")
    role: Literal["primary", "backup"] = "primary"
    cost: int | None = Field(default=None, ge=1, le=65535)
    subnet: IPv4Network | None = None


class RawPolicy(_Strict):
    site: str
    for_each: ForEach | None = None
    from_: str = Field(alias="from")
    to: str
    services: list[Annotated[str, Field(pattern=r"^(icmp|(tcp|udp)/\d{1,5}(-\d{1,5})?)$")]]
    why: str = ""


class RawDrPair(_Strict):
    name: str
    for_each: ForEach | None = None
    primary: str
    standby: str
    level: int = Field(ge=1, le=6, description="GB/T 20988 disaster-recovery level")
    rto: Duration
    rpo: Duration
    replication: Literal["sync", "async"]


class RawSnmpProfile(_Strict):
    version: Literal[3]
    user: str
    auth_protocol: Literal["sha", "sha256", "sha512"] = "sha"
    priv_protocol: Literal["aes", "aes256"] = "aes"
    auth_key: SecretRefStr
    priv_key: SecretRefStr


class RawManagement(_Strict):
    block: IPv4Network
    site_prefix: Prefix = 24
    protocols: list[Literal["ssh", "snmp", "netconf", "https", "telnet", "http", "ftp"]] = ["ssh", "snmp"]


class RawLinkPlan(_Strict):
    block: IPv4Network
    prefix: Literal[30, 31] = 30


class RawEstate(_Strict):
    name: Name
    title: str = ""
    domain: Annotated[str, Field(pattern=r"^[a-z0-9.-]+$")]
    supernet: IPv4Network
    site_prefix: dict[SiteKind, Prefix] = {"province": 19, "dr": 21, "city": 22, "county": 26}
    management: RawManagement
    links: RawLinkPlan
    snmp_profile: str


class RawOspf(_Strict):
    process: int = Field(default=1, ge=1, le=65535)
    reference_bandwidth: int = Field(default=100000, ge=1)
    hello: int = Field(default=10, ge=1, le=65535)
    dead: int = Field(default=40, ge=1, le=65535)


class RawRouting(_Strict):
    ospf: RawOspf = RawOspf()


class InventoryFile(_Strict):
    """One YAML file of an estate. Any section may be in any file; lists from files concatenate."""

    estate: RawEstate | None = None
    routing: RawRouting | None = None
    snmp_profiles: dict[str, RawSnmpProfile] | None = None
    site_templates: dict[str, RawSiteTemplate] | None = None
    sites: list[RawSite] | None = None
    links: list[RawLink] | None = None
    policies: list[RawPolicy] | None = None
    dr_pairs: list[RawDrPair] | None = None
