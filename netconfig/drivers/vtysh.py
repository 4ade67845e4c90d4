"""Reading FRR through vtysh: OSPF neighbours and routes, as JSON.

Shared by the FRR driver and the nftables driver (the lab's firewalls run FRR to advertise the
zones they guard).
"""

from __future__ import annotations

import json
import re
from typing import Any

from .base import DriverError, OspfNeighbor, RouteEntry, Routes, destination
from .ssh import Shell, q


def vtysh_json(sh: Shell, command: str) -> Any:
    out = sh.check(f"vtysh -c {q(command)} 2>/dev/null", what=f"vtysh -c {command!r}")
    return json.loads(out or "{}")


def ospf_neighbors(sh: Shell) -> list[OspfNeighbor]:
    """FRR's OSPF adjacencies (shared with the nftables driver: the lab's firewalls run FRR too)."""
    return neighbors_of(vtysh_json(sh, "show ip ospf neighbor json"))


def neighbors_of(data: dict) -> list[OspfNeighbor]:
    """`show ip ospf neighbor json` as OspfNeighbor entries."""
    found = []
    for rid, entries in data.get("neighbors", {}).items():
        for n in entries:
            found.append(
                OspfNeighbor(
                    router_id=rid,
                    address=n.get("ifaceAddress") or n.get("address", ""),
                    interface=n.get("ifaceName", "").split(":")[0],
                    state=n.get("nbrState") or n.get("state", ""),
                )
            )
    return sorted(found, key=lambda n: (n["interface"], n["router_id"]))


def route_to(sh: Shell, to: str, longer: bool = False) -> Routes:
    """The route FRR would use to reach `to` (an address: longest match; a prefix: that prefix),
    or with longer (NAPALM's meaning) every route within the prefix, in one call."""
    dest = destination(to)
    if longer:
        dest = (dest if "/" in dest else f"{dest}/32") + " longer-prefixes"
    return routes_of(vtysh_json(sh, f"show ip route {dest} json"))


def routes_of(data: dict) -> Routes:
    """`show ip route ... json` in NAPALM's get_route_to shape."""
    routes: Routes = {}
    for prefix, entries in data.items():
        for e in entries:
            for nh in e.get("nexthops", []) or [{}]:
                routes.setdefault(prefix, []).append(
                    RouteEntry(
                        protocol=e.get("protocol", ""),
                        current_active=bool(e.get("selected")) and bool(nh.get("active", True)),
                        next_hop=nh.get("ip", ""),
                        outgoing_interface=nh.get("interfaceName", ""),
                        preference=int(e.get("distance", 0)),
                        age=_seconds(e.get("uptime", "")),
                        routing_table=e.get("vrfName", "default"),
                    )
                )
    return routes


# What a state check reads, in one vtysh run: every adjacency and the whole IPv4 table.
STATE_SHOWS = ("show ip ospf neighbor json", "show ip route 0.0.0.0/0 longer-prefixes json")


def json_docs(text: str, count: int, what: str) -> list[Any]:
    """The count JSON documents vtysh printed back to back (one per -c), or DriverError."""
    dec, docs, i = json.JSONDecoder(), [], 0
    while len(docs) < count:
        while i < len(text) and text[i].isspace():
            i += 1
        try:
            doc, i = dec.raw_decode(text, i)
        except ValueError:
            raise DriverError(f"{what}: expected {count} JSON documents from vtysh, read {len(docs)}") from None
        docs.append(doc)
    return docs


def _seconds(uptime: str) -> int:
    # FRR prints hh:mm:ss under a day, then forms like "1d02h03m"; the latter is left unknown.
    m = re.fullmatch(r"(\d+):(\d\d):(\d\d)", uptime)
    return int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3]) if m else -1
