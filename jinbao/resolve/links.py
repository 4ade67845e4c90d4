"""Links: their ends, a subnet from the link block, an interface on each device, and the OSPF area."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

from ..ipalloc import Pool
from ..loader import Src
from ..model import Link, LinkEnd
from ..platforms import facts
from .state import State, interface_ip, suggest

_DEFAULT_COST = {"primary": 10, "backup": 100}


def build_links(r: State):
    plan = r.est.links
    pool = Pool(plan.block)
    pending = []
    seen: dict[tuple, str] = {}
    for rl, src in r.raw.links:
        for vars_ in r.for_each(rl.for_each, {}):
            ends = []
            for side in ("a", "b"):
                text = r.subst(getattr(rl, side), vars_, src, side)
                if text is None:
                    break
                dev, sep, iface = text.partition(":")
                if dev not in r.devices and r.where.lost(dev):
                    # Its own problem says why. A device of a built site that is missing leaves
                    # that site short of links; one of a lost site leaves nothing to check.
                    r.where.links_incomplete |= dev in r.where.unbuilt
                    break
                if dev not in r.devices:
                    r.p.add(
                        src.at(side),
                        side,
                        f"link end {dev!r} is not a device of the estate",
                        suggest(dev, r.devices),
                        "reference",
                    )
                    break
                bad = facts(r.devices[dev].raw.platform).interface_problem(iface) if sep else None
                if bad:
                    # Reported, and the end numbered automatically, so the link still counts
                    # for the design checks instead of leaving its city short of a carrier.
                    port = facts(r.devices[dev].raw.platform)
                    r.p.add(
                        src.at(side),
                        side,
                        f"link end {text!r}: {bad}",
                        f"name a port such as {port.interface_name(len(r.devices[dev].interfaces))}, "
                        f"or write {dev} alone to number it automatically",
                        "schema",
                    )
                    iface = ""
                ends.append((dev, iface or None))
            if len(ends) < 2:
                continue
            if ends[0][0] == ends[1][0]:
                r.p.add(
                    src.at("b"),
                    "b",
                    f"the link joins {ends[0][0]} to itself",
                    "end the link on another device",
                    "reference",
                )
                continue
            key = (frozenset(e[0] for e in ends), rl.type, " ".join((rl.carrier or "").split()).casefold(), rl.role)
            if key in seen:
                r.p.add(
                    src.at(),
                    "link",
                    f"this {rl.role} {rl.type} link between {ends[0][0]} and "
                    f"{ends[1][0]} on carrier {rl.carrier or '(none)'} repeats the one at {seen[key]}",
                    "remove one of the two (for_each links need {each} in a or b)",
                    "reference",
                )
                continue
            seen[key] = str(src.at())
            pending.append((rl, src, ends))
            if rl.subnet is not None:
                pool.reserve(rl.subnet)
    r.links = []
    seen_ids: dict[str, int] = {}
    short = 0
    for rl, src, ends in pending:
        subnet = rl.subnet or (pool.allocate(plan.prefix) if plan.prefix >= plan.block.prefixlen else None)
        if subnet is None:
            short += 1
            continue
        hosts = _two_ends(subnet)
        if hosts is None:
            r.p.add(
                src.at("subnet"), "subnet", f"{subnet} has room for fewer than two ends", "use a /30 or /31", "ip_plan"
            )
            continue
        (da, _ia), (db, _ib) = ends
        if not _interfaces_free(r, ends, src):
            continue
        base_id = f"{da}~{db}"
        seen_ids[base_id] = seen_ids.get(base_id, 0) + 1
        lid = base_id if seen_ids[base_id] == 1 else f"{base_id}#{seen_ids[base_id]}"
        ips = [interface_ip(hosts[0], subnet), interface_ip(hosts[1], subnet)]
        link_ends = []
        for (dev, iface), ip, other in zip(ends, ips, (db, da), strict=False):
            d = r.devices[dev]
            made = r.add_interface(
                d,
                ip,
                link=lid,
                name=iface,
                description=f"{rl.type} to {other}" + (f" ({rl.carrier}, {rl.role})" if rl.carrier else ""),
            )
            link_ends.append(LinkEnd(device=dev, interface=made.name, ip=ip))
        site_a, site_b = r.devices[da].site, r.devices[db].site
        area_a, area_b = r.sites[site_a].area, r.sites[site_b].area
        assert area_a != "auto" and area_b != "auto"  # sites._areas numbered every site
        if area_a and area_b and area_a != area_b and not {site_a, site_b} & r.area_flagged:
            r.p.add(
                src.at(),
                "ospf_area",
                f"link {lid} joins OSPF areas {area_a} and {area_b}",
                "links may join area 0 to one area, or stay inside one area",
                "routing",
            )
        r.links.append(
            Link(
                id=lid,
                type=rl.type,
                a=link_ends[0],
                b=link_ends[1],
                carrier=rl.carrier,
                medium=rl.medium,
                bandwidth_mbps=rl.bandwidth,
                role=rl.role,
                subnet=subnet,
                ospf_area=area_a or area_b or 0,
                cost=rl.cost or _DEFAULT_COST[rl.role],
                description=rl.description or "",
                origin=src.at(),
            )
        )
        r.where.links[lid] = src
    if short:
        r.where.links_incomplete = True
        room = 2 ** (plan.prefix - plan.block.prefixlen) if plan.prefix >= plan.block.prefixlen else 0
        r.p.add(
            r.est_src.at("links", "block"),
            "estate.links.block",
            f"the link block {plan.block} has room for {room} /{plan.prefix} links, but the estate has "
            f"{len(pending)}; {short} are left without a subnet",
            "enlarge estate.links.block",
            "ip_plan",
        )


def _interfaces_free(r: State, ends, src: Src) -> bool:
    ok = True
    for side, (dev, iface) in zip(("a", "b"), ends, strict=False):
        if iface and any(i.name == iface for i in r.devices[dev].interfaces):
            r.p.add(
                src.at(side),
                side,
                f"{dev} already has an interface named {iface}",
                f"name another interface, or drop ':{iface}' to number it automatically",
                "reference",
            )
            ok = False
    return ok


def _two_ends(subnet: IPv4Network) -> tuple[IPv4Address, IPv4Address] | None:
    """The two end addresses of a point-to-point subnet; never lists a big subnet's hosts."""
    if subnet.prefixlen == 32:
        return None
    if subnet.prefixlen == 31:
        return subnet.network_address, subnet.broadcast_address
    return subnet.network_address + 1, subnet.network_address + 2
