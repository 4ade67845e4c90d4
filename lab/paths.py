"""The intended forwarding path to every loopback, computed from the estate as OSPF would.

"Converged" means traffic flows the way the design says, not only that adjacencies are Full:
after a link comes back, adjacencies are Full within about 2 s while traffic returns to the
primary 10 s later. So the lab compares each router's kernel routes with the next hops
computed here.

The model is OSPF's (RFC 2328 section 16): a router reaches a destination in an area it is
attached to by the shortest path inside that area (intra-area routes win whatever their cost);
otherwise through an area border router, taking the cheapest (distance to the ABR + the ABR's
own cost to the destination). An ABR itself reads only summaries heard over the backbone.
Equal-cost paths keep every first hop (ECMP). Pure computation; nothing here touches the system.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass
from ipaddress import IPv4Address

from jinbao.intent import interface_cost

from .topology import LabPlan


@dataclass(frozen=True)
class Hop:
    """A first hop: leave by this interface towards this neighbour address."""

    iface: str
    gateway: IPv4Address


@dataclass(frozen=True)
class _Edge:
    to: str
    cost: int
    hop: Hop
    area: int


def _edges(p: LabPlan) -> dict[str, list[_Edge]]:
    """OSPF adjacencies of every FRR node, with the sender's outgoing cost and area."""
    e = p.estate
    out: dict[str, list[_Edge]] = defaultdict(list)
    frr = {n for n, node in p.nodes.items() if node.runs_frr}
    links = {l.id: l for l in e.links}

    def cost(device: str, iface: str) -> int:
        # The cost the rendered config gives this interface (one function for both).
        return interface_cost(e.devices[device].interface(iface), links, e.ospf)

    for l in p.links:
        if l.a.device in frr and l.b.device in frr:
            out[l.a.device].append(
                _Edge(l.b.device, cost(l.a.device, l.a.interface), Hop(l.a.interface, l.b.ip.ip), l.ospf_area)
            )
            out[l.b.device].append(
                _Edge(l.a.device, cost(l.b.device, l.b.interface), Hop(l.b.interface, l.a.ip.ip), l.ospf_area)
            )
    for seg in p.segments:
        zone = e.sites[seg.site].zones[seg.zone]
        if zone.kind != "core":
            continue  # guarded zones are passive (see topology.expected_neighbors)
        area = e.sites[seg.site].ospf_area
        ports = [port for port in seg.ports if port.node in frr and port.ip]
        for a in ports:
            for b in ports:
                if a.node != b.node:
                    out[a.node].append(_Edge(b.node, cost(a.node, a.iface), Hop(a.iface, b.ip.ip), area))
    return out


def _areas(p: LabPlan, edges: dict[str, list[_Edge]]) -> dict[str, set[int]]:
    areas: dict[str, set[int]] = {}
    for name, node in p.nodes.items():
        if node.runs_frr:
            areas[name] = {ed.area for ed in edges.get(name, [])} | {p.estate.sites[node.device.site].ospf_area}
    return areas


def _spf(src: str, edges: dict[str, list[_Edge]], area: int) -> dict[str, tuple[int, frozenset[Hop]]]:
    """Dijkstra inside one area: cost and the set of equal-cost first hops to each router."""
    best: dict[str, tuple[int, frozenset[Hop]]] = {src: (0, frozenset())}
    heap = [(0, src)]
    done = set()
    while heap:
        d, u = heapq.heappop(heap)
        if u in done:
            continue
        done.add(u)
        for ed in edges.get(u, []):
            if ed.area != area:
                continue
            nd = d + ed.cost
            hops = frozenset({ed.hop}) if u == src else best[u][1]
            cur = best.get(ed.to)
            if cur is None or nd < cur[0]:
                best[ed.to] = (nd, hops)
                heapq.heappush(heap, (nd, ed.to))
            elif nd == cur[0] and ed.to not in done:
                best[ed.to] = (nd, cur[1] | hops)
    return best


def intended_routes(p: LabPlan) -> dict[str, dict[IPv4Address, frozenset[Hop]]]:
    """For every FRR node: each other router's loopback → the first hops OSPF should use."""
    edges = _edges(p)
    areas = _areas(p, edges)
    abrs = {n for n, a in areas.items() if 0 in a and len(a) > 1}
    spf = {(n, a): _spf(n, edges, a) for n, node_areas in areas.items() for a in node_areas}
    loopbacks = {n: p.nodes[n].device.loopback for n in areas if p.nodes[n].device.loopback}
    home = {n: p.estate.sites[p.nodes[n].device.site].ospf_area for n in areas}

    def intra(src: str, dst: str) -> tuple[int, frozenset[Hop]] | None:
        area = home[dst]
        return spf[(src, area)].get(dst) if area in areas[src] else None

    def route(src: str, dst: str) -> tuple[int, frozenset[Hop]] | None:
        found = intra(src, dst)
        if found:
            return found
        # An ABR uses only summaries heard over the backbone; an internal router, its areas' ABRs.
        best: tuple[int, frozenset[Hop]] | None = None
        for a in [0] if src in abrs else sorted(areas[src]):
            for b in abrs:
                if b == src or b not in spf[(src, a)] or home[dst] == a:
                    continue
                # Into the backbone an ABR summarises only its own intra-area routes; into
                # another area, also what it learned over the backbone.
                onward = intra(b, dst) if a == 0 else route(b, dst)
                if onward is None:
                    continue
                to_b, hops = spf[(src, a)][b]
                total = to_b + onward[0]
                if best is None or total < best[0]:
                    best = (total, hops)
                elif total == best[0]:
                    best = (total, best[1] | hops)
        return best

    out: dict[str, dict[IPv4Address, frozenset[Hop]]] = {}
    for src in areas:
        out[src] = {}
        for dst, lo in loopbacks.items():
            if dst != src:
                r = route(src, dst)
                out[src][lo] = r[1] if r else frozenset()
    return out
