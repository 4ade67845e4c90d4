"""The order apply changes devices in: the province's core first, the edge last.

A change that breaks the province core is found while only the core has it; a county is changed
only once every city it hangs off has taken the change and still routes. The order follows the
estate's site kinds: province, then the DR site, then cities, then counties. A device whose
site is of none of these kinds (or which is not a device of the estate) goes last.
"""

from __future__ import annotations

from collections.abc import Iterable

from jinbao.model import Estate

ORDER = ("province", "dr", "city", "county")


def wave_of(estate: Estate, name: str) -> str:
    """The site kind name's wave is named after ("other" when the estate does not know it)."""
    device = estate.devices.get(name)
    kind = estate.sites[device.site].kind if device else ""
    return kind if kind in ORDER else "other"


def waves(estate: Estate, names: Iterable[str]) -> list[tuple[str, list[str]]]:
    """names grouped into waves, in apply order; empty waves left out, names sorted within one."""
    by: dict[str, list[str]] = {}
    for n in names:
        by.setdefault(wave_of(estate, n), []).append(n)
    return [(w, sorted(by[w])) for w in (*ORDER, "other") if w in by]
