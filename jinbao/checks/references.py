"""Names that must point at something: zone firewalls, the zones of a policy, DR pair devices."""

from __future__ import annotations

from ..model import Estate, Policy
from ..names import did_you_mean
from ..problems import ProblemList
from . import at


def check(e: Estate, p: ProblemList, where) -> None:
    for s in e.sites.values():
        for z in s.zones.values():
            if z.firewall is None:
                continue
            origin = at(where.zones.get((s.name, z.name)), z.origin, "firewall")
            fw = e.devices.get(z.firewall)
            if fw is None and where.lost(z.firewall):
                continue
            if fw is None:
                here = [d.name for d in e.devices.values() if d.site == s.name and d.role == "firewall"]
                p.add(
                    origin,
                    f"zones.{z.name}.firewall",
                    f"zone {s.name}/{z.name} names firewall {z.firewall!r}, which is not a device",
                    did_you_mean(z.firewall, here, "name a firewall device of this site"),
                    "reference",
                )
            elif fw.site != s.name and z.firewall in where.duplicated:
                continue  # the second device of that name, at this site, is reported as a duplicate
            elif fw.site != s.name or fw.role != "firewall":
                p.add(
                    origin,
                    f"zones.{z.name}.firewall",
                    f"{z.firewall} guards {s.name}/{z.name} but is a {fw.role} at site {fw.site}",
                    "name a device with role firewall at the same site",
                    "reference",
                )
    first_of: dict[tuple[str, str, str], Policy] = {}
    for pol in e.policies:
        # A firewall names a rule by its two zones: a second policy between them would be a second
        # rule of that name, which a USG or Comware merges into the first, or refuses.
        key = (pol.site, pol.from_zone, pol.to_zone)
        if key in first_of:
            first = first_of[key]
            p.add(
                pol.origin,
                "to",
                f"a second policy {pol.from_zone} -> {pol.to_zone} at site {pol.site} (the first is {first.origin})",
                _merge_fix(first, pol, where.policy_each),
                "reference",
            )
        first_of.setdefault(key, pol)
        _services_once(pol, p)
        site = e.sites.get(pol.site)
        if site is None and where.lost(pol.site):
            continue  # the problem that kept the site from being built is reported
        if site is None:
            p.add(
                pol.origin,
                "site",
                f"policy names unknown site {pol.site!r}",
                did_you_mean(pol.site, e.sites, "use a site of the estate"),
                "reference",
            )
            continue
        for fieldname, zone in (("from", pol.from_zone), ("to", pol.to_zone)):
            if zone not in site.zones and f"{pol.site}/{zone}" not in where.unbuilt:
                p.add(
                    pol.origin,
                    fieldname,
                    f"policy names zone {zone!r}, which site {pol.site} does not have",
                    did_you_mean(zone, site.zones, f"use one of {sorted(site.zones)}"),
                    "reference",
                )
        if pol.from_zone == pol.to_zone:
            p.add(
                pol.origin,
                "to",
                "a zone policy must join two different zones",
                "traffic inside a zone does not cross its firewall; remove the entry",
                "reference",
            )
    for i, pair in enumerate(e.dr_pairs):
        src = where.dr_pairs[i] if i < len(where.dr_pairs) else None
        for fieldname, dev in (("primary", pair.primary), ("standby", pair.standby)):
            if dev not in e.devices and not where.lost(dev):
                p.add(
                    at(src, pair.origin, fieldname),
                    fieldname,
                    f"DR pair {pair.name} names {dev!r}, which is not a device",
                    did_you_mean(dev, e.devices, "name a device of the estate"),
                    "reference",
                )


def _merge_fix(first: Policy, second: Policy, each: dict) -> str:
    """How to make two policies between the same zones one. An entry written with for_each is
    shared by every site of its kind, so one site's services cannot simply be moved into it."""
    kinds = {o: each[o] for o in (first.origin, second.origin) if o in each}
    if not kinds or len(kinds) == 2:
        return "put its services into the first entry (one policy per pair of zones and direction)"
    common, single = (first, second) if first.origin in kinds else (second, first)
    shared, kind = common.origin, kinds[common.origin]
    extra = [s for s in single.services if s not in common.services]
    if not extra:
        return (
            f"remove the entry at {single.origin}: the for_each entry at {shared} already allows "
            f"everything it lists at every {kind}, {single.site} included"
        )
    listed = ", ".join(str(s) for s in extra)
    them = "them" if len(extra) > 1 else "it"
    return (
        f"either add {listed} to the for_each entry at {shared} (every {kind} then allows {them}) and remove the "
        f"entry at {single.origin}, or write one entry per {kind} in place of the for_each entry, with {listed} "
        f"in {single.site}'s only"
    )


def _covers(a, b) -> bool:
    """Whether service a admits everything service b does."""
    if a.proto != b.proto:
        return False
    return a.ports is None or (b.ports is not None and a.ports[0] <= b.ports[0] and b.ports[1] <= a.ports[1])


def _services_once(pol: Policy, p: ProblemList) -> None:
    # A service listed twice (or inside a range also listed) renders as a second rule line that
    # matches nothing new; a USG or Comware refuses some such repeats, and a reviewer misreads them.
    for j, svc in enumerate(pol.services):
        # The first of two equal services stands; the second, or one inside a range, is reported.
        wider = next(
            (o for k, o in enumerate(pol.services) if k != j and _covers(o, svc) and (o != svc or k < j)), None
        )
        if wider is not None:
            said = "listed twice" if wider == svc else f"already admitted by {wider}"
            p.add(
                pol.origin,
                "services",
                f"service {svc} of the policy {pol.from_zone} -> {pol.to_zone} at site {pol.site} is {said}",
                f"list {svc} once" if wider == svc else f"drop {svc}: {wider} admits it already",
                "reference",
            )
            return
