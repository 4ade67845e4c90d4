"""Expand the compact YAML (templates, counts, for_each) into the explicit estate model.

Order matters and is fixed so the same YAML always yields the same addresses:
sites → OSPF areas → site blocks → zones and loopback pools → devices → links → the rest.
Problems that stop an item from being built (an unknown template, a link to a device that does
not exist, a block that cannot fit) are reported here; checks that need the finished estate
live in checks/.

Each problem points at the line that set the value at fault: a device made from a template
points into the template, a full management block at `management.block`, an impossible prefix
at wherever that prefix was written. Problems met once per site or device from one such line
are folded into one by ProblemList.folded().
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from .ipalloc import Hosts, Pool
from .loader import RawEstateFiles, Src
from .model import (
    DrPair, Device, Estate, Interface, Link, LinkEnd, Ospf, Policy, SecretRef, Service, Site,
    SnmpProfile, Zone,
)
from .problems import ProblemList
from .yamlsrc import Origin

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
# RFC 1123 host name label; the FQDN (name + domain) must also stay within 253 characters.
_HOSTNAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")

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


def _sub(src: Src, *more) -> Src:
    return Src(src.pos, src.path + more)


@dataclass
class Where:
    """Where each resolved item was written, so a check can name the line of one of its fields.

    A device or zone made from a template points into the template: that is the line to change.
    """

    estate: Src
    routing: Src | None = None
    sites: dict[str, Src] = field(default_factory=dict)
    devices: dict[str, Src] = field(default_factory=dict)
    zones: dict[tuple[str, str], Src] = field(default_factory=dict)
    links: dict[str, Src] = field(default_factory=dict)
    dr_pairs: list[Src] = field(default_factory=list)
    # Sites and devices that were written but could not be built (a problem says why), and
    # whether some links could not be: checks skip what they would only report as missing.
    unbuilt: set[str] = field(default_factory=set)
    links_incomplete: bool = False


@dataclass
class _SiteDraft:
    name: str
    kind: str
    title: str
    parent: str | None
    block: IPv4Network | None
    prefix: int
    prefix_at: tuple[Origin, str]  # where the prefix was set: the site, its template or the estate
    loopbacks: int
    loopbacks_at: tuple[Origin, str]
    area: int | str
    zones: list  # (RawZone, Src)
    devices: list  # (RawDevice, origin of the site entry, Src of the device entry)
    origin: Origin
    src: Src
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
    src: Src
    interfaces: list = field(default_factory=list)
    loopback: IPv4Address | None = None
    mgmt_ip: IPv4Address | None = None


class _Resolver:
    def __init__(self, raw: RawEstateFiles):
        self.raw = raw
        self.p = ProblemList()
        self.est, self.est_src = raw.estate
        self.where = Where(estate=self.est_src, routing=raw.routing[1] if raw.routing else None)
        self.zone_firewalls: dict[tuple[str, str], str] = {}
        self.area_flagged: set[str] = set()
        self.template_zones = {name: self.zone_list(t.zones, _sub(src, "zones"), f"template {name}")
                               for name, (t, src) in raw.site_templates.items()}

    # -- helpers -----------------------------------------------------------------------------
    def subst(self, text, vars_, where: Src | Origin, fieldname):
        """Fill in {placeholders}; where is the entry (or the line) to blame for an unknown one."""
        if text is None or "{" not in text:
            return text

        def rep(m):
            if m.group(1) not in vars_:
                raise KeyError(m.group(1))
            return str(vars_[m.group(1)])

        try:
            return _PLACEHOLDER.sub(rep, text)
        except KeyError as k:
            origin = where.at(fieldname) if isinstance(where, Src) else where
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

    def zone_list(self, zones, src: Src, owner: str) -> list:
        """A site's (or template's) zones, each once: a second zone of the same name is reported,
        never allowed to replace the first silently."""
        out, seen = [], {}
        for j, z in enumerate(zones or []):
            zsrc = _sub(src, j)
            if z.name in seen:
                self.p.add(zsrc.at("name"), f"zones.{z.name}.name",
                           f"{owner} already has a zone named {z.name!r} (at {seen[z.name]})",
                           "give every zone of a site its own name", "reference")
                continue
            seen[z.name] = zsrc.at("name")
            out.append((z, zsrc))
        return out

    # -- sites -------------------------------------------------------------------------------
    def build_sites(self):
        self.sites: dict[str, _SiteDraft] = {}
        templates = self.raw.site_templates
        for rs, src in self.raw.sites:
            tmpl = tsrc = None
            if rs.template is not None:
                if rs.template not in templates:
                    self.p.add(src.at("template"), "template", f"no site template named {rs.template!r}",
                               _suggest(rs.template, templates), "reference")
                    continue
                tmpl, tsrc = templates[rs.template]
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
            if rs.prefix:
                prefix, prefix_at = rs.prefix, (src.at("prefix"), "prefix")
            elif tmpl and tmpl.prefix:
                prefix, prefix_at = tmpl.prefix, (tsrc.at("prefix"), "prefix")
            else:
                prefix = self.est.site_prefix.get(kind, 24)
                prefix_at = (self.est_src.at("site_prefix", kind), f"estate.site_prefix.{kind}")
            if rs.loopbacks:
                loopbacks, loopbacks_at = rs.loopbacks, (src.at("loopbacks"), "loopbacks")
            elif tmpl:
                loopbacks, loopbacks_at = tmpl.loopbacks, (tsrc.at("loopbacks"), "loopbacks")
            else:
                loopbacks, loopbacks_at = 28, (src.at(), "loopbacks")
            owner = f"site {'/'.join(names)}"
            if rs.zones is not None:
                zones = self.zone_list(rs.zones, _sub(src, "zones"), owner)
            else:
                zones = self.template_zones.get(rs.template, [])
            for i, nm in enumerate(names):
                origin = src.at("names", i) if rs.names else src.at("name")
                if nm in self.sites:
                    self.p.add(origin, "name", f"site {nm!r} is already defined at {self.sites[nm].origin}",
                               "give every site a unique name")
                    continue
                devices = [(d, origin, _sub(tsrc, "devices", j)) for j, d in enumerate(tmpl.devices)] if tmpl else []
                devices += [(d, src.at("devices", j), _sub(src, "devices", j)) for j, d in enumerate(rs.devices or [])]
                self.sites[nm] = _SiteDraft(
                    name=nm, kind=kind, title=rs.title if len(names) == 1 else "", parent=rs.parent,
                    block=rs.block if len(names) == 1 else None, prefix=prefix, prefix_at=prefix_at,
                    loopbacks=loopbacks, loopbacks_at=loopbacks_at,
                    area=rs.ospf_area if rs.ospf_area is not None else "auto", zones=zones,
                    devices=devices, origin=origin, src=src)
                self.where.sites[nm] = src
        self._parents()
        self._areas()

    def _parents(self):
        # ESTATE.md: counties hang off a city; everything else is carved from the supernet. This
        # also rules out parent cycles, which would leave sites without a block.
        for s in self.sites.values():
            if s.kind != "county":
                if s.parent:
                    self.p.add(s.src.at("parent"), "parent", f"site {s.name} is a {s.kind}; only a county has a parent",
                               "remove parent: (cities, the province and the DR site take their blocks from the "
                               "supernet)", "reference")
                    s.parent = None
            elif not s.parent:
                self.p.add(s.origin, "parent", f"county {s.name!r} has no parent city",
                           "add parent: <city site name>", "reference")
            elif s.parent not in self.sites:
                self.p.add(s.src.at("parent"), "parent", f"site {s.name!r} names unknown parent {s.parent!r}",
                           _suggest(s.parent, self.sites), "reference")
                s.parent = None
            elif self.sites[s.parent].kind != "city":
                self.p.add(s.src.at("parent"), "parent", f"county {s.name}'s parent {s.parent} is a "
                           f"{self.sites[s.parent].kind}, not a city", "name the city the county hangs off",
                           "reference")
                s.parent = None

    def _areas(self):
        """Province and DR site are the backbone (area 0); cities get 1..N; a county follows its city."""
        taken: dict[int, _SiteDraft] = {}
        for s in self.sites.values():
            if s.area == "auto":
                continue
            at = s.src.at("ospf_area")
            if s.kind in ("province", "dr") and s.area != 0:
                self.p.add(at, "ospf_area", f"the {s.kind} site {s.name} is the OSPF backbone; it cannot be in "
                           f"area {s.area}", "use ospf_area: 0 or auto", "routing")
                s.area = 0
                self.area_flagged.add(s.name)
            elif s.kind == "city" and s.area != 0:
                if s.area in taken:
                    self.p.add(at, "ospf_area", f"OSPF area {s.area} is already city {taken[s.area].name}'s "
                               f"({taken[s.area].src.at('ospf_area')})",
                               "give each city its own area, or use auto", "routing")
                    self.area_flagged.add(s.name)
                taken.setdefault(s.area, s)
        city_no = 0
        for s in self.sites.values():
            if s.area == "auto":
                if s.kind in ("province", "dr"):
                    s.area = 0
                elif s.kind == "city":
                    city_no += 1
                    while city_no in taken:  # auto steps around areas given explicitly
                        city_no += 1
                    s.area = city_no
        for s in self.sites.values():
            parent = self.sites.get(s.parent) if s.parent else None
            if s.area == "auto":
                s.area = parent.area if parent and parent.area != "auto" else 0
            elif s.kind == "county" and parent and parent.area != "auto" and s.area != parent.area:
                self.p.add(s.src.at("ospf_area"), "ospf_area", f"county {s.name} is in OSPF area {s.area} but its "
                           f"city {parent.name} is in area {parent.area}",
                           f"drop ospf_area (a county follows its city) or use {parent.area}", "routing")
                self.area_flagged.add(s.name)

    # -- addresses of sites and zones ----------------------------------------------------------
    def carve_sites(self):
        est = self.est
        top = Pool(est.supernet)
        if est.links.block.subnet_of(est.supernet):
            top.reserve(est.links.block)
        children: dict[str | None, list[_SiteDraft]] = {}
        for s in self.sites.values():
            children.setdefault(s.parent, []).append(s)

        def carve(pool: Pool, sites: list[_SiteDraft], parent: _SiteDraft | None):
            # A site's own loopback pool comes out of its block first, so a child site as big as
            # its parent can never fit; at the top, a site may take the whole supernet.
            smallest = pool.network.prefixlen + (1 if parent else 0)
            for s in sites:
                if s.block is not None:
                    pool.reserve(s.block)
            short = []
            for s in sites:
                if s.block is not None:
                    continue
                if s.prefix < smallest:
                    # Not a full pool but a prefix that can never fit: say so where it was set.
                    origin, fieldname = s.prefix_at
                    self.p.add(origin, fieldname, f"a /{s.prefix} block for {s.kind} {s.name} cannot fit in "
                               f"{pool.network}", f"use a prefix of /{smallest} or longer (smaller blocks)", "ip_plan")
                    continue
                s.block = pool.allocate(s.prefix)
                if s.block is None:
                    short.append(s)
            if short:
                # A full block is the block's problem, reported once where its size is set.
                origin, fieldname = (self.est_src.at("supernet"), "estate.supernet") if parent is None else parent.prefix_at
                owner = f"the supernet {pool.network}" if parent is None else f"{parent.kind} {parent.name}'s block {pool.network}"
                names = ", ".join(f"{s.name} (/{s.prefix})" for s in short[:4]) + (" …" if len(short) > 4 else "")
                self.p.add(origin, fieldname, f"{owner} is full: {len(short)} of its {len(sites)} sites get no block: "
                           f"{names}", "enlarge it (a shorter prefix), or give the sites smaller blocks", "ip_plan")

        carve(top, children.get(None, []), None)
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
                origin, fieldname = s.loopbacks_at
                self.p.add(origin, fieldname, f"no room for a /{s.loopbacks} loopback pool in {s.name}'s block {s.block}",
                           "enlarge the site block or shrink the loopback pool", "ip_plan")
            for z, zsrc in s.zones:
                blk = z.block or inner.allocate(z.prefix)
                if blk is None:
                    self.p.add(zsrc.at("prefix"), f"zones.{z.name}.prefix",
                               f"no free /{z.prefix} left in {s.name}'s block {s.block} for zone {z.name}",
                               "enlarge the site block or shrink the zone prefix", "ip_plan")
                s.zone_blocks[z.name] = blk
            carve(inner, kids, s)
            order.extend(kids)
        self._carve_management()

    def _carve_management(self):
        m = self.est.management
        if m.site_prefix < m.block.prefixlen:
            self.p.add(self.est_src.at("management", "site_prefix"), "estate.management.site_prefix",
                       f"a /{m.site_prefix} management subnet per site cannot fit in the management block {m.block}",
                       f"use a site_prefix of /{m.block.prefixlen} or longer, or a bigger management block", "ip_plan")
            return
        pool = Pool(m.block)
        short = []
        for s in self.sites.values():
            s.mgmt_block = pool.allocate(m.site_prefix)
            if s.mgmt_block is None:
                short.append(s.name)
        if short:
            self.where.links_incomplete = True
            room = 2 ** (m.site_prefix - m.block.prefixlen)
            self.p.add(self.est_src.at("management", "block"), "estate.management.block",
                       f"the management block {m.block} has room for {room} site subnets of /{m.site_prefix}, but "
                       f"the estate has {len(self.sites)} sites; left without one: {', '.join(short[:4])}"
                       f"{' …' if len(short) > 4 else ''}", "enlarge management.block, or lengthen management.site_prefix",
                       "ip_plan")

    # -- devices -----------------------------------------------------------------------------
    def build_devices(self):
        self.devices: dict[str, _DevDraft] = {}
        lower: dict[str, str] = {}
        for s in self.sites.values():
            base = {"site": s.name, "parent": s.parent or "", "title": s.title}
            for rd, origin, dsrc in s.devices:
                for vars_ in self.for_each(rd.for_each, base):
                    counts = range(1, rd.count + 1) if rd.count else [None]
                    if rd.count and rd.count > 1 and "{n}" not in rd.name:
                        self.p.add(dsrc.at("count"), "count", f"device {rd.name!r} has count {rd.count} but no {{n}} "
                                   "in its name", "put {n} in the name so each copy gets its own")
                        break
                    for n in counts:
                        v = {**vars_, "n": n} if n is not None else vars_
                        name = self.subst(rd.name, v, dsrc, "name")
                        zone = self.subst(rd.zone, v, dsrc, "zone")
                        if name is None:
                            break
                        if not self._hostname_ok(name, dsrc):
                            self.where.unbuilt.add(name)
                            continue
                        if name.lower() in lower:
                            first = self.devices[lower[name.lower()]]
                            self.p.add(dsrc.at("name"), "name", f"device {name!r} is already defined at "
                                       f"{first.src.at('name')}", "give every device a unique name")
                            continue
                        if zone is not None and zone not in s.zone_blocks and s.block is not None:
                            self.p.add(dsrc.at("zone"), "zone", f"device {name!r} is in zone {zone!r}, which site "
                                       f"{s.name} does not have", _suggest(zone, s.zone_blocks), "reference")
                            zone = None
                        self.devices[name] = _DevDraft(name, s.name, rd, zone, origin, dsrc)
                        lower[name.lower()] = name
                        self.where.devices[name] = dsrc

    def _hostname_ok(self, name: str, dsrc: Src) -> bool:
        if not _HOSTNAME.match(name):
            self.p.add(dsrc.at("name"), "name", f"device name {name!r} is not a valid host name",
                       "use lower-case letters, digits and '-', not at the start or end, 63 characters at most")
            return False
        fqdn = f"{name}.{self.est.domain}"
        if len(fqdn) > 253:  # RFC 1035; with a sane name, the domain is what is too long
            self.p.add(self.est_src.at("domain"), "estate.domain", f"the domain makes device FQDNs such as "
                       f"{name}.… {len(fqdn)} characters long, over the 253 DNS allows", "shorten the domain", "schema")
            return False
        return True

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
                self._explicit_addresses(d, s)
                if d.raw.mgmt_ip and mgmt:
                    mgmt.take(d.raw.mgmt_ip)
                if isinstance(d.raw.loopback, IPv4Address) and loops:
                    loops.take(d.raw.loopback)
                if d.raw.ip and d.zone in zone_hosts:
                    zone_hosts[d.zone].take(d.raw.ip.ip)
            gateways = {}
            for z, zsrc in s.zones:
                if z.firewall is None or z.name not in zone_hosts:
                    continue
                fw = self.subst(z.firewall, {"site": s.name, "parent": s.parent or ""}, zsrc.at("firewall"),
                                f"zones.{z.name}.firewall")
                gateways[z.name] = fw
            for zname, fw in gateways.items():
                self.zone_firewalls[(s.name, zname)] = fw
            for d in devs:
                d.mgmt_ip = d.raw.mgmt_ip or (mgmt.next() if mgmt else None)
                if d.mgmt_ip is None and mgmt:
                    self.p.add(self.est_src.at("management", "site_prefix"), "estate.management.site_prefix",
                               f"the management subnet {s.mgmt_block} of {s.name} is full",
                               "use a shorter management.site_prefix (a bigger subnet per site)", "ip_plan")
                if isinstance(d.raw.loopback, IPv4Address):
                    d.loopback = d.raw.loopback
                elif d.raw.loopback and loops:
                    d.loopback = loops.next()
                    if d.loopback is None:
                        origin, fieldname = s.loopbacks_at
                        self.p.add(origin, fieldname, f"the loopback pool {s.loop_pool} of {s.name} is full",
                                   "enlarge the site's loopbacks pool (a shorter prefix)", "ip_plan")
            # The border firewall takes the first host of each zone it guards: the zone gateway.
            guarded: dict[str, list[tuple[str, IPv4Interface | None]]] = {}
            for zname, fw in gateways.items():
                fwd = self.devices.get(fw)
                if fwd is None or fwd.site != s.name:
                    continue  # reported by the checks, with the zone's source line
                ip = zone_hosts[zname].next()
                guarded.setdefault(fw, []).append(
                    (zname, _iface(ip, zone_hosts[zname].net) if ip else None))
            zone_src = {z.name: zsrc for z, zsrc in s.zones}
            # Interfaces in order: the device's own zone, then the zones it guards (links come later).
            for d in devs:
                if d.zone is not None and d.zone in zone_hosts and gateways.get(d.zone) != d.name:
                    h = zone_hosts[d.zone]
                    ip = d.raw.ip
                    if ip is None:
                        a = h.next()
                        if a is None:
                            self.p.add(zone_src[d.zone].at("prefix"), f"zones.{d.zone}.prefix",
                                       f"zone {s.name}/{d.zone} ({h.net}) has no free address for {d.name}",
                                       "enlarge the zone (a shorter prefix)", "ip_plan")
                        ip = _iface(a, h.net) if a else None
                    if ip is not None:
                        self._add_if(d, ip, zone=d.zone, description=f"zone {d.zone}")
                for zname, ip in guarded.get(d.name, []):
                    self._add_if(d, ip, zone=zname, description=f"gateway of zone {zname}")

    def _explicit_addresses(self, d: _DevDraft, s: _SiteDraft):
        """An address written by hand must be a usable host of its subnet, and must be used."""

        def edge(addr, net, what, fieldname, gateway=False):
            if net is None or addr not in net or net.prefixlen >= 31:
                return  # outside its subnet: the IP-plan check says so, with the subnet
            special = {net.network_address: "network address", net.broadcast_address: "broadcast address"}
            if gateway:
                special[net.network_address + 1] = "gateway (first host, kept for the router)"
            if addr in special:
                self.p.add(d.src.at(fieldname), fieldname, f"{d.name} {what} {addr} is the {special[addr]} of {net}",
                           f"use another host address of {net}, or drop it to allocate one", "ip_plan")

        r = d.raw
        if r.ip is not None and r.zone is None:
            self.p.add(d.src.at("ip"), "ip", f"{d.name} has ip: {r.ip} but no zone:, so the address would be ignored",
                       "add the zone whose block holds the address, or remove ip:", "ip_plan")
        elif r.ip is not None and d.zone in s.zone_blocks:
            edge(r.ip.ip, s.zone_blocks[d.zone], "address", "ip")
        if r.mgmt_ip is not None:
            edge(r.mgmt_ip, s.mgmt_block, "management address", "mgmt_ip", gateway=True)
        if isinstance(r.loopback, IPv4Address):
            edge(r.loopback, s.loop_pool, "loopback", "loopback")

    def _add_if(self, d: _DevDraft, ip, zone=None, link=None, description="", name=None):
        pattern, start = _IFNAME[d.raw.platform]
        if name is None:
            used = {i.name for i in d.interfaces}
            k = start + len(d.interfaces)
            while pattern.format(k) in used:  # step around names given by hand on links
                k += 1
            name = pattern.format(k)
        iface = Interface(name=name, ip=ip, zone=zone, link=link, description=description)
        d.interfaces.append(iface)
        return iface

    # -- links -------------------------------------------------------------------------------
    def build_links(self):
        plan = self.est.links
        pool = Pool(plan.block)
        pending = []
        seen: dict[tuple, str] = {}
        for rl, src in self.raw.links:
            for vars_ in self.for_each(rl.for_each, {}):
                ends = []
                for side in ("a", "b"):
                    text = self.subst(getattr(rl, side), vars_, src, side)
                    if text is None:
                        break
                    dev, _, iface = text.partition(":")
                    if dev in self.where.unbuilt:
                        self.where.links_incomplete = True  # its own problem says why
                        break
                    if dev not in self.devices:
                        self.p.add(src.at(side), side, f"link end {dev!r} is not a device of the estate",
                                   _suggest(dev, self.devices), "reference")
                        break
                    ends.append((dev, iface or None))
                if len(ends) < 2:
                    continue
                if ends[0][0] == ends[1][0]:
                    self.p.add(src.at("b"), "b", f"the link joins {ends[0][0]} to itself",
                               "end the link on another device", "reference")
                    continue
                key = (frozenset(e[0] for e in ends), rl.type, " ".join((rl.carrier or "").split()).casefold(), rl.role)
                if key in seen:
                    self.p.add(src.at(), "link", f"this {rl.role} {rl.type} link between {ends[0][0]} and "
                               f"{ends[1][0]} on carrier {rl.carrier or '(none)'} repeats the one at {seen[key]}",
                               "remove one of the two (for_each links need {each} in a or b)", "reference")
                    continue
                seen[key] = str(src.at())
                pending.append((rl, src, ends))
                if rl.subnet is not None:
                    pool.reserve(rl.subnet)
        self.links = []
        seen_ids: dict[str, int] = {}
        short = 0
        for rl, src, ends in pending:
            subnet = rl.subnet or (pool.allocate(plan.prefix) if plan.prefix >= plan.block.prefixlen else None)
            if subnet is None:
                short += 1
                continue
            hosts = _two_ends(subnet)
            if hosts is None:
                self.p.add(src.at("subnet"), "subnet", f"{subnet} has room for fewer than two ends",
                           "use a /30 or /31", "ip_plan")
                continue
            (da, ia), (db, ib) = ends
            if not self._interfaces_free(ends, src):
                continue
            base_id = f"{da}~{db}"
            seen_ids[base_id] = seen_ids.get(base_id, 0) + 1
            lid = base_id if seen_ids[base_id] == 1 else f"{base_id}#{seen_ids[base_id]}"
            ips = [_iface(hosts[0], subnet), _iface(hosts[1], subnet)]
            link_ends = []
            for (dev, iface), ip, other in zip(ends, ips, (db, da)):
                d = self.devices[dev]
                made = self._add_if(d, ip, link=lid, name=iface, description=f"{rl.type} to {other}"
                                    + (f" ({rl.carrier}, {rl.role})" if rl.carrier else ""))
                link_ends.append(LinkEnd(device=dev, interface=made.name, ip=ip))
            site_a, site_b = self.devices[da].site, self.devices[db].site
            area_a, area_b = self.sites[site_a].area, self.sites[site_b].area
            if area_a and area_b and area_a != area_b and not {site_a, site_b} & self.area_flagged:
                self.p.add(src.at(), "ospf_area", f"link {lid} joins OSPF areas {area_a} and {area_b}",
                           "links may join area 0 to one area, or stay inside one area", "routing")
            self.links.append(Link(
                id=lid, type=rl.type, a=link_ends[0], b=link_ends[1], carrier=rl.carrier, medium=rl.medium,
                bandwidth_mbps=rl.bandwidth, role=rl.role, subnet=subnet, ospf_area=area_a or area_b or 0,
                cost=rl.cost or _DEFAULT_COST[rl.role], origin=src.at()))
            self.where.links[lid] = src
        if short:
            self.where.links_incomplete = True
            room = 2 ** (plan.prefix - plan.block.prefixlen) if plan.prefix >= plan.block.prefixlen else 0
            self.p.add(self.est_src.at("links", "block"), "estate.links.block",
                       f"the link block {plan.block} has room for {room} /{plan.prefix} links, but the estate has "
                       f"{len(pending)}; {short} are left without a subnet", "enlarge estate.links.block", "ip_plan")

    def _interfaces_free(self, ends, src: Src) -> bool:
        ok = True
        for side, (dev, iface) in zip(("a", "b"), ends):
            if iface and any(i.name == iface for i in self.devices[dev].interfaces):
                self.p.add(src.at(side), side, f"{dev} already has an interface named {iface}",
                           f"name another interface, or drop ':{iface}' to number it automatically", "reference")
                ok = False
        return ok

    # -- everything else -------------------------------------------------------------------------
    def build_estate(self) -> Estate:
        est = self.est
        sites = {}
        for s in self.sites.values():
            zones = {}
            for z, zsrc in s.zones:
                self.where.zones[(s.name, z.name)] = zsrc
                if s.zone_blocks.get(z.name) is None:
                    self.where.unbuilt.add(f"{s.name}/{z.name}")
                    continue
                zones[z.name] = Zone(name=z.name, site=s.name, kind=z.kind, vlan=z.vlan, block=s.zone_blocks[z.name],
                                     firewall=self.zone_firewalls.get((s.name, z.name)), origin=zsrc.at())
            if s.block is None or s.mgmt_block is None or s.loop_pool is None:
                if not self.p:  # never drop a site silently
                    self.p.add(s.origin, "block", f"site {s.name} could not be given addresses",
                               "check its parent, prefix and block", "ip_plan")
                self.where.unbuilt.add(s.name)
                continue
            sites[s.name] = Site(name=s.name, kind=s.kind, title=s.title, parent=s.parent, block=s.block,
                                 loopback_pool=s.loop_pool, mgmt_block=s.mgmt_block, ospf_area=s.area,
                                 zones=zones, origin=s.origin)
        devices = {}
        for d in self.devices.values():
            if d.mgmt_ip is None or d.site not in sites:
                self.where.unbuilt.add(d.name)
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
                site = self.subst(rp.site, vars_, src, "site")
                if site is not None:
                    policies.append(Policy(site=site, from_zone=rp.from_, to_zone=rp.to, services=tuple(services),
                                           why=rp.why, origin=src.at()))
        pairs = []
        for rd, src in self.raw.dr_pairs:
            for vars_ in self.for_each(rd.for_each, {}):
                vals = [self.subst(getattr(rd, f), vars_, src, f) for f in ("name", "primary", "standby")]
                if None in vals:
                    continue
                pairs.append(DrPair(name=vals[0], primary=vals[1], standby=vals[2], level=rd.level, rto_s=rd.rto,
                                    rpo_s=rd.rpo, replication=rd.replication, origin=src.at()))
                self.where.dr_pairs.append(src)
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


def _iface(addr: IPv4Address, net: IPv4Network) -> IPv4Interface:
    # From integers: parsing "a.b.c.d/n" strings was a third of the resolver's time.
    return IPv4Interface((int(addr), net.prefixlen))


def _two_ends(subnet: IPv4Network) -> tuple[IPv4Address, IPv4Address] | None:
    """The two end addresses of a point-to-point subnet; never lists a big subnet's hosts."""
    if subnet.prefixlen == 32:
        return None
    if subnet.prefixlen == 31:
        return subnet.network_address, subnet.broadcast_address
    return subnet.network_address + 1, subnet.network_address + 2


def resolve(raw: RawEstateFiles) -> tuple[Estate, ProblemList, Where]:
    """Build the explicit estate. Returns it with the problems met and where each item was
    written; callers decide to go on."""
    r = _Resolver(raw)
    r.build_sites()
    r.carve_sites()
    r.build_devices()
    r.address_devices()
    r.build_links()
    return r.build_estate(), r.p, r.where
