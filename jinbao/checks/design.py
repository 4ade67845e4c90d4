"""Design rules on the resolved estate (docs/estate.md, MLPS 2.0 level 3) that need more than one entry."""

from __future__ import annotations

from ..model import ROUTING_ROLES, Estate
from ..problems import ProblemList
from . import at


def check(e: Estate, p: ProblemList, where) -> None:
    dr_members = {x for pair in e.dr_pairs for x in (pair.primary, pair.standby)}
    for d in e.devices.values():
        zone = e.sites[d.site].zones.get(d.zone) if d.site in e.sites and d.zone else None
        if d.role == "db_server" and zone is not None and zone.kind == "production" and d.name not in dr_members:
            p.add(
                d.origin,
                "dr_pairs",
                f"production database {d.name} has no DR pair",
                "add a dr_pairs: entry with it as primary and a standby at the DR site",
                "design",
            )
    _link_types(e, p, where)
    # A link is a routed /30 in an OSPF area: both ends must be devices that route.
    for link in e.links:
        for side, end in (("a", link.a), ("b", link.b)):
            dev = e.devices.get(end.device)
            if dev is not None and dev.role not in ROUTING_ROLES:
                p.add(
                    at(where.links.get(link.id), link.origin, side),
                    side,
                    f"link {link.id} ends on {dev.name}, a {dev.role}, which does not route",
                    f"end it on a device that routes ({', '.join(sorted(ROUTING_ROLES))})",
                    "design",
                )


def _link_types(e: Estate, p: ProblemList, where) -> None:
    """A link's type says what it joins: `dr` is the dedicated replication link between the
    provincial DC and the DR centre (docs/estate.md), `lan` stays inside one site. Drills and
    reports take a dr link for that one path; a city's link typed dr is a WAN link mislabelled."""
    for link in e.links:
        da, db = e.devices.get(link.a.device), e.devices.get(link.b.device)
        if da is None or db is None or da.site not in e.sites or db.site not in e.sites:
            continue
        sa, sb = e.sites[da.site], e.sites[db.site]
        joins = f"{sa.name} (a {sa.kind}) and {sb.name} (a {sb.kind})"
        if link.type == "dr" and {sa.kind, sb.kind} != {"province", "dr"}:
            p.add(
                at(where.links.get(link.id), link.origin, "type"),
                "type",
                f"link {link.id} is type dr, the replication link between the provincial DC and the DR site, but "
                f"joins {joins}",
                "use type: wan for this link; type: dr is for the province's link to the DR site only",
                "design",
            )
        elif link.type == "lan" and sa.name != sb.name:
            p.add(
                at(where.links.get(link.id), link.origin, "type"),
                "type",
                f"link {link.id} is type lan, a link inside one site, but joins {joins}",
                "use type: wan (or dr between the province and the DR site)",
                "design",
            )
