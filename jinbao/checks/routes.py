"""Static routes and announced prefixes: what a device may route by hand, and what it may originate.

A static route's next hop must be a neighbour on one of the device's connected subnets (a zone or
a link; never the out-of-band management network, which is not routed), and each route is given
once. An announced prefix is originated into OSPF by a routing device, so it must not take in any
of the address space the estate allocates (supernet, link block, management block): a router
announcing it would pull that traffic towards itself. Nor may two announcements overlap.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

from ..model import ROUTING_ROLES, Device, Estate
from ..problems import ProblemList
from . import at

_ROUTING = "a router, core switch or firewall"


def check(e: Estate, p: ProblemList, where) -> None:
    announced: list[tuple[IPv4Network, str, object]] = []  # (prefix, device, origin), in order
    carried = _ospf_routes(e) if any(d.static_routes for d in e.devices.values()) else []
    for d in e.devices.values():
        src = where.devices.get(d.name)
        _static_routes(d, p, src)
        _overrides(d, carried, p, src)
        for i, net in enumerate(d.announce):
            origin = at(src, d.origin, "announce", i)
            if d.role not in ROUTING_ROLES or d.loopback is None:
                why = "has no loopback" if d.role in ROUTING_ROLES else f"has role {d.role}, which does not route"
                p.add(
                    origin,
                    f"announce[{i}]",
                    f"{d.name} {why}, so it runs no OSPF and cannot announce {net}",
                    f"announce it from {_ROUTING} with a loopback (loopback: true)",
                    "routing",
                )
                continue
            hit = _estate_block(e, net)
            if hit:
                p.add(
                    origin,
                    f"announce[{i}]",
                    f"{net} overlaps {hit}, whose addresses the estate allocates itself",
                    f"announce a prefix outside the supernet {e.supernet}, the link block {e.link_block} and the "
                    f"management block {e.mgmt_block}",
                    "ip_plan",
                )
                continue
            other = next(((n, dev, o) for n, dev, o in announced if n.overlaps(net)), None)
            if other:
                n, dev, o = other
                what = f"{net} is" if n == net else f"{net} overlaps {n},"
                p.add(
                    origin,
                    f"announce[{i}]",
                    f"{what} already announced by {dev}" + (f" at {o}" if o else ""),
                    "let one device announce each prefix (remove or narrow one of them)",
                    "ip_plan",
                )
                continue
            announced.append((net, d.name, origin))


def _estate_block(e: Estate, net: IPv4Network) -> str | None:
    for block, what in (
        (e.supernet, "the supernet"),
        (e.link_block, "the link block"),
        (e.mgmt_block, "the management block"),
    ):
        if net.overlaps(block):
            return f"{what} {block}"
    return None


def _static_routes(d: Device, p: ProblemList, src) -> None:
    if d.static_routes and d.role not in ROUTING_ROLES:
        p.add(
            at(src, d.origin, "static_routes"),
            "static_routes",
            f"{d.name} has role {d.role}; only {_ROUTING} takes static routes here",
            "put the route on the router or firewall that serves this device's zone",
            "routing",
        )
        return
    connected = [i.ip for i in d.interfaces if i.ip is not None]
    own = {i.ip for i in connected}
    seen: dict[tuple, int] = {}
    for k, r in enumerate(d.static_routes):
        key = (r.prefix, r.via)
        via = "null0" if r.via == "null0" else str(r.via)
        if key in seen:
            p.add(
                at(src, d.origin, "static_routes", k),
                f"static_routes[{k}]",
                f"the route to {r.prefix} via {via} is already given (static_routes[{seen[key]}])",
                "give each route once; a backup path takes another next hop and a higher distance",
                "reference",
            )
            continue
        seen[key] = k
        if isinstance(r.via, IPv4Address):
            why = _next_hop_problem(r.via, connected, own)
            if why:
                subnets = ", ".join(str(i.network) for i in connected) or "none"
                p.add(
                    at(src, d.origin, "static_routes", k, "via"),
                    f"static_routes[{k}].via",
                    f"{d.name}'s route to {r.prefix}: next hop {r.via} {why}",
                    f"use a neighbour's address on one of {d.name}'s connected subnets ({subnets}), or null0",
                    "routing",
                )


def _next_hop_problem(via: IPv4Address, connected, own) -> str | None:
    if via in own:
        return "is the device's own address"
    for iface in connected:
        net = iface.network
        if via in net:
            if net.prefixlen < 31 and via in (net.network_address, net.broadcast_address):
                return f"is the network or broadcast address of {net}"
            return None
    return "is not on any of its connected subnets"


def _ospf_routes(e: Estate) -> list[tuple[IPv4Network, str]]:
    """The prefixes OSPF carries for the estate's own addresses: zones, links and loopbacks."""
    out = [(z.block, f"zone {s.name}/{z.name}") for s in e.sites.values() for z in s.zones.values()]
    for link in e.links:
        out.append((link.a.ip.network, f"link {link.id}"))
    for d in e.devices.values():
        if d.loopback is not None and d.role in ROUTING_ROLES:
            out.append((IPv4Network(d.loopback), f"{d.name}'s loopback"))
    return out


def _overrides(d: Device, carried: list[tuple[IPv4Network, str]], p: ProblemList, src) -> None:
    # A static route wins over OSPF by distance (1 against 110) for the same or a longer prefix:
    # one to a zone, a link or a loopback would take that traffic off the path OSPF chose, or
    # drop it (null0). A shorter summary (a discard route for a site block) leaves the longer
    # OSPF routes in charge, and is fine.
    for k, r in enumerate(d.static_routes):
        hit = next(((net, what) for net, what in carried if r.prefix.subnet_of(net)), None)
        if hit is None:
            continue
        net, what = hit
        via = "null0" if r.via == "null0" else str(r.via)
        p.add(
            at(src, d.origin, "static_routes", k, "prefix"),
            f"static_routes[{k}].prefix",
            f"{d.name}'s route to {r.prefix} via {via} lies inside {what} ({net}), which OSPF already carries: "
            f"the static route would win over OSPF and take that traffic off its path",
            "remove the route (OSPF reaches it), or route a prefix outside the estate's zones, links and loopbacks",
            "routing",
        )
