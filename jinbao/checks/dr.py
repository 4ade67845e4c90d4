"""DR pairs: unique names, an off-site standby, and targets their GB/T 20988 level can meet."""

from __future__ import annotations

from ..model import Estate
from ..problems import ProblemList
from . import at

# What a DR pair replicates: the roles of its primary and standby (the same on both ends).
DR_ROLES = {"db_server": "database", "storage": "storage array"}

# GB/T 20988-2007 "Information security technology - Disaster recovery specifications for
# information systems", Annex A, table A.1: the RTO and RPO each disaster-recovery level gives.
#   level  RTO                          RPO
#   1      2 days or more               1 to 7 days
#   2      24 hours or more             1 to 7 days
#   3      12 hours or more             hours to 1 day
#   4      hours to 2 days              hours to 1 day
#   5      minutes to 2 days            0 to 30 minutes
#   6      minutes                      0
# "Hours" is read as at least 1 h and "minutes" as 1 to 30 min. Levels 1-3 give no upper RTO
# ("or more"). A target looser than its level allows means the level is overstated; one
# tighter than the level can deliver is a promise the site cannot keep. Auditors flag both.
DAY, HOUR, MINUTE = 86400, 3600, 60
LEVEL_RTO = {
    1: (2 * DAY, None),
    2: (DAY, None),
    3: (12 * HOUR, None),
    4: (HOUR, 2 * DAY),
    5: (MINUTE, 2 * DAY),
    6: (MINUTE, 30 * MINUTE),
}
LEVEL_RPO = {1: (DAY, 7 * DAY), 2: (DAY, 7 * DAY), 3: (HOUR, DAY), 4: (HOUR, DAY), 5: (0, 30 * MINUTE), 6: (0, 0)}
# Kept for callers of the earlier names.
LEVEL_BEST_RPO = {k: v[0] for k, v in LEVEL_RPO.items()}
LEVEL_MAX_RPO = {k: v[1] for k, v in LEVEL_RPO.items()}


def _span(seconds: int) -> str:
    """A duration as people write it in the inventory: 0s, 90s, 15m, 4h, 2d."""
    for unit, size in (("d", DAY), ("h", HOUR), ("m", MINUTE)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def check(e: Estate, p: ProblemList, where) -> None:
    names: dict[str, str] = {}
    sides: dict[tuple[str, str], str] = {}
    for i, pair in enumerate(e.dr_pairs):
        src = where.dr_pairs[i] if i < len(where.dr_pairs) else None
        key = pair.name.casefold()  # names people tell apart only by case are one name
        if key in names:
            p.add(
                at(src, pair.origin, "name"),
                "name",
                f"DR pair name {pair.name!r} is already used at {names[key]}",
                "give every DR pair its own name (a for_each entry needs {each} in its name)",
                "reference",
            )
        else:
            names[key] = str(at(src, pair.origin, "name"))
        both = (pair.primary, pair.standby)
        if both in sides:
            p.add(
                at(src, pair.origin, "standby"),
                "standby",
                f"DR pair {pair.name} replicates {pair.primary} to {pair.standby}, as DR pair {sides[both]} does",
                f"remove one of the two: a primary replicates to its standby once (keep {sides[both]})",
                "reference",
            )
            continue
        sides[both] = pair.name
        _placement(e, pair, src, p)
        _targets(pair, src, p)


def _placement(e: Estate, pair, src, p: ProblemList) -> None:
    if pair.primary not in e.devices or pair.standby not in e.devices:
        return  # reported by the reference check
    if not _roles(e, pair, src, p):
        return
    if pair.primary == pair.standby:
        p.add(
            at(src, pair.origin, "standby"),
            "standby",
            f"DR pair {pair.name} names {pair.primary} as both its primary and its standby",
            "name a standby device at the DR site",
            "design",
        )
    elif e.devices[pair.primary].site == e.devices[pair.standby].site:
        p.add(
            at(src, pair.origin, "standby"),
            "standby",
            f"DR pair {pair.name} keeps its standby at the primary's own site",
            "put the standby at the DR site (GB/T 20988 asks for an off-site copy)",
            "design",
        )
    else:
        _at_dr_site(e, pair, src, p)


def _at_dr_site(e: Estate, pair, src, p: ProblemList) -> None:
    """The standby lives at the DR centre: the drills, the witness and the runbooks all take the
    primary's site for production and the standby's for recovery."""
    dr_sites = sorted(s.name for s in e.sites.values() if s.kind == "dr")
    primary, standby = e.devices[pair.primary], e.devices[pair.standby]
    if not dr_sites or e.sites[standby.site].kind == "dr":
        return
    if e.sites[primary.site].kind == "dr":
        p.add(
            at(src, pair.origin, "primary"),
            "primary",
            f"DR pair {pair.name} runs the wrong way: its primary {primary.name} is at the DR site "
            f"{primary.site} and its standby {standby.name} at {standby.site}",
            "swap primary and standby",
            "design",
        )
        return
    p.add(
        at(src, pair.origin, "standby"),
        "standby",
        f"DR pair {pair.name} keeps its standby {standby.name} at {standby.site} (a {e.sites[standby.site].kind}), "
        "not at the DR site",
        f"name a standby device at the DR site ({', '.join(dr_sites)})",
        "design",
    )


def _roles(e: Estate, pair, src, p: ProblemList) -> bool:
    """A DR pair replicates data: a database to a database, or a storage array to a storage
    array (docs/estate.md: "a standby database, replicated storage"). Reported at the pair's own
    field, where the engineer named the wrong device."""
    ok = True
    for what in ("primary", "standby"):
        d = e.devices[getattr(pair, what)]
        if d.role not in DR_ROLES:
            p.add(
                at(src, pair.origin, what),
                what,
                f"DR pair {pair.name}'s {what} {d.name} has role {d.role}; a DR "
                "pair replicates " + " or ".join(f"a {v} ({k})" for k, v in DR_ROLES.items()),
                f"name a device with role {' or '.join(DR_ROLES)} as the {what}",
                "design",
            )
            ok = False
    if ok and e.devices[pair.primary].role != e.devices[pair.standby].role:
        p.add(
            at(src, pair.origin, "standby"),
            "standby",
            f"DR pair {pair.name} replicates {pair.primary} (role "
            f"{e.devices[pair.primary].role}) to {pair.standby} (role {e.devices[pair.standby].role})",
            f"name a standby with role {e.devices[pair.primary].role}, like its primary",
            "design",
        )
        ok = False
    return ok


def _targets(pair, src, p: ProblemList) -> None:
    for what, value, (best, worst) in (
        ("rto", pair.rto_s, LEVEL_RTO[pair.level]),
        ("rpo", pair.rpo_s, LEVEL_RPO[pair.level]),
    ):
        name = what.upper()
        if worst is not None and value > worst:
            p.add(
                at(src, pair.origin, what),
                what,
                f"{name} {_span(value)} is looser than GB/T 20988 level {pair.level} allows ({_span(worst)} at most)",
                f"tighten the {name} or declare a lower level",
                "design",
            )
        if value < best:
            p.add(
                at(src, pair.origin, what),
                what,
                f"{name} {_span(value)} is tighter than GB/T 20988 level "
                f"{pair.level} can deliver ({_span(best)} at best)",
                f"raise the level or relax the {name}",
                "design",
            )
    if pair.rpo_s == 0 and pair.replication != "sync":
        p.add(
            at(src, pair.origin, "replication"),
            "replication",
            f"DR pair {pair.name} promises RPO 0 with async replication",
            "use replication: sync, or allow a non-zero RPO",
            "design",
        )
