"""The order changes go out in: a wave whose every device an earlier wave already takes.

A device goes in the first wave that selects it (netconfig/waves.py), so a wave after a broader
one (`sites: [hefei]` after `kinds: [city]`) is empty on every apply: the canary or the careful
last step it was written for never happens, and nothing else says so."""

from __future__ import annotations

from ..model import Estate
from ..problems import ProblemList


def check(e: Estate, p: ProblemList, where) -> None:
    taken: dict[str, str] = {}  # device -> the wave it goes in
    for w in e.change_waves:
        mine = [
            d.name for d in e.devices.values() if d.site in e.sites and w.matches(d.site, e.sites[d.site].kind, d.role)
        ]
        free = [n for n in mine if n not in taken]
        if mine and not free:
            earlier = sorted({taken[n] for n in mine})
            p.add(
                w.origin,
                "change_waves",
                f"wave {w.name} never gets a device: each of the {len(mine)} it selects goes in an earlier wave "
                f"({', '.join(earlier)}), as a device goes in the first wave that selects it",
                f"put wave {w.name} before {earlier[0]}, narrow the earlier wave, or remove wave {w.name}",
                "design",
            )
        taken |= dict.fromkeys(free, w.name)
