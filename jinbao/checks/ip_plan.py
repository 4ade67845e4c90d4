"""The IP plan: no address used twice, every address inside its subnet, every block inside its
parent and apart from its siblings, and both ends of a link in one /30 or /31."""

from __future__ import annotations

from ..model import Estate
from ..problems import ProblemList
from . import at, was_written


def check(e: Estate, p: ProblemList, where) -> None:
    _addresses(e, p, where)
    _subnets(e, p, where)


def _addresses(e: Estate, p: ProblemList, where) -> None:
    # Management addresses live on the out-of-band network and are claimed apart: if its block
    # overlaps the supernet, that overlap is the one problem (at management.block), not a
    # collision on every device. An address outside its own subnet is reported as such.
    data: dict[int, str] = {}
    mgmt: dict[int, str] = {}

    def claim(addr, what, origin, field, seen=data):
        key = int(addr)
        if key in seen:
            p.add(
                origin,
                field,
                f"{addr} ({what}) is already used by {seen[key]}",
                "give one of them another address, or drop the explicit one to allocate it",
                "ip_plan",
            )
        else:
            seen[key] = what

    # A link whose subnet is outside the link block is reported once, at its line; its two
    # addresses then collide with whatever they landed on, which says nothing new.
    stray_links = {l.id for l in e.links if not l.subnet.subnet_of(e.link_block)}
    stray_zones = {
        (s.name, z.name) for s in e.sites.values() for z in s.zones.values() if not z.block.subnet_of(s.block)
    }
    for d in e.devices.values():
        site = e.sites.get(d.site)
        src = where.devices.get(d.name)
        if site and d.mgmt_ip not in site.mgmt_block:
            p.add(
                at(src, d.origin, "mgmt_ip"),
                "mgmt_ip",
                f"{d.name} management address {d.mgmt_ip} is outside {site.name}'s management subnet {site.mgmt_block}",
                f"use an address in {site.mgmt_block} or drop it",
                "ip_plan",
            )
        else:
            # An address written by hand is reported at its own line (in a template: once).
            claim(
                d.mgmt_ip,
                f"{d.name} management",
                src.at("mgmt_ip") if was_written(src, "mgmt_ip") else d.origin,
                "mgmt_ip",
                mgmt,
            )
        if d.loopback is not None:
            if site and d.loopback not in site.loopback_pool:
                p.add(
                    at(src, d.origin, "loopback"),
                    "loopback",
                    f"{d.name} loopback {d.loopback} is outside {site.name}'s loopback pool {site.loopback_pool}",
                    "use an address of that pool, or loopback: true",
                    "ip_plan",
                )
            else:
                claim(
                    d.loopback,
                    f"{d.name} loopback",
                    src.at("loopback") if was_written(src, "loopback") else d.origin,
                    "loopback",
                )
        for i in d.interfaces:
            if i.ip is None or i.link in stray_links or (d.site, i.zone) in stray_zones:
                continue
            if i.zone and site and i.zone in site.zones and i.ip.network != site.zones[i.zone].block:
                p.add(at(src, d.origin, "ip"), "ip", *_outside_zone(d.name, i, site.zones[i.zone].block), "ip_plan")
                continue
            claim(i.ip.ip, f"{d.name} {i.name}", d.origin, f"interfaces.{i.name}")
    for l in e.links:
        if l.a.ip.network != l.b.ip.network or l.a.ip.network.prefixlen not in (30, 31):
            p.add(
                at(where.links.get(l.id), l.origin, "subnet"),
                "subnet",
                f"link {l.id} ends {l.a.ip} and {l.b.ip} are not in one /30 or /31",
                "give the link a /30 or /31 subnet",
                "ip_plan",
            )


def _outside_zone(device: str, i, block) -> tuple[str, str]:
    """Message and fix for an interface address that is not in its zone's block. An address
    inside the block with the wrong prefix length (`ip: 10.90.0.70`, read as /32) is a missing
    or wrong prefix length, not a wrong address."""
    if i.ip.ip in block and i.ip.network.prefixlen == 32:
        return (
            f"{device} address {i.ip.ip} has no prefix length (it reads as /32); zone {i.zone}'s block is {block}",
            f"write the zone's prefix length: ip: {i.ip.ip}/{block.prefixlen}",
        )
    if i.ip.ip in block:
        return (
            f"{device} address {i.ip} has prefix length /{i.ip.network.prefixlen}, but zone {i.zone}'s block is "
            f"{block}",
            f"write the zone's prefix length: ip: {i.ip.ip}/{block.prefixlen}",
        )
    bare = " (written without a prefix length)" if i.ip.network.prefixlen == 32 else ""
    return (
        f"{device} address {i.ip.ip if bare else i.ip}{bare} is not in zone {i.zone}'s block {block}",
        f"use an address of {block}, with its prefix length (e.g. {block.network_address + 2}/{block.prefixlen})",
    )


def _subnets(e: Estate, p: ProblemList, where) -> None:
    """Siblings must not overlap and must sit inside their parent block."""

    def group(parent, parent_name, members, notes=None):
        inside = []
        for m in members:
            net, label, origin, field = m
            if parent is not None and not net.subnet_of(parent):
                p.add(
                    origin,
                    field,
                    f"{label} {net} is outside {parent_name} {parent}{(notes or {}).get(label, '')}",
                    f"choose a block inside {parent}, or drop it to allocate one",
                    "ip_plan",
                )
            else:
                inside.append(m)  # a stray block is that one problem, not an overlap with each sibling
        ordered = sorted(inside, key=lambda m: (int(m[0].network_address), -m[0].num_addresses))
        last = None
        for m in ordered:
            if last is not None and int(m[0].network_address) <= int(last[0].broadcast_address):
                p.add(
                    m[2],
                    m[3],
                    f"{m[1]} {m[0]} overlaps {last[1]} {last[0]}",
                    "give one of them a block of its own, or drop it to allocate one",
                    "ip_plan",
                )
            if last is None or int(m[0].broadcast_address) > int(last[0].broadcast_address):
                last = m

    est = where.estate
    link_block = (e.link_block, "the link block", at(est, None, "links", "block"), "estate.links.block")
    mgmt_block = (e.mgmt_block, "the management block", at(est, None, "management", "block"), "estate.management.block")

    def site_at(s):
        src = where.sites.get(s.name)
        return src.at("block") if was_written(src, "block") else s.origin

    top = [(s.block, f"site {s.name}", site_at(s), "block") for s in e.sites.values() if s.parent is None]
    top.append(link_block)
    # The management network is out of band (docs/estate.md): its block lies outside the supernet
    # and the link block. An overlap is one problem, at the block whose value lies inside the
    # other's (a link block typed into the management range is the link block's mistake), or
    # at management.block naming both lines.
    link_in_mgmt = e.link_block.subnet_of(e.mgmt_block) and not e.mgmt_block.overlaps(e.supernet)
    notes = (
        {"the link block": f", and inside the management block {e.mgmt_block} ({mgmt_block[2]})"}
        if link_in_mgmt
        else {}
    )
    group(e.supernet, "the supernet", top, notes)
    if e.mgmt_block.overlaps(e.supernet) or (e.mgmt_block.overlaps(e.link_block) and not link_in_mgmt):
        hit = [f"{label} {net}" for net, label, _, _ in top if net.overlaps(e.mgmt_block)]
        other = (
            f"the supernet {e.supernet}"
            if e.mgmt_block.overlaps(e.supernet)
            else f"the link block {e.link_block} ({link_block[2]})"
        )
        what = ", ".join(hit[:3]) + (f" and {len(hit) - 3} more" if len(hit) > 3 else "")
        p.add(
            mgmt_block[2],
            mgmt_block[3],
            f"the management block {e.mgmt_block} overlaps {other}" + (f", taking in {what}" if hit else ""),
            "give the out-of-band management network a block of its own, outside the supernet",
            "ip_plan",
        )
    children: dict[str, list] = {}
    for c in e.sites.values():
        if c.parent:
            children.setdefault(c.parent, []).append(c)
    for s in e.sites.values():
        inner = [
            (
                z.block,
                f"zone {s.name}/{z.name}",
                at(where.zones.get((s.name, z.name)), z.origin, "block"),
                f"zones.{z.name}.block",
            )
            for z in s.zones.values()
        ]
        inner.append((s.loopback_pool, f"{s.name} loopback pool", s.origin, "loopbacks"))
        inner += [(c.block, f"site {c.name}", site_at(c), "block") for c in children.get(s.name, [])]
        group(s.block, f"site {s.name}'s block", inner)
    group(
        e.link_block,
        "the link block",
        [(l.subnet, f"link {l.id}", at(where.links.get(l.id), l.origin, "subnet"), "subnet") for l in e.links],
    )
    group(
        e.mgmt_block,
        "the management block",
        [(s.mgmt_block, f"{s.name} management subnet", s.origin, "management") for s in e.sites.values()],
    )
