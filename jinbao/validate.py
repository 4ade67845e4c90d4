"""Checks on the resolved estate: references, the IP plan, and the design rules of ESTATE.md.

Every check appends to one ProblemList and carries on, so a single run reports everything.
Downstream code may rely on all of this holding once load_estate() returns.
"""
from __future__ import annotations

from collections import Counter

from .model import Estate
from .problems import ProblemList

# Remote management must be encrypted (MLPS 2.0 level 3, 8.1.4.1 / 8.1.3.x).
CLEARTEXT_MANAGEMENT = {"telnet": "ssh", "http": "https", "ftp": "sftp (over ssh)"}

# GB/T 20988-2007 Annex A: the RPO each disaster-recovery level can deliver at best (seconds).
# A target tighter than its level can deliver is a planning error an auditor would flag.
LEVEL_BEST_RPO = {1: 86400, 2: 86400, 3: 3600, 4: 3600, 5: 0, 6: 0}
LEVEL_MAX_RPO = {1: 7 * 86400, 2: 7 * 86400, 3: 86400, 4: 86400, 5: 1800, 6: 0}


def validate(e: Estate, p: ProblemList | None = None) -> ProblemList:
    p = p if p is not None else ProblemList()
    _references(e, p)
    _addresses(e, p)
    _subnets(e, p)
    _design_rules(e, p)
    return p


def _references(e: Estate, p: ProblemList) -> None:
    for d in e.devices.values():
        if d.snmp_profile not in e.snmp_profiles:
            p.add(d.origin, "snmp_profile", f"{d.name} uses SNMP profile {d.snmp_profile!r}, which is not defined",
                  f"define it under snmp_profiles: or use one of {sorted(e.snmp_profiles)}", "reference")
    for s in e.sites.values():
        for z in s.zones.values():
            if z.firewall is None:
                continue
            fw = e.devices.get(z.firewall)
            if fw is None:
                p.add(z.origin, f"zones.{z.name}.firewall", f"zone {s.name}/{z.name} names firewall {z.firewall!r}, "
                      "which is not a device", "name a firewall device of this site", "reference")
            elif fw.site != s.name or fw.role != "firewall":
                p.add(z.origin, f"zones.{z.name}.firewall", f"{z.firewall} guards {s.name}/{z.name} but is a "
                      f"{fw.role} at site {fw.site}", "name a device with role firewall at the same site", "reference")
    for pol in e.policies:
        site = e.sites.get(pol.site)
        if site is None:
            p.add(pol.origin, "site", f"policy names unknown site {pol.site!r}", "use a site of the estate", "reference")
            continue
        for fieldname, zone in (("from", pol.from_zone), ("to", pol.to_zone)):
            if zone not in site.zones:
                p.add(pol.origin, fieldname, f"policy names zone {zone!r}, which site {pol.site} does not have",
                      f"use one of {sorted(site.zones)}", "reference")
        if pol.from_zone == pol.to_zone:
            p.add(pol.origin, "to", "a zone policy must join two different zones",
                  "traffic inside a zone does not cross its firewall; remove the entry", "reference")
    for pair in e.dr_pairs:
        ok = True
        for fieldname, dev in (("primary", pair.primary), ("standby", pair.standby)):
            if dev not in e.devices:
                p.add(pair.origin, fieldname, f"DR pair {pair.name} names {dev!r}, which is not a device",
                      "name a device of the estate", "reference")
                ok = False
        if ok and e.devices[pair.primary].site == e.devices[pair.standby].site:
            p.add(pair.origin, "standby", f"DR pair {pair.name} keeps its standby at the primary's own site",
                  "put the standby at the DR site (GB/T 20988 asks for an off-site copy)", "design")
        if pair.rpo_s > LEVEL_MAX_RPO[pair.level]:
            p.add(pair.origin, "rpo", f"RPO {pair.rpo_s}s is looser than GB/T 20988 level {pair.level} allows "
                  f"({LEVEL_MAX_RPO[pair.level]}s)", "tighten the RPO or declare a lower level", "design")
        if pair.rpo_s < LEVEL_BEST_RPO[pair.level]:
            p.add(pair.origin, "rpo", f"RPO {pair.rpo_s}s is tighter than level {pair.level} can deliver "
                  f"({LEVEL_BEST_RPO[pair.level]}s)", "raise the level or relax the RPO", "design")
        if pair.rpo_s == 0 and pair.replication != "sync":
            p.add(pair.origin, "replication", f"DR pair {pair.name} promises RPO 0 with async replication",
                  "use replication: sync, or allow a non-zero RPO", "design")


def _addresses(e: Estate, p: ProblemList) -> None:
    seen: dict[int, str] = {}

    def claim(addr, what, origin, field):
        key = int(addr)
        if key in seen:
            p.add(origin, field, f"{addr} ({what}) is already used by {seen[key]}",
                  "give one of them another address, or drop the explicit one to allocate it", "ip_plan")
        else:
            seen[key] = what

    for d in e.devices.values():
        site = e.sites.get(d.site)
        claim(d.mgmt_ip, f"{d.name} management", d.origin, "mgmt_ip")
        if site and d.mgmt_ip not in site.mgmt_block:
            p.add(d.origin, "mgmt_ip", f"{d.name} management address {d.mgmt_ip} is outside {site.name}'s "
                  f"management subnet {site.mgmt_block}", f"use an address in {site.mgmt_block} or drop it", "ip_plan")
        if d.loopback is not None:
            claim(d.loopback, f"{d.name} loopback", d.origin, "loopback")
            if site and d.loopback not in site.loopback_pool:
                p.add(d.origin, "loopback", f"{d.name} loopback {d.loopback} is outside {site.name}'s loopback pool "
                      f"{site.loopback_pool}", "use an address of that pool, or loopback: true", "ip_plan")
        for i in d.interfaces:
            if i.ip is None:
                continue
            claim(i.ip.ip, f"{d.name} {i.name}", d.origin, f"interfaces.{i.name}")
            if i.zone and site and i.zone in site.zones and i.ip.network != site.zones[i.zone].block:
                p.add(d.origin, "ip", f"{d.name} address {i.ip} is not in zone {i.zone}'s block "
                      f"{site.zones[i.zone].block}", f"use an address of {site.zones[i.zone].block}", "ip_plan")
    for l in e.links:
        if l.a.ip.network != l.b.ip.network or l.a.ip.network.prefixlen not in (30, 31):
            p.add(l.origin, "subnet", f"link {l.id} ends {l.a.ip} and {l.b.ip} are not in one /30 or /31",
                  "give the link a /30 or /31 subnet", "ip_plan")
        if not l.subnet.subnet_of(e.link_block):
            p.add(l.origin, "subnet", f"link {l.id} subnet {l.subnet} is outside the link block {e.link_block}",
                  "take it from estate.links.block, or drop subnet: to allocate", "ip_plan")


def _subnets(e: Estate, p: ProblemList) -> None:
    """Siblings must not overlap and must sit inside their parent block."""

    def group(parent, parent_name, members):
        for net, label, origin, field in members:
            if parent is not None and not net.subnet_of(parent):
                p.add(origin, field, f"{label} {net} is outside {parent_name} {parent}",
                      f"choose a block inside {parent}, or drop it to allocate one", "ip_plan")
        ordered = sorted(members, key=lambda m: (int(m[0].network_address), -m[0].num_addresses))
        last = None
        for m in ordered:
            if last is not None and int(m[0].network_address) <= int(last[0].broadcast_address):
                p.add(m[2], m[3], f"{m[1]} {m[0]} overlaps {last[1]} {last[0]}",
                      "give one of them a block of its own, or drop it to allocate one", "ip_plan")
            if last is None or int(m[0].broadcast_address) > int(last[0].broadcast_address):
                last = m

    top = [(s.block, f"site {s.name}", s.origin, "block") for s in e.sites.values() if s.parent is None]
    top.append((e.link_block, "the link block", None, "estate.links.block"))
    if e.mgmt_block.overlaps(e.supernet):
        top.append((e.mgmt_block, "the management block", None, "estate.management.block"))
    group(e.supernet, "the supernet", top)
    children: dict[str, list] = {}
    for c in e.sites.values():
        if c.parent:
            children.setdefault(c.parent, []).append(c)
    for s in e.sites.values():
        inner = [(z.block, f"zone {s.name}/{z.name}", z.origin, f"zones.{z.name}.block") for z in s.zones.values()]
        inner.append((s.loopback_pool, f"{s.name} loopback pool", s.origin, "loopbacks"))
        inner += [(c.block, f"site {c.name}", c.origin, "block") for c in children.get(s.name, [])]
        group(s.block, f"site {s.name}'s block", inner)
    group(e.link_block, "the link block", [(l.subnet, f"link {l.id}", l.origin, "subnet") for l in e.links])
    group(e.mgmt_block, "the management block",
          [(s.mgmt_block, f"{s.name} management subnet", s.origin, "management") for s in e.sites.values()])


def _design_rules(e: Estate, p: ProblemList) -> None:
    upstream = _upstream_wan_links(e)
    for s in e.sites.values():
        vlans = Counter(z.vlan for z in s.zones.values())
        for z in s.zones.values():
            if vlans[z.vlan] > 1:
                p.add(z.origin, f"zones.{z.name}.vlan", f"VLAN {z.vlan} is used by more than one zone of {s.name}",
                      "give each zone of a site its own VLAN", "design")
            if z.kind != "core" and z.firewall is None:
                p.add(z.origin, f"zones.{z.name}.firewall", f"zone {s.name}/{z.name} has no firewall at its border",
                      "name the firewall that guards it (firewall: <device>); MLPS asks for a border at every zone",
                      "design")
        if s.kind == "city":
            wan = upstream.get(s.name, [])
            carriers = {l.carrier for l in wan if l.carrier}
            roles = {l.role for l in wan}
            if len(wan) < 2 or len(carriers) < 2 or roles != {"primary", "backup"}:
                p.add(s.origin, "links", f"city {s.name} has {len(wan)} WAN link(s) to the province on carrier(s) "
                      f"{sorted(carriers) or 'none'}; it needs a primary and a backup on different carriers",
                      "add a backup link on a second carrier in links:", "design")
    dr_members = {x for pair in e.dr_pairs for x in (pair.primary, pair.standby)}
    for d in e.devices.values():
        bad = [m for m in d.management if m in CLEARTEXT_MANAGEMENT]
        if bad:
            p.add(d.origin, "management", f"{d.name} allows cleartext management ({', '.join(bad)})",
                  "use " + ", ".join(CLEARTEXT_MANAGEMENT[b] for b in bad) + " instead (SSH-only management)", "design")
        zone = e.sites[d.site].zones.get(d.zone) if d.site in e.sites and d.zone else None
        if d.role == "db_server" and zone is not None and zone.kind == "production" and d.name not in dr_members:
            p.add(d.origin, "dr_pairs", f"production database {d.name} has no DR pair",
                  "add a dr_pairs: entry with it as primary and a standby at the DR site", "design")


def _upstream_wan_links(e: Estate) -> dict[str, list]:
    """WAN links per city that reach the province or the DR site (the city's uplinks)."""
    out: dict[str, list] = {}
    for link in e.links:
        if link.type != "wan":
            continue
        da, db = e.devices.get(link.a.device), e.devices.get(link.b.device)
        if da is None or db is None or da.site not in e.sites or db.site not in e.sites:
            continue
        for mine, other in ((da.site, db.site), (db.site, da.site)):
            if e.sites[mine].kind == "city" and e.sites[other].kind in ("province", "dr"):
                out.setdefault(mine, []).append(link)
    return out
