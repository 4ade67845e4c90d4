"""The order apply changes devices in: the province's core first, the edge last.

A change that breaks the province core is found while only the core has it; a county is changed
only once every city it hangs off has taken the change and still routes. By default the order
follows the estate's site kinds: province, then the DR site, then cities, then counties.

An estate may define its own order (`change_waves:` in the inventory, e.g. a canary city before
the rest): each device goes in the first wave that matches its site, site kind or role. Either
way, a device no wave matches (or which is not a device of the estate) goes last, in "other".
"""

from __future__ import annotations

from collections.abc import Iterable

from jinbao.model import ChangeWave, Estate

ORDER = ("province", "dr", "city", "county")
DEFAULT = tuple(ChangeWave(name=k, kinds=(k,)) for k in ORDER)


def wave_of(estate: Estate, name: str) -> str:
    """The name of the wave name's device goes in ("other" when none matches)."""
    device = estate.devices.get(name)
    if device is None:
        return "other"
    kind = estate.sites[device.site].kind
    for w in estate.change_waves or DEFAULT:
        if w.matches(device.site, kind, device.role):
            return w.name
    return "other"


def waves(estate: Estate, names: Iterable[str]) -> list[tuple[str, list[str]]]:
    """names grouped into waves, in apply order; empty waves left out, names sorted within one."""
    by: dict[str, list[str]] = {}
    for n in names:
        by.setdefault(wave_of(estate, n), []).append(n)
    order = [w.name for w in estate.change_waves or DEFAULT]
    return [(w, sorted(by[w])) for w in (*order, "other") if w in by]
