"""Checks on the estate: references, the IP plan, and the design rules of docs/estate.md.

A pipeline of small checks (jinbao/checks/), each appending to one ProblemList and carrying
on, so a single run reports everything. Downstream code may rely on all of this holding once
load_estate() returns.

A domain may add checks of its own (monitoring: every device's class has a profile) through the
entry-point group `jinbao.checks`, as it adds commands; the core never names the domain.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib.metadata import entry_points

from .checks import (
    borders,
    design,
    dr,
    host_names,
    ip_plan,
    management_plane,
    references,
    roles,
    routes,
    snmp,
    uplinks,
    waves,
    written,
)
from .checks.dr import LEVEL_BEST_RPO, LEVEL_MAX_RPO, LEVEL_RPO, LEVEL_RTO
from .checks.written import CLEARTEXT_MANAGEMENT
from .loader import RawEstateFiles
from .model import Estate
from .problems import ProblemList
from .resolve import Where

__all__ = ["CLEARTEXT_MANAGEMENT", "LEVEL_BEST_RPO", "LEVEL_MAX_RPO", "LEVEL_RPO", "LEVEL_RTO", "STEPS", "validate"]

# Checks of the resolved estate, in the order their problems read best.
STEPS = (
    references.check,
    ip_plan.check,
    design.check,
    waves.check,
    uplinks.check,
    dr.check,
    management_plane.check,
    routes.check,
    snmp.references,
    host_names.check,
    # Last: its final guard (every policy rendered where it crosses) runs only on an estate
    # nothing above faulted.
    borders.check,
)

DOMAIN_CHECKS = "jinbao.checks"
Check = Callable[[Estate, ProblemList, Where], None]


@cache
def domain_checks() -> tuple[Check, ...]:
    """The checks domains registered, in name order (built once: a tuple, not a registry)."""
    return tuple(ep.load() for ep in sorted(entry_points(group=DOMAIN_CHECKS), key=lambda ep: ep.name))


def validate(
    e: Estate, p: ProblemList | None = None, where: Where | None = None, raw: RawEstateFiles | None = None
) -> ProblemList:
    """Run every check. `where` and `raw` (from resolve and the loader) let problems name the
    exact line of a field; without them each falls back to its item's own line."""
    p = p if p is not None else ProblemList()
    if raw is not None:
        written.check(raw, p)
        roles.check(raw, p)
    where = where or Where(estate=None)
    for step in (*STEPS, *domain_checks()):
        step(e, p, where)
    return p
