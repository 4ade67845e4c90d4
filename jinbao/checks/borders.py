"""Zone borders: a guarded zone is entered only through its firewall, and every policy lands on the
firewalls it crosses.

The render (jinbao/intent) puts a policy on a firewall from the interfaces it has: one in each zone
it guards (their gateway) and one in its own zone, the site's core, through which every other zone
is reached. A firewall outside core, or a router inside a guarded zone, still renders, into a
config that drops a path the inventory allows or opens one it does not, so both are refused here.
"""

from __future__ import annotations

from ..intent.build import firewall_rules
from ..model import ROUTING_ROLES, Device, Estate, Site
from ..problems import ProblemList
from . import at


def check(e: Estate, p: ProblemList, where) -> None:
    placed_wrong = set()
    coreless = set()
    for s in e.sites.values():
        if not _cores(s) and any(z.firewall for z in s.zones.values()):
            coreless.add(s.name)
            p.add(
                at(where.sites.get(s.name), s.origin, "zones"),
                "zones",
                f"site {s.name} has zones behind firewalls but no core zone (kind: core), where its routers and "
                "border firewalls meet",
                "make the zone its routers sit in kind: core (it needs no firewall), or add one",
                "design",
            )
    for d in e.devices.values():
        site = e.sites.get(d.site)
        if site is None or d.role not in ROUTING_ROLES or d.site in coreless:
            continue
        if _placement(e, site, d, p, where):
            placed_wrong.add(d.name)
    for link in e.links:
        for side, end in (("a", link.a), ("b", link.b)):
            dev = e.devices.get(end.device)
            if dev is not None and dev.role == "firewall":
                p.add(
                    at(where.links.get(link.id), link.origin, side),
                    side,
                    f"link {link.id} ends on {dev.name}, a firewall: its port would be in no zone, so the "
                    "firewall's default deny drops everything that arrives over the link",
                    f"end the link on a router of site {dev.site} (wan_router, access_router or core_switch)",
                    "design",
                )
    _unguarded_policies(e, p)
    # The last word, on an estate nothing else faulted: every policy is on every firewall it
    # crosses. Any earlier problem refuses the estate already, and most likely is the reason.
    if not p:
        _rendered_policies(e, p, placed_wrong)


def _cores(site: Site) -> list[str]:
    return [z.name for z in site.zones.values() if z.kind == "core"]


def _placement(e: Estate, site: Site, d: Device, p: ProblemList, where) -> bool:
    """Whether d sits where it can route: a firewall in core, beside the zones it guards; a router
    outside every guarded zone."""
    guards = [z.name for z in site.zones.values() if z.firewall == d.name]
    zone = site.zones.get(d.zone) if d.zone else None
    cores = _cores(site)  # a site with guarded zones and no core is reported as a whole
    into = f"zone: {cores[0]}" if cores else "a zone of kind core"
    origin = at(where.devices.get(d.name), d.origin, "zone")
    # A zone naming a firewall that is not there (or not this site's) is reported at the zone
    # (checks.references); the firewall meant then guards nothing, which says nothing new.
    misnamed = any(z.firewall and not _firewall_of(e, z.firewall, site.name) for z in site.zones.values())
    if d.role == "firewall" and not guards and not misnamed:
        # No zone names it, so it renders an empty ruleset: a border device that guards nothing,
        # most often a zone's firewall: written with another name.
        p.add(
            at(where.devices.get(d.name), d.origin, "name"),
            "name",
            f"firewall {d.name} guards no zone: no zone of site {d.site} names it (firewall: {d.name}), so it "
            "enforces no policy",
            f"name it on the zone it guards (firewall: {d.name}), or remove the device or give it another role",
            "design",
        )
        return True
    if d.role == "firewall" and guards:
        shown = ", ".join(guards)
        if d.zone is None:
            p.add(
                at(where.devices.get(d.name), d.origin),
                "zone",
                f"firewall {d.name} guards {shown} but has no zone of its own, so no interface in core: "
                "the rest of the site could not reach the zones it guards, and their policies would not be rendered",
                f"add {into} to {d.name}",
                "design",
            )
            return True
        if zone is None:
            return False  # an unknown zone is reported where the device was built
        if d.zone in guards and zone.kind == "core":
            return False  # a firewall on core itself is reported on the zone (checks.written)
        if d.zone in guards:
            p.add(
                origin,
                "zone",
                f"firewall {d.name} sits in {d.zone}, a zone it guards, so it has no interface in core: "
                f"the policies between {d.zone} and the rest of the site would be dropped",
                f"put it in {into}; it takes its gateway address in {d.zone} from guarding it",
                "design",
            )
            return True
        if zone.kind != "core":
            p.add(
                origin,
                "zone",
                f"firewall {d.name} sits in {d.zone} (a {zone.kind} zone), outside core, where the site's "
                f"routers reach the zones it guards ({shown})",
                f"put it in {into}",
                "design",
            )
            return True
        return False
    if zone is not None and zone.kind != "core" and zone.firewall not in (None, d.name):
        p.add(
            origin,
            "zone",
            f"{d.name} is a {d.role}, which routes, inside {d.zone}, the zone {zone.firewall} guards: "
            f"traffic routed through it would enter {d.zone} around its firewall",
            f"put it in {into}; a guarded zone is entered only through its firewall",
            "design",
        )
        return True
    return False


def _firewall_of(e: Estate, name: str, site: str) -> bool:
    fw = e.devices.get(name)
    return fw is not None and fw.site == site and fw.role == "firewall"


def _unguarded_policies(e: Estate, p: ProblemList) -> None:
    """A policy between two zones no firewall stands between allows what is allowed anyway."""
    for pol in e.policies:
        site = e.sites.get(pol.site)
        zones = [site.zones.get(z) for z in (pol.from_zone, pol.to_zone)] if site else []
        if len(zones) != 2 or None in zones or pol.from_zone == pol.to_zone:
            continue  # an unknown site or zone, or one zone twice, is reported by checks.references
        if all(z.kind == "core" and z.firewall is None for z in zones if z is not None):
            p.add(
                pol.origin,
                "to",
                f"no firewall stands between {pol.from_zone} and {pol.to_zone} at site {pol.site} (both are core "
                "zones): the policy would be enforced nowhere",
                "remove the entry; a policy is for a zone behind a firewall (firewall: on the zone)",
                "design",
            )


def _rendered_policies(e: Estate, p: ProblemList, skip: set[str]) -> None:
    on: dict[str, set[tuple[str, str]]] = {}
    for d in e.devices.values():
        if d.role == "firewall" and d.name not in skip:
            on[d.name] = {(r.flow_from, r.flow_to) for r in firewall_rules(e, d)}
    for pol in e.policies:
        site = e.sites[pol.site]
        for fieldname, zname in (("from", pol.from_zone), ("to", pol.to_zone)):
            fw = site.zones[zname].firewall
            if fw in on and (pol.from_zone, pol.to_zone) not in on[fw]:
                p.add(
                    pol.origin,
                    fieldname,
                    f"the policy {pol.from_zone} -> {pol.to_zone} at site {pol.site} would not be rendered on "
                    f"{fw}, the firewall of {zname}: it has no interface the flow could cross",
                    f"give {fw} a zone of kind core (zone: {(_cores(site) or ['core'])[0]}) and the zone {zname} "
                    "(firewall: on the zone)",
                    "design",
                )
