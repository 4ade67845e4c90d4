"""A device's role against its platform: what the role asks of the config its platform renders.

A firewall on a platform that renders no zone policy would leave the zones it guards open; a
router on a server platform would get no routing at all; a server on a network OS, or anything
but a firewall on nftables, gets a config made for another kind of device. Each renders without
an error, which is why it is refused here.
"""

from __future__ import annotations

from ..classes import device_class
from ..loader import RawEstateFiles
from ..platforms import PLATFORMS, facts
from ..problems import ProblemList
from .written import device_entries

_NETWORK = frozenset({"router", "switch", "firewall"})


def check(raw: RawEstateFiles, p: ProblemList) -> None:
    """Each device entry once, as written: a template's line, not once per site it makes."""
    for d, src in device_entries(raw):
        f, cls = facts(d.platform), device_class(d.role)
        why = None
        if d.role == "firewall" and not f.zone_policy:
            why = "for which jinbao renders no zone policy, so the zones it guards would stand open"
            fits = [n for n, x in PLATFORMS.items() if x.zone_policy]
        elif cls in _NETWORK and not f.network_os:
            what = "renders a host's config" if f.config_family else "jinbao does not configure (SNMP only)"
            why = f"which {what}: a {cls} needs a network OS (interfaces, OSPF)"
            fits = [n for n, x in PLATFORMS.items() if x.network_os and x.config_family != "nft"]
        elif cls not in _NETWORK and f.network_os:
            why = f"a network OS: a {cls} is configured as a host"
            fits = [n for n, x in PLATFORMS.items() if not x.network_os]
        elif d.role != "firewall" and f.config_family == "nft":
            why = "which renders only a firewall's ruleset"
            fits = [n for n, x in PLATFORMS.items() if x.network_os and x.config_family != "nft"]
        if why is None:
            continue
        p.add(
            src.at("platform"),
            "platform",
            f"{d.name} (role {d.role}) is on platform {d.platform} ({f.title}), {why}",
            f"use a platform for role {d.role}: {', '.join(fits)} (or change the role)",
            "design",
        )
