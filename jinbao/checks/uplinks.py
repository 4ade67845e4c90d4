"""Redundant uplinks (docs/estate.md; MLPS 2.0 level 3 asks for redundant key links and devices).

A city reaches the province on a primary and a backup WAN link, on two different carriers,
between two different routers at each end. A county reaches its city on a primary and a backup
link ending on two different city routers (the county has one access router). OSPF must prefer
the primary, so the backup costs more. A problem is reported at the field that breaks the rule:
the backup's carrier, its end, its cost; only a missing link is reported at the site.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from itertools import product

from ..model import Estate, Link, Site
from ..names import non_ascii_note
from ..problems import ProblemList
from . import at, was_written


@dataclass(frozen=True)
class _Up:
    link: Link
    mine: str  # this site's device
    mine_side: str  # "a" or "b": the field that names it
    other: str
    other_side: str


def check(e: Estate, p: ProblemList, where) -> None:
    if where.links_incomplete:
        return  # links that could not be given a subnet are missing here; that problem comes first
    ups: dict[str, list[_Up]] = {}
    for link in e.links:
        da, db = e.devices.get(link.a.device), e.devices.get(link.b.device)
        if da is None or db is None or da.site not in e.sites or db.site not in e.sites:
            continue
        for mine, other, ms, os_ in ((da, db, "a", "b"), (db, da, "b", "a")):
            s, o = e.sites[mine.site], e.sites[other.site]
            city_up = s.kind == "city" and o.kind in ("province", "dr") and link.type == "wan"
            county_up = s.kind == "county" and o.name == s.parent
            if city_up or county_up:
                ups.setdefault(s.name, []).append(_Up(link, mine.name, ms, other.name, os_))
    for s in e.sites.values():
        if s.kind == "city" or (s.kind == "county" and s.parent):  # a county without one is reported
            for origin, field, message, fix in _faults(s, ups.get(s.name, []), where):
                p.add(origin, field, message, fix, "design")


def _faults(s: Site, ups: list[_Up], where) -> list[tuple]:
    city = s.kind == "city"
    to = "the province" if city else f"its city {s.parent}"
    need = "a primary and a backup on different carriers" if city else "a primary and a backup"

    def line(u: _Up, field):
        return at(where.links.get(u.link.id), u.link.origin, field)

    primaries = [u for u in ups if u.link.role == "primary"]
    backups = [u for u in ups if u.link.role == "backup"]
    if not ups or (len(ups) == 1 and not backups):
        have = f"one link ({ups[0].link.id}, on {ups[0].link.carrier or 'no carrier'})" if ups else "no link"
        add = "a backup link" + (" on a second carrier" if city else " ending on the city's second router")
        return [(s.origin, "links", f"{s.kind} {s.name} has {have} to {to}; it needs {need}", f"add {add} in links:")]
    if not backups:
        u = primaries[-1]
        return [
            (
                line(u, "role"),
                "role",
                f"all {len(ups)} links of {s.kind} {s.name} to {to} are primary",
                "make one of them role: backup",
            )
        ]
    if not primaries:
        u = backups[0]
        return [
            (
                line(u, "role"),
                "role",
                f"all {len(ups)} links of {s.kind} {s.name} to {to} are backups",
                "make one of them role: primary",
            )
        ]
    best = None
    for pr, bk in product(primaries, backups):
        faults = _pair_faults(s, pr, bk, line, where)
        if not faults:
            return []
        if best is None or len(faults) < len(best):
            best = faults
    # Both lists are non-empty here, so the loop ran and set best.
    assert best is not None
    return best


# Cyrillic and Greek letters drawn like Latin ones: 'tеlecom' with a Cyrillic 'е' reads as telecom.
_LOOKALIKE = str.maketrans(
    "аеорсухіјѕкмнтвАЕОРСУХІЈЅКМНТВαεικνορτυχΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
    "aeopcyxijskmhtbAEOPCYXIJSKMHTBaeiknoptuxABEZHIKMNOPTYX",
)


def _carrier_key(carrier: str) -> str:
    # NFKC folds full-width 'ｔｅｌｅｃｏｍ' (an IME left in full-width mode) into 'telecom'.
    text = unicodedata.normalize("NFKC", carrier).translate(_LOOKALIKE)
    return " ".join(text.split()).casefold()


def _same(carrier: str, other: str) -> bool:
    """'China Telecom', 'china telecom ', 'ｔｅｌｅｃｏｍ' and 'tеlecom' (a Cyrillic е) are one carrier;
    a backup on it shares its outages."""
    return _carrier_key(carrier) == _carrier_key(other)


def _pair_faults(s: Site, pr: _Up, bk: _Up, line, where) -> list[tuple]:
    city = s.kind == "city"
    out = []
    if city:
        for u in (pr, bk):
            if not u.link.carrier:
                out.append(
                    (
                        line(u, "carrier"),
                        "carrier",
                        f"{u.link.role} link {u.link.id} of city {s.name} names no carrier",
                        "add carrier: (the primary and the backup must be on different carriers)",
                    )
                )
        if pr.link.carrier and bk.link.carrier and _same(pr.link.carrier, bk.link.carrier):
            odd = next((c for c in (bk.link.carrier, pr.link.carrier) if not c.isascii()), None)
            # A look-alike letter is the one thing a reader cannot see: name it.
            note = f" ({non_ascii_note(odd)})" if odd and any(ch.isalpha() for ch in odd if not ch.isascii()) else ""
            out.append(
                (
                    line(bk, "carrier"),
                    "carrier",
                    f"backup link {bk.link.id} of city {s.name} is on carrier {bk.link.carrier}, the same as its "
                    f"primary link {pr.link.id}{note}; the carriers must differ",
                    f"put the backup on a carrier other than {pr.link.carrier}, so one carrier's outage cannot "
                    "cut the city off",
                )
            )
    if city and pr.mine == bk.mine:
        out.append(
            (
                line(bk, bk.mine_side),
                bk.mine_side,
                f"the primary and backup links of city {s.name} both end on {bk.mine}; one router failure "
                "would cut the city off",
                "end the backup on the city's other WAN router",
            )
        )
    if pr.other == bk.other:
        out.append(
            (
                line(bk, bk.other_side),
                bk.other_side,
                f"the primary and backup links of {s.kind} {s.name} both end on {bk.other}; one router failure "
                "would cut it off",
                "end the backup on another router there",
            )
        )
    if bk.link.cost <= pr.link.cost:
        # Point at the cost someone wrote: a raised primary is the likelier edit than a default.
        src = where.links.get(pr.link.id)
        u = pr if was_written(src, "cost") and not was_written(where.links.get(bk.link.id), "cost") else bk
        out.append(
            (
                line(u, "cost"),
                "cost",
                f"backup link {bk.link.id} costs {bk.link.cost}, not more than primary link {pr.link.id} "
                f"({pr.link.cost}); OSPF would not prefer the primary",
                "give the backup a higher cost than the primary (the defaults are 10 and 100)",
            )
        )
    return out
