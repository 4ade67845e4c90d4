"""Expand the compact YAML (templates, counts, for_each) into the explicit estate model.

Order matters and is fixed so the same YAML always yields the same addresses:
sites → OSPF areas → site blocks → zones and loopback pools → devices → links → the rest.
Problems that stop an item from being built (an unknown template, a link to a device that does
not exist) are reported here; checks that need the finished estate live in validate.py.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from .ipalloc import Hosts, Pool
from .loader import RawEstateFiles
from .model import (
    DrPair, Device, Estate, Interface, Link, LinkEnd, Ospf, Policy, SecretRef, Service, Site,
    SnmpProfile, Zone,
)
from .problems import ProblemList
from .yamlsrc import Origin

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")

# Interface naming per platform: (pattern, first index). Linux-family nodes keep mgmt0 apart.
_IFNAME = {
    "frr": ("eth{}", 1), "linux": ("eth{}", 1), "nftables": ("eth{}", 1),
    "cisco_ios": ("GigabitEthernet0/{}", 1), "huawei_vrp": ("GigabitEthernet0/0/{}", 1),
    "h3c_comware": ("GigabitEthernet1/0/{}", 1),
}
_DEFAULT_COST = {"primary": 10, "backup": 100}


def _suggest(name: str, options) -> str:
    close = difflib.get_close_matches(name, list(options), n=1)
    return f"did you mean {close[0]!r}?" if close else "check the name against the inventory"


@dataclass
class _SiteDraft:
    name: str
    kind: str
    title: str
    parent: str | None
    block: IPv4Network | None
    prefix: int
    loopbacks: int
    area: int | str
    zones: list
    devices: list
    origin: Origin
    zone_blocks: dict = field(default_factory=dict)
    loop_pool: IPv4Network | None = None
    mgmt_block: IPv4Network | None = None


@dataclass
class _DevDraft:
    name: str
    site: str
    raw: object
    zone: str | None
    origin: Origin
    interfaces: list = field(default_factory=list)
    loopback: IPv4Address | None = None
    mgmt_ip: IPv4Address | None = None


class _Resolver:
    def __init__(self, raw: RawEstateFiles):
        self.raw = raw
        self.p = ProblemList()
        self.est, self.est_src = raw.estate
        self.zone_firewalls: dict[tuple[str, str], str] = {}

    # -- helpers -----------------------------------------------------------------------------
    def subst(self, text, vars_, origin, fieldname):
        if text is None or "{" not in text:
            return text

        def rep(m):
            if m.group(1) not in vars_:
                raise KeyError(m.group(1))
            return str(vars_[m.group(1)])

        try:
            return _PLACEHOLDER.sub(rep, text)
        except KeyError as k:
            self.p.add(origin, fieldname, f"unknown placeholder {{{k.args[0]}}} in {text!r}",
                       f"use one of {', '.join('{%s}' % v for v in sorted(vars_))}")
            return None

    def for_each(self, fe, vars_):
        """Yield variable sets: once plainly, or once per site of the kind for_each names."""
        if fe is None:
            yield vars_
            return
        for s in self.sites.values():
            if s.kind == fe.kind:
                yield {**vars_, "each": s.name, "each_parent": s.parent or "", "each_title": s.title}

    # -- sites -------------------------------------------------------------------------------
    def build_sites(self):
        self.sites: dict[str, _SiteDraft] = {}
        templates = self.raw.site_templates
        for rs, src in self.raw.sites:
            tmpl = None
            if rs.template is not None:
                if rs.template not in templates:
                    self.p.add(src.at("template"), "template", f"no site template named {rs.template!r}",
                               _suggest(rs.template, templates), "reference")
                    continue
                tmpl = templates[rs.template][0]
            if rs.name and rs.names:
                self.p.add(src.at("names"), "names", "a site entry gives both name and names",
                           "use name: for one site or names: for several from one template")
                continue
            names = rs.names if rs.names else ([rs.name] if rs.name else [])
            if not names:
                self.p.add(src.at(), "name", "a site entry has no name", "add name: (or names: with a template)")
                continue
            kind = rs.kind or (tmpl.kind if tmpl else None)
            if kind is None:
                self.p.add(src.at(), "kind", f"site {names[0]!r} has no kind",
                           "add kind: province, city, county or dr, or use a template")
                continue
            if rs.block is not None and len(names) > 1:
                self.p.add(src.at("block"), "block", "one block cannot serve several sites",
                           "drop block: to allocate each site's block from the plan")
            prefix = rs.prefix or (tmpl.prefix if tmpl else None) or self.est.site_prefix.get(kind, 24)
            loopbacks = rs.loopbacks or (tmpl.loopbacks if tmpl else 28)
            for i, nm in enumerate(names):
                origin = src.at("names", i) if rs.names else src.at("name")
                if nm in self.sites:
                    self.p.add(origin, "name", f"site {nm!r} is already defined at {self.sites[nm].origin}",
                               "give every site a unique name")
                    continue
                if rs.zones is not None:
                    zones = [(z, src.at("zones", j)) for j, z in enumerate(rs.zones)]
                else:
                    zones = [(z, origin) for z in (tmpl.zones if tmpl else [])]
                devices = [(d, origin) for d in (tmpl.devices if tmpl else [])]
                devices += [(d, src.at("devices", j)) for j, d in enumerate(rs.devices or [])]
                self.sites[nm] = _SiteDraft(
                    name=nm, kind=kind, title=rs.title if len(names) == 1 else "", parent=rs.parent,
                    block=rs.block if len(names) == 1 else None, prefix=prefix, loopbacks=loopbacks,
                    area=rs.ospf_area if rs.ospf_area is not None else "auto", zones=zones,
                    devices=devices, origin=origin)
        for s in self.sites.values():
            if s.kind == "county" and not s.parent:
                self.p.add(s.origin, "parent", f"county {s.name!r} has no parent city",
                           "add parent: <city site name>", "reference")
            if s.parent and s.parent not in self.sites:
                self.p.add(s.origin, "parent", f"site {s.name!r} names unknown parent {s.parent!r}",
                           _suggest(s.parent, self.sites), "reference")
                s.parent = None
        city_no = 0
        for s in self.sites.values():
            if s.area == "auto":
                if s.kind in ("province", "dr"):
                    s.area = 0
                elif s.kind == "city":
                    city_no += 1
                    s.area = city_no
        for s in self.sites.values():
            if s.area == "auto":
                s.area = self.sites[s.parent].area if s.parent and self.sites[s.parent].area != "auto" else 0

    # -- addresses of sites and zones ----------------------------------------------------------
    def carve_sites(self):
        est = self.est
        top = Pool(est.supernet)
        if est.links.block.subnet_of(est.supernet):
            top.reserve(est.links.block)
        children: dict[str | None, list[_SiteDraft]] = {}
        for s in self.sites.values():
            children.setdefault(s.parent, []).append(s)

        def carve(pool: Pool, sites: list[_SiteDraft]):
            for s in sites:
                if s.block is not None:
                    pool.reserve(s.block)
            for s in sites:
                if s.block is None:
                    s.block = pool.allocate(s.prefix)
                    if s.block is None:
                        self.p.add(s.origin, "block", f"no free /{s.prefix} left in {pool.network} for site {s.name}",
                                   "enlarge the parent block or the supernet, or lower the site's prefix", "ip_plan")

        carve(top, children.get(None, []))
        order = list(children.get(None, []))
        for s in order:
            if s.block is None:
                continue
            inner = Pool(s.block)
            kids = children.get(s.name, [])
            for z, _ in s.zones:
                if z.block is not None:
                    inner.reserve(z.block)
            for k in kids:
                if k.block is not None:
                    inner.reserve(k.block)
            s.loop_pool = inner.allocate(s.loopbacks)
            if s.loop_pool is None:
                self.p.add(s.origin, "loopbacks", f"no room for a /{s.loopbacks} loopback pool in {s.block}",
                           "enlarge the site block or shrink the loopback pool", "ip_plan")
            for z, zo in s.zones:
                blk = z.block or inner.allocate(z.prefix)
                if blk is None:
                    self.p.add(zo, f"zones.{z.name}", f"no free /{z.prefix} left in {s.block}",
                               "enlarge the site block or shrink the zone prefix", "ip_plan")
                s.zone_blocks[z.name] = blk
            carve(inner, kids)
            order.extend(kids)
        mpool = Pool(est.management.block)
        for s in self.sites.values():
            s.mgmt_block = mpool.allocate(est.management.site_prefix)
            if s.mgmt_block is None:
                self.p.add(self.est_src.at("management", "block"), "management.block",
                           f"no free /{est.management.site_prefix} left for site {s.name}'s management subnet",
                           "enlarge the management block", "ip_plan")

    # -- devices -----------------------------------------------------------------------------
    def build_devices(self):
        self.devices: dict[str, _DevDraft] = {}
        for s in self.sites.values():
            base = {"site": s.name, "parent": s.parent or "", "title": s.title}
            for rd, origin in s.devices:
                for vars_ in self.for_each(rd.for_each, base):
                    counts = range(1, rd.count + 1) if rd.count else [None]
                    if rd.count and rd.count > 1 and "{n}" not in rd.name:
                        self.p.add(origin, "count", f"device {rd.name!r} has count {rd.count} but no {{n}} in its name",
                                   "put {n} in the name so each copy gets its own")
                        break
                    for n in counts:
                        v = {**vars_, "n": n} if n is not None else vars_
                        name = self.subst(rd.name, v, origin, "name")
                        zone = self.subst(rd.zone, v, origin, "zone")
                        if name is None:
                            break
                        if name in self.devices:
                            self.p.add(origin, "name", f"device {name!r} is already defined at {self.devices[name].origin}",
                                       "give every device a unique name")
                            continue
                        if zone is not None and zone not in s.zone_blocks:
                            self.p.add(origin, "zone", f"device {name!r} is in zone {zone!r}, which site {s.name} does not have",
                                       _suggest(zone, s.zone_blocks), "reference")
                            zone = None
                        self.devices[name] = _DevDraft(name, s.name, rd, zone, origin)

    def address_devices(self):
        by_site: dict[str, list[_DevDraft]] = {}
        for d in self.devices.values():
            by_site.setdefault(d.site, []).append(d)
        for s in self.sites.values():
            devs = by_site.get(s.name, [])
            mgmt = Hosts(s.mgmt_block, skip_first=1) if s.mgmt_block else None
            loops = Hosts(s.loop_pool) if s.loop_pool else None
            zone_hosts = {z: Hosts(b) for z, b in s.zone_blocks.items() if b is not None}
            for d in devs:  # explicit addresses first, so automatic ones step around them
                if d.raw.mgmt_ip and mgmt:
                    mgmt.take(d.raw.mgmt_ip)
                if isinstance(d.raw.loopback, IPv4Address) and loops:
                    loops.take(d.raw.loopback)
                if d.raw.ip and d.zone in zone_hosts:
                    zone_hosts[d.zone].take(d.raw.ip.ip)
            gateways = {}
            for z, zo in s.zones:
                if z.firewall is None or z.name not in zone_hosts:
                    continue
                fw = self.subst(z.firewall, {"site": s.name, "parent": s.parent or ""}, zo, f"zones.{z.name}.firewall")
                gateways[z.name] = fw
            for zname, fw in gateways.items():
                self.zone_firewalls[(s.name, zname)] = fw
            for d in devs:
                d.mgmt_ip = d.raw.mgmt_ip or (mgmt.next() if mgmt else None)
                if d.mgmt_ip is None and mgmt:
                    self.p.add(d.origin, "mgmt_ip", f"management subnet {s.mgmt_block} of {s.name} is full",
                               "raise management.site_prefix size (a smaller prefix number)", "ip_plan")
                if isinstance(d.raw.loopback, IPv4Address):
                    d.loopback = d.raw.loopback
                elif d.raw.loopback and loops:
                    d.loopback = loops.next()
                    if d.loopback is None:
                        self.p.add(d.origin, "loopback", f"loopback pool {s.loop_pool} of {s.name} is full",
                                   "enlarge the site's loopbacks pool", "ip_plan")
            # The border firewall takes the first host of each zone it guards: the zone gateway.
            guarded: dict[str, list[tuple[str, IPv4Interface | None]]] = {}
            for zname, fw in gateways.items():
                fwd = self.devices.get(fw)
                if fwd is None or fwd.site != s.name:
                    continue  # reported by the validator, with the zone's source line
                ip = zone_hosts[zname].next()
                guarded.setdefault(fw, []).append(
                    (zname, IPv4Interface(f"{ip}/{zone_hosts[zname].net.prefixlen}") if ip else None))
            # Interfaces in order: the device's own zone, then the zones it guards (links come later).
            for d in devs:
                if d.zone is not None and d.zone in zone_hosts and gateways.get(d.zone) != d.name:
                    h = zone_hosts[d.zone]
                    ip = d.raw.ip
                    if ip is None:
                        a = h.next()
                        if a is None:
                            self.p.add(d.origin, "zone", f"zone {d.zone} ({h.net}) of {s.name} has no free address "
                                       f"for {d.name}", "enlarge the zone prefix", "ip_plan")
                        ip = IPv4Interface(f"{a}/{h.net.prefixlen}") if a else None
                    if ip is not None:
                        self._add_if(d, ip, zone=d.zone, description=f"zone {d.zone}")
                for zname, ip in guarded.get(d.name, []):
                    self._add_if(d, ip, zone=zname, description=f"gateway of zone {zname}")

    def _add_if(self, d: _DevDraft, ip, zone=None, link=None, description="", name=None):
        pattern, start = _IFNAME[d.raw.platform]
        iface = Interface(name=name or pattern.format(start + len(d.interfaces)), ip=ip, zone=zone, link=link,
                          description=description)
        d.interfaces.append(iface)
        return iface

    # -- links -------------------------------------------------------------------------------
    def build_links(self):
        plan = self.est.links
        pool = Pool(plan.block)
        pending = []
        for rl, src in self.raw.links:
            for vars_ in self.for_each(rl.for_each, {}):
                ends = []
                for side in ("a", "b"):
                    text = self.subst(getattr(rl, side), vars_, src.at(side), side)
                    if text is None:
                        break
                    dev, _, iface = text.partition(":")
                    if dev not in self.devices:
                        self.p.add(src.at(side), side, f"link end {dev!r} is not a device of the estate",
                                   _suggest(dev, self.devices), "reference")
                        break
                    ends.append((dev, iface or None))
                if len(ends) == 2:
                    pending.append((rl, src, ends))
                    if rl.subnet is not None:
                        pool.reserve(rl.subnet)
        self.links = []
        seen_ids: dict[str, int] = {}
        for rl, src, ends in pending:
            subnet = rl.subnet or pool.allocate(plan.prefix)
            if subnet is None:
                self.p.add(src.at(), "subnet", f"the link block {plan.block} is full",
                           "enlarge estate.links.block", "ip_plan")
                continue
            hosts = list(subnet.hosts()) if subnet.prefixlen < 31 else [subnet.network_address, subnet.broadcast_address]
            if len(hosts) < 2:
                self.p.add(src.at("subnet"), "subnet", f"{subnet} has room for fewer than two ends",
                           "use a /30 or /31", "ip_plan")
                continue
            (da, ia), (db, ib) = ends
            base_id = f"{da}~{db}"
            seen_ids[base_id] = seen_ids.get(base_id, 0) + 1
            lid = base_id if seen_ids[base_id] == 1 else f"{base_id}#{seen_ids[base_id]}"
            ips = [IPv4Interface(f"{hosts[0]}/{subnet.prefixlen}"), IPv4Interface(f"{hosts[1]}/{subnet.prefixlen}")]
            link_ends = []
            for (dev, iface), ip, other in zip(ends, ips, (db, da)):
                d = self.devices[dev]
                made = self._add_if(d, ip, link=lid, name=iface, description=f"{rl.type} to {other}"
                                    + (f" ({rl.carrier}, {rl.role})" if rl.carrier else ""))
                link_ends.append(LinkEnd(device=dev, interface=made.name, ip=ip))
            area_a = self.sites[self.devices[da].site].area
            area_b = self.sites[self.devices[db].site].area
            if area_a and area_b and area_a != area_b:
                self.p.add(src.at(), "ospf_area", f"link {lid} joins OSPF areas {area_a} and {area_b}",
                           "links may join area 0 to one area, or stay inside one area", "routing")
            self.links.append(Link(
                id=lid, type=rl.type, a=link_ends[0], b=link_ends[1], carrier=rl.carrier, medium=rl.medium,
                bandwidth_mbps=rl.bandwidth, role=rl.role, subnet=subnet, ospf_area=area_a or area_b or 0,
                cost=rl.cost or _DEFAULT_COST[rl.role], origin=src.at()))

    # -- everything else -------------------------------------------------------------------------
    def build_estate(self) -> Estate:
        est = self.est
        sites = {}
        for s in self.sites.values():
            zones = {}
            for z, zo in s.zones:
                if s.zone_blocks.get(z.name) is None:
                    continue
                zones[z.name] = Zone(name=z.name, site=s.name, kind=z.kind, vlan=z.vlan, block=s.zone_blocks[z.name],
                                     firewall=self.zone_firewalls.get((s.name, z.name)), origin=zo)
            if s.block is None or s.mgmt_block is None or s.loop_pool is None:
                continue
            sites[s.name] = Site(name=s.name, kind=s.kind, title=s.title, parent=s.parent, block=s.block,
                                 loopback_pool=s.loop_pool, mgmt_block=s.mgmt_block, ospf_area=s.area,
                                 zones=zones, origin=s.origin)
        devices = {}
        for d in self.devices.values():
            if d.mgmt_ip is None:
                continue
            r = d.raw
            devices[d.name] = Device(
                name=d.name, site=d.site, role=r.role, platform=r.platform, vendor=r.vendor, model=r.model,
                zone=d.zone, fqdn=f"{d.name}.{est.domain}", mgmt_ip=d.mgmt_ip, loopback=d.loopback,
                interfaces=tuple(d.interfaces), snmp_profile=r.snmp_profile or est.snmp_profile,
                management=tuple(r.management or est.management.protocols), origin=d.origin)
        policies = []
        for rp, src in self.raw.policies:
            services = []
            for svc in rp.services:
                proto, _, ports = svc.partition("/")
                rng = None
                if ports:
                    lo, _, hi = ports.partition("-")
                    rng = (int(lo), int(hi or lo))
                services.append(Service(proto=proto, ports=rng))
            for vars_ in self.for_each(rp.for_each, {}):
                site = self.subst(rp.site, vars_, src.at("site"), "site")
                if site is not None:
                    policies.append(Policy(site=site, from_zone=rp.from_, to_zone=rp.to, services=tuple(services),
                                           why=rp.why, origin=src.at()))
        pairs = []
        for rd, src in self.raw.dr_pairs:
            for vars_ in self.for_each(rd.for_each, {}):
                vals = [self.subst(getattr(rd, f), vars_, src.at(f), f) for f in ("name", "primary", "standby")]
                if None in vals:
                    continue
                pairs.append(DrPair(name=vals[0], primary=vals[1], standby=vals[2], level=rd.level, rto_s=rd.rto,
                                    rpo_s=rd.rpo, replication=rd.replication, origin=src.at()))
        profiles = {
            name: SnmpProfile(name=name, version=p.version, user=p.user, auth_protocol=p.auth_protocol,
                              priv_protocol=p.priv_protocol, auth_key=SecretRef(ref=p.auth_key),
                              priv_key=SecretRef(ref=p.priv_key), origin=src.at())
            for name, (p, src) in self.raw.snmp_profiles.items()
        }
        ro = self.raw.routing[0].ospf if self.raw.routing else None
        ospf = Ospf(process=ro.process, reference_bandwidth_mbps=ro.reference_bandwidth, hello_s=ro.hello,
                    dead_s=ro.dead) if ro else Ospf()
        return Estate(name=est.name, title=est.title, domain=est.domain, supernet=est.supernet,
                      mgmt_block=est.management.block, link_block=est.links.block, sites=sites, devices=devices,
                      links=tuple(self.links), policies=tuple(policies), dr_pairs=tuple(pairs),
                      snmp_profiles=profiles, ospf=ospf, source=str(self.raw.root))


def resolve(raw: RawEstateFiles) -> tuple[Estate, ProblemList]:
    """Build the explicit estate. Returns it with the problems met; callers decide to go on."""
    r = _Resolver(raw)
    r.build_sites()
    r.carve_sites()
    r.build_devices()
    r.address_devices()
    r.build_links()
    return r.build_estate(), r.p
