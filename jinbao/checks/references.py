"""Names that must point at something: zone firewalls, the zones of a policy, DR pair devices."""

from __future__ import annotations

from ..model import Estate
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
    first_of: dict[tuple[str, str, str], object] = {}
    for pol in e.policies:
        # A firewall names a rule by its two zones: a second policy between them would be a second
        # rule of that name, which a USG or Comware merges into the first, or refuses.
        key = (pol.site, pol.from_zone, pol.to_zone)
        if key in first_of:
            p.add(
                pol.origin,
                "to",
                f"a second policy {pol.from_zone} -> {pol.to_zone} at site {pol.site} (the first is {first_of[key]})",
                "put its services into the first entry (one policy per pair of zones and direction)",
                "reference",
            )
        first_of.setdefault(key, pol.origin)
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
