"""Checks on what was written, before templates and for_each expand.

The estate-wide settings, each site's or template's zone list, and each device entry are
checked once, at their own line: a template's zone or device is one entry, however many sites
use it, and a default in `estate:` is one setting, however many devices inherit it.
"""

from __future__ import annotations

from ..loader import RawEstateFiles, Src
from ..model import ROUTING_ROLES
from ..names import did_you_mean
from ..problems import ProblemList

# Remote management must be encrypted (MLPS 2.0 level 3, 8.1.4.1 / 8.1.3.x).
CLEARTEXT_MANAGEMENT = {"telnet": "ssh", "http": "https", "ftp": "sftp (over ssh)"}


def check(raw: RawEstateFiles, p: ProblemList) -> None:
    _settings(raw, p)
    for owner, zones, src in _zone_lists(raw):
        _zones(owner, zones, src, p)
    for rd, src in device_entries(raw):
        _device(rd, src, raw, p)


def _cleartext(protocols) -> tuple[list[str], str]:
    bad = [m for m in protocols if m in CLEARTEXT_MANAGEMENT]
    return bad, "use " + ", ".join(CLEARTEXT_MANAGEMENT[b] for b in bad) + " instead (SSH-only management)"


def _settings(raw: RawEstateFiles, p: ProblemList) -> None:
    # read_estate() raises when no file defines the estate, so a loaded estate has one.
    assert raw.estate is not None
    est, src = raw.estate
    bad, fix = _cleartext(est.management.protocols)
    if bad:
        p.add(
            src.at("management", "protocols"),
            "estate.management.protocols",
            f"the estate's default management allows cleartext {', '.join(bad)}, for every device that does "
            "not name its own",
            fix,
            "design",
        )
    if est.snmp_profile not in raw.snmp_profiles:
        p.add(
            src.at("snmp_profile"),
            "estate.snmp_profile",
            f"the default SNMP profile {est.snmp_profile!r} is not defined",
            did_you_mean(
                est.snmp_profile,
                raw.snmp_profiles,
                f"define it under snmp_profiles: or use one of {sorted(raw.snmp_profiles)}",
            ),
            "reference",
        )
    if raw.routing is not None:
        ospf, rsrc = raw.routing[0].ospf, raw.routing[1]
        # RFC 2328: a neighbour is declared down after RouterDeadInterval without hellos; at or
        # below HelloInterval every adjacency flaps between two hellos.
        if ospf.dead <= ospf.hello:
            p.add(
                rsrc.at("ospf", "dead"),
                "routing.ospf.dead",
                f"the OSPF dead interval ({ospf.dead}s) must be longer than the hello interval ({ospf.hello}s)",
                f"use dead: {4 * ospf.hello} (four hellos, the OSPF default ratio)",
                "routing",
            )


def _zone_lists(raw: RawEstateFiles):
    for name, (t, src) in raw.site_templates.items():
        yield f"template {name}", t.zones, Src(src.pos, src.path + ("zones",))
    for rs, src in raw.sites:
        if rs.zones is not None:
            yield "/".join(rs.names or [rs.name or "?"]), rs.zones, Src(src.pos, src.path + ("zones",))


def _zones(owner: str, zones, src: Src, p: ProblemList) -> None:
    vlans: dict[int, str] = {}
    for j, z in enumerate(zones):
        zsrc = Src(src.pos, src.path + (j,))
        if z.vlan in vlans and vlans[z.vlan] != z.name:
            p.add(
                zsrc.at("vlan"),
                f"zones.{z.name}.vlan",
                f"VLAN {z.vlan} is used by more than one zone of {owner} (also {vlans[z.vlan]})",
                "give each zone of a site its own VLAN",
                "design",
            )
        vlans.setdefault(z.vlan, z.name)
        if z.kind == "core" and z.firewall is not None:
            p.add(
                zsrc.at("firewall"),
                f"zones.{z.name}.firewall",
                f"zone {owner}/{z.name} is a core zone, the transit every zone border opens onto; "
                f"it cannot be behind a firewall of its own",
                "remove firewall: from the core zone, and name the firewall on the zones it guards",
                "design",
            )
        if z.kind != "core" and z.firewall is None:
            p.add(
                zsrc.at("firewall"),
                f"zones.{z.name}.firewall",
                f"zone {owner}/{z.name} has no firewall at its border",
                "name the firewall that guards it (firewall: <device>); MLPS asks for a border at every zone",
                "design",
            )


def device_entries(raw: RawEstateFiles):
    """Every device entry as written (in a template or a site), with where it was written."""
    for _, (t, src) in raw.site_templates.items():
        for j, rd in enumerate(t.devices):
            yield rd, Src(src.pos, src.path + ("devices", j))
    for rs, src in raw.sites:
        for j, rd in enumerate(rs.devices or []):
            yield rd, Src(src.pos, src.path + ("devices", j))


def _device(rd, src: Src, raw: RawEstateFiles, p: ProblemList) -> None:
    if rd.management is not None:
        bad, fix = _cleartext(rd.management)
        if bad:
            p.add(
                src.at("management"),
                "management",
                f"{rd.name} allows cleartext management ({', '.join(bad)})",
                fix,
                "design",
            )
    if rd.snmp_profile is not None and rd.snmp_profile not in raw.snmp_profiles:
        p.add(
            src.at("snmp_profile"),
            "snmp_profile",
            f"{rd.name} uses SNMP profile {rd.snmp_profile!r}, which is not defined",
            did_you_mean(
                rd.snmp_profile,
                raw.snmp_profiles,
                f"define it under snmp_profiles: or use one of {sorted(raw.snmp_profiles)}",
            ),
            "reference",
        )
    if rd.role in ROUTING_ROLES and rd.loopback is False:
        p.add(
            src.at("loopback"),
            "loopback",
            f"{rd.name} is a {rd.role}, which routes, but has no loopback; OSPF takes its router id from it",
            "add loopback: true",
            "routing",
        )
    elif rd.role not in ROUTING_ROLES and rd.loopback is not False:
        # Only routing devices run OSPF: a server's loopback would be an address nothing
        # announces, taken from the pool the site's routers draw their router ids from.
        p.add(
            src.at("loopback"),
            "loopback",
            f"{rd.name} is a {rd.role}, which does not route, but has a loopback; only a router, core switch or "
            "firewall has one (its OSPF router id)",
            "remove loopback: from this device",
            "routing",
        )
