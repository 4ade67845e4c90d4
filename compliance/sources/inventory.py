"""The inventory's design rules, evaluated by the core checks that `jinbao inventory validate` runs.

The estate is read and resolved, then each rule's core check runs on it into its own problem
list; the problems become findings at their file and line. An estate that does not even
resolve, or that `inventory validate` refuses for a reason no rule judges (a reference to a
device that does not exist, an address used twice), cannot be audited and is bad input.
"""

from __future__ import annotations

from collections.abc import Callable

from jinbao.checks import design, dr, management_plane, routes, uplinks, written
from jinbao.errors import InventoryError
from jinbao.loader import read_estate
from jinbao.model import Estate
from jinbao.problems import Problem, ProblemList
from jinbao.resolve import resolve
from jinbao.validate import validate

from ..registry import Rule
from ..verdicts import Finding, Verdict

# The core checks a rule may name (probes.CORE_CHECKS), called as validate() calls them.
_CHECKS: tuple[tuple[str, Callable], ...] = (
    ("written", lambda raw, e, p, w: written.check(raw, p)),
    ("design", lambda raw, e, p, w: design.check(e, p, w)),
    ("uplinks", lambda raw, e, p, w: uplinks.check(e, p, w)),
    ("management_plane", lambda raw, e, p, w: management_plane.check(e, p, w)),
    ("dr", lambda raw, e, p, w: dr.check(e, p, w)),
    ("routes", lambda raw, e, p, w: routes.check(e, p, w)),
)


def load(name: str) -> tuple[Estate, object, object]:
    """(estate, raw files, where) without the design checks' verdict: those are the audit's to give."""
    raw = read_estate(name)
    estate, problems, where = resolve(raw)
    problems.extend(raw.problems)
    if problems:
        raise InventoryError(problems.folded())
    return estate, raw, where


def evaluate(estate: Estate, raw, where, rules: tuple[Rule, ...]) -> list[Verdict]:
    subject = f"estate {estate.name}"
    checks = dict(_CHECKS)
    ran: dict[str, ProblemList] = {}
    judged: set[tuple] = set()
    out = []
    for rule in rules:
        if rule.core_check is None:
            continue
        if rule.core_check not in ran:
            ran[rule.core_check] = ProblemList()
            checks[rule.core_check](raw, estate, ran[rule.core_check], where)
        judged |= {
            _key(x)
            for x in ran[rule.core_check]
            if x.check == "design" and (rule.field is None or rule.field.search(x.field))
        }
        mine = [x for x in ran[rule.core_check].folded() if rule.field is None or rule.field.search(x.field)]
        findings = tuple(
            Finding(x.message, x.origin.file if x.origin else None, x.origin.line if x.origin else None, ref=x.field)
            for x in mine
        )
        out.append(Verdict(rule.id, subject, "finding" if findings else "conforms", findings, device_class="estate"))
    # A rule judges design; what else `inventory validate` refuses (an NTP server or DR standby
    # that is no device, an address used twice, a dead interval shorter than hello) is a broken
    # estate, not a finding. Left out, the report called the estate conforming on exactly those
    # points, and the config rendering that follows raised KeyError on the missing device.
    unjudged = [x for x in validate(estate, ProblemList(), where, raw) if _key(x) not in judged]
    if unjudged:
        raise InventoryError(ProblemList(sorted(unjudged, key=_key)).folded())
    return out


def _key(p: Problem) -> tuple:
    return (p.origin.file, p.origin.line, p.field, p.message) if p.origin else ("", 0, p.field, p.message)
