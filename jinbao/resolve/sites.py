"""Sites: names, parents and OSPF areas, then their blocks, loopback pools, zones and management
subnets. A full block is reported once, where its size is set.
"""

from __future__ import annotations

from ..ipalloc import Pool
from ..model import SiteKind
from ..schema import DEFAULT_SITE_PREFIX, RawSiteTemplate
from .displaced import displacing_blocks
from .state import SiteDraft, State, sub, suggest


def build_sites(r: State):
    r.sites = {}
    templates = r.raw.site_templates
    for rs, src in r.raw.sites:
        # tsrc stands for the entry itself when there is no template; it is read only with tmpl.
        tmpl: RawSiteTemplate | None = None
        tsrc = src
        written = rs.names if rs.names else ([rs.name] if rs.name else [])
        if rs.template is not None:
            if rs.template not in templates:
                r.p.add(
                    src.at("template"),
                    "template",
                    f"no site template named {rs.template!r}",
                    suggest(rs.template, templates),
                    "reference",
                )
                r.where.lost_sites.update(written)
                continue
            tmpl, tsrc = templates[rs.template]
        if rs.name and rs.names:
            r.p.add(
                src.at("names"),
                "names",
                "a site entry gives both name and names",
                "use name: for one site or names: for several from one template",
            )
            continue
        names = rs.names if rs.names else ([rs.name] if rs.name else [])
        if not names:
            r.p.add(src.at(), "name", "a site entry has no name", "add name: (or names: with a template)")
            continue
        kind = rs.kind or (tmpl.kind if tmpl else None)
        if rs.kind and tmpl and tmpl.kind and rs.kind != tmpl.kind:
            # A template is written for one kind of site (a city's WAN pair, a county's access
            # router); the kind decides the site's block, area and links, not the template.
            r.p.add(
                src.at("kind"),
                "kind",
                f"site {names[0]!r} is a {rs.kind}, but its template {rs.template} is for {tmpl.kind} sites",
                f"remove kind: to make it a {tmpl.kind}, or use a template for {rs.kind} sites",
                "reference",
            )
        if kind is None:
            r.p.add(
                src.at(),
                "kind",
                f"site {names[0]!r} has no kind",
                "add kind: province, city, county or dr, or use a template",
            )
            r.where.lost_sites.update(names)
            continue
        if rs.block is not None and len(names) > 1:
            r.p.add(
                src.at("block"),
                "block",
                "one block cannot serve several sites",
                "drop block: to allocate each site's block from the plan",
            )
        if rs.prefix:
            prefix, prefix_at = rs.prefix, (src.at("prefix"), "prefix")
        elif tmpl and tmpl.prefix:
            prefix, prefix_at = tmpl.prefix, (tsrc.at("prefix"), "prefix")
        elif kind in r.est.site_prefix:
            prefix = r.est.site_prefix[kind]
            prefix_at = (r.est_src.at("site_prefix", kind), f"estate.site_prefix.{kind}")
        else:
            # No size for this kind of site anywhere: a silent default would carve a block
            # nobody chose. The site is left without addresses; _no_prefix says so once per kind.
            prefix, prefix_at = None, (src.at(), "prefix")
        if rs.loopbacks:
            loopbacks, loopbacks_at = rs.loopbacks, (src.at("loopbacks"), "loopbacks")
        elif tmpl:
            loopbacks, loopbacks_at = tmpl.loopbacks, (tsrc.at("loopbacks"), "loopbacks")
        else:
            loopbacks, loopbacks_at = 28, (src.at(), "loopbacks")
        owner = f"site {'/'.join(names)}"
        if rs.zones is not None:
            zones = r.zone_list(rs.zones, sub(src, "zones"), owner)
        elif rs.template is not None:
            zones = r.template_zones.get(rs.template, [])
        else:
            zones = []
        for i, nm in enumerate(names):
            origin = src.at("names", i) if rs.names else src.at("name")
            if nm in r.sites:
                r.p.add(
                    origin,
                    "name",
                    f"site {nm!r} is already defined at {r.sites[nm].origin}",
                    "give every site a unique name",
                )
                continue
            devices = [(d, origin, sub(tsrc, "devices", j)) for j, d in enumerate(tmpl.devices)] if tmpl else []
            devices += [(d, src.at("devices", j), sub(src, "devices", j)) for j, d in enumerate(rs.devices or [])]
            r.sites[nm] = SiteDraft(
                name=nm,
                kind=kind,
                title=rs.title if len(names) == 1 else "",
                parent=rs.parent,
                block=rs.block if len(names) == 1 else None,
                prefix=prefix,
                prefix_at=prefix_at,
                loopbacks=loopbacks,
                loopbacks_at=loopbacks_at,
                area=rs.ospf_area if rs.ospf_area is not None else "auto",
                zones=zones,
                devices=devices,
                origin=origin,
                src=src,
            )
            r.where.sites[nm] = src
    _no_prefix(r)
    _parents(r)
    _areas(r)


def _no_prefix(r: State):
    """A site kind missing from estate.site_prefix, for sites that give no prefix of their own."""
    unsized: dict[SiteKind, list[SiteDraft]] = {}
    for s in r.sites.values():
        if s.prefix is None and s.block is None:
            unsized.setdefault(s.kind, []).append(s)
    for kind, sites in unsized.items():
        first = sites[0]
        more = f" (and {len(sites) - 1} more {kind} site(s))" if len(sites) > 1 else ""
        r.p.add(
            first.prefix_at[0],
            "prefix",
            f"{kind} site {first.name}{more} has no block size: estate.site_prefix "
            f"({r.est_src.at('site_prefix')}) has no {kind} entry, and neither the site nor its template gives "
            f"a prefix",
            f"add {kind}: {DEFAULT_SITE_PREFIX[kind]} to estate.site_prefix, or give the site a prefix:",
            "ip_plan",
        )
        r.where.unbuilt.update(s.name for s in sites)


def _parents(r: State):
    # docs/estate.md: counties hang off a city; everything else is carved from the supernet. This
    # also rules out parent cycles, which would leave sites without a block.
    for s in r.sites.values():
        if s.kind != "county":
            if s.parent:
                r.p.add(
                    s.src.at("parent"),
                    "parent",
                    f"site {s.name} is a {s.kind}; only a county has a parent",
                    "remove parent: (cities, the province and the DR site take their blocks from the supernet)",
                    "reference",
                )
                s.parent = None
        elif not s.parent:
            r.p.add(
                s.origin, "parent", f"county {s.name!r} has no parent city", "add parent: <city site name>", "reference"
            )
            s.parent_lost = True
        elif s.parent not in r.sites and s.parent in r.where.lost_sites:
            s.parent, s.parent_lost = None, True  # the city's own entry is reported
        elif s.parent not in r.sites:
            r.p.add(
                s.src.at("parent"),
                "parent",
                f"site {s.name!r} names unknown parent {s.parent!r}",
                suggest(s.parent, r.sites),
                "reference",
            )
            s.parent, s.parent_lost = None, True
        elif r.sites[s.parent].kind != "city":
            r.p.add(
                s.src.at("parent"),
                "parent",
                f"county {s.name}'s parent {s.parent} is a {r.sites[s.parent].kind}, not a city",
                "name the city the county hangs off",
                "reference",
            )
            s.parent, s.parent_lost = None, True


def _areas(r: State):
    """Province and DR site are the backbone (area 0); cities get 1..N; a county follows its city."""
    taken: dict[int, SiteDraft] = {}
    for s in r.sites.values():
        if s.area == "auto":
            continue
        at = s.src.at("ospf_area")
        if s.kind in ("province", "dr") and s.area != 0:
            r.p.add(
                at,
                "ospf_area",
                f"the {s.kind} site {s.name} is the OSPF backbone; it cannot be in area {s.area}",
                "use ospf_area: 0 or auto",
                "routing",
            )
            s.area = 0
            r.area_flagged.add(s.name)
        elif s.kind == "city" and s.area == 0:
            # Area 0 is the backbone of the province and the DR site; a city in it would make
            # every county link and city LAN part of the backbone's flooding scope.
            r.p.add(
                at,
                "ospf_area",
                f"city {s.name} is in OSPF area 0, the backbone of the province and the DR "
                "site; each city has its own area",
                "use ospf_area: auto, or a number from 1 that no other city uses",
                "routing",
            )
            r.area_flagged.add(s.name)
        elif s.kind == "city":
            if s.area in taken:
                r.p.add(
                    at,
                    "ospf_area",
                    f"OSPF area {s.area} is already city {taken[s.area].name}'s ({taken[s.area].src.at('ospf_area')})",
                    "give each city its own area, or use auto",
                    "routing",
                )
                r.area_flagged.add(s.name)
            taken.setdefault(s.area, s)
    city_no = 0
    for s in r.sites.values():
        if s.area == "auto":
            if s.kind in ("province", "dr"):
                s.area = 0
            elif s.kind == "city":
                city_no += 1
                while city_no in taken:  # auto steps around areas given explicitly
                    city_no += 1
                s.area = city_no
    for s in r.sites.values():
        parent = r.sites.get(s.parent) if s.parent else None
        if s.area == "auto":
            s.area = parent.area if parent and parent.area != "auto" else 0
        elif s.kind == "county" and parent and parent.area != "auto" and s.area != parent.area:
            r.p.add(
                s.src.at("ospf_area"),
                "ospf_area",
                f"county {s.name} is in OSPF area {s.area} but its city {parent.name} is in area {parent.area}",
                f"drop ospf_area (a county follows its city) or use {parent.area}",
                "routing",
            )
            r.area_flagged.add(s.name)


def carve_sites(r: State):
    est = r.est
    pinned = {s.name for s in r.sites.values() if s.block is not None}
    top = Pool(est.supernet)
    if est.links.block.subnet_of(est.supernet):
        top.reserve(est.links.block)
    children: dict[str | None, list[SiteDraft]] = {}
    for s in r.sites.values():
        children.setdefault(s.parent, []).append(s)

    def carve(pool: Pool, sites: list[SiteDraft], parent: SiteDraft | None):
        # A site's own loopback pool comes out of its block first, so a child site as big as
        # its parent can never fit; at the top, a site may take the whole supernet.
        smallest = pool.network.prefixlen + (1 if parent else 0)
        for s in sites:
            if s.block is not None:
                pool.reserve(s.block)
                # A prefix written in the entry is the site's own (an int): see build_sites.
                if (
                    s.prefix is not None
                    and s.block.subnet_of(pool.network)
                    and s.src.path + ("prefix",) in s.src.pos.lines
                ):
                    _size_agrees(r, s.block, s.prefix, s.src, "prefix")
        short = []
        for s in sites:
            if s.block is not None:
                continue
            if s.prefix is None:
                continue  # reported by _no_prefix
            if s.prefix < smallest:
                # Not a full pool but a prefix that can never fit: say so where it was set.
                origin, fieldname = s.prefix_at
                r.p.add(
                    origin,
                    fieldname,
                    f"a /{s.prefix} block for {s.kind} {s.name} cannot fit in {pool.network}",
                    f"use a prefix of /{smallest} or longer (smaller blocks)",
                    "ip_plan",
                )
                continue
            s.block = pool.allocate(s.prefix)
            if s.block is None:
                short.append(s)
        if short:
            # A full block is the block's problem, reported once where its size is set.
            origin, fieldname = (r.est_src.at("supernet"), "estate.supernet") if parent is None else parent.prefix_at
            owner = (
                f"the supernet {pool.network}"
                if parent is None
                else f"{parent.kind} {parent.name}'s block {pool.network}"
            )
            names = ", ".join(f"{s.name} (/{s.prefix})" for s in short[:4]) + (" …" if len(short) > 4 else "")
            r.p.add(
                origin,
                fieldname,
                f"{owner} is full: {len(short)} of its {len(sites)} sites get no block: {names}",
                "enlarge it (a shorter prefix), or give the sites smaller blocks",
                "ip_plan",
            )

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
            r.p.add(
                origin,
                fieldname,
                f"no room for a /{s.loopbacks} loopback pool in {s.name}'s block {s.block}",
                "enlarge the site block or shrink the loopback pool",
                "ip_plan",
            )
        for z, zsrc in s.zones:
            if z.block is not None and z.block.subnet_of(s.block) and "prefix" in z.model_fields_set:
                _size_agrees(r, z.block, z.prefix, zsrc, f"zones.{z.name}.prefix")
            blk = z.block or inner.allocate(z.prefix)
            if blk is None:
                r.p.add(
                    zsrc.at("prefix"),
                    f"zones.{z.name}.prefix",
                    f"no free /{z.prefix} left in {s.name}'s block {s.block} for zone {z.name}",
                    "enlarge the site block or shrink the zone prefix",
                    "ip_plan",
                )
            s.zone_blocks[z.name] = blk
        carve(inner, kids, s)
        order.extend(kids)
    displacing_blocks(r, pinned, children)
    _carve_management(r)


def _size_agrees(r: State, block, prefix: int, src, fieldname: str):
    """A block and a prefix written together must say the same size: the block wins, and the
    prefix the engineer also wrote would be ignored. A block outside its parent is reported as
    that (checks/ip_plan.py), not as this too."""
    if block.prefixlen != prefix:
        r.p.add(
            src.at("prefix"),
            fieldname,
            f"prefix /{prefix} disagrees with block {block}, a /{block.prefixlen}",
            "drop prefix: (the block sets the size), or make them agree",
            "ip_plan",
        )


def _carve_management(r: State):
    m = r.est.management
    if m.site_prefix < m.block.prefixlen:
        r.p.add(
            r.est_src.at("management", "site_prefix"),
            "estate.management.site_prefix",
            f"a /{m.site_prefix} management subnet per site cannot fit in the management block {m.block}",
            f"use a site_prefix of /{m.block.prefixlen} or longer, or a bigger management block",
            "ip_plan",
        )
        return
    pool = Pool(m.block)
    short = []
    for s in r.sites.values():
        s.mgmt_block = pool.allocate(m.site_prefix)
        if s.mgmt_block is None:
            short.append(s.name)
    if short:
        r.where.links_incomplete = True
        room = 2 ** (m.site_prefix - m.block.prefixlen)
        r.p.add(
            r.est_src.at("management", "block"),
            "estate.management.block",
            f"the management block {m.block} has room for {room} site subnets of /{m.site_prefix}, but "
            f"the estate has {len(r.sites)} sites; left without one: {', '.join(short[:4])}"
            f"{' …' if len(short) > 4 else ''}",
            "enlarge management.block, or lengthen management.site_prefix",
            "ip_plan",
        )
