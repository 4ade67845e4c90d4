"""Waivers: an accepted risk, written down with who accepted it and until when.

compliance/waivers.yml lists them: rule, scope (a device or file name, a glob such as
`anqing-*`, or `site:NAME`), justification, approver and expiry. A waiver turns a finding into
an accepted one until its expiry; after that it waives nothing and the report says it expired.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from dataclasses import dataclass
from pathlib import Path

from jinbao.problems import ProblemList
from jinbao.yamlsrc import Origin

from . import yamlfile
from .errors import RuleFileError
from .registry import Registry
from .verdicts import Verdict

WAIVERS_FILE = Path(__file__).resolve().parent / "waivers.yml"
_KEYS = ("rule", "scope", "justification", "approver", "expiry")


@dataclass(frozen=True)
class Waiver:
    rule: str
    scope: str
    justification: str
    approver: str
    expiry: dt.date
    origin: Origin

    def covers(self, v: Verdict) -> bool:
        if v.rule != self.rule:
            return False
        if self.scope.startswith("site:"):
            return v.site == self.scope[5:]
        return fnmatch.fnmatchcase(v.subject, self.scope) or fnmatch.fnmatchcase(Path(v.subject).name, self.scope)


def load(path: Path | None, reg: Registry) -> tuple[Waiver, ...]:
    """The waivers of a file given with --waivers, else of the shipped file (none if that one is
    absent); RuleFileError naming every problem. A file named with --waivers that is not there
    is bad input: a typo in its name must not silently turn every waiver off."""
    p = ProblemList()
    if path is None:
        path = WAIVERS_FILE
        if not path.exists():
            return ()
    elif not path.exists():
        p.add(
            Origin(yamlfile.shown(path), 1),
            "--waivers",
            f"no waivers file {path}",
            "check the path, or leave out --waivers to use compliance/waivers.yml",
            "waivers",
        )
        raise RuleFileError(p.folded())
    doc = yamlfile.load(path, p, "waivers")
    out = []
    if doc is not None and not doc.empty:
        items = doc.data.get("waivers") if isinstance(doc.data, dict) else None
        for key in sorted(set(doc.data) - {"waivers"} if isinstance(doc.data, dict) else (), key=str):
            # a `waiver:` beside an empty `waivers:` would otherwise waive nothing, silently
            p.add(
                doc.pos.at((key,)),
                str(key),
                f"unknown top-level key {key!r}",
                "list waivers under `waivers:`",
                "waivers",
            )
        if not isinstance(items, list):
            p.add(
                doc.pos.at(()),
                "waivers",
                "expected a top-level `waivers:` list",
                "start the file with `waivers:`",
                "waivers",
            )
            items = []
        first: dict[tuple[str, str], Waiver] = {}
        for i, item in enumerate(items):
            w = _waiver(item, ("waivers", i), doc.pos, reg, p)
            if w is None:
                continue
            # two waivers of one rule for one scope: a later expiry would quietly extend the
            # earlier one's, under another approver
            seen = first.setdefault((w.rule, w.scope), w)
            if seen is not w:
                p.add(
                    w.origin,
                    "scope",
                    f"a second waiver of {w.rule} for scope {w.scope!r}; the first is at {seen.origin}",
                    "keep one waiver per rule and scope (one justification, approver and expiry)",
                    "waivers",
                )
            out.append(w)
    if p:
        raise RuleFileError(p.folded())
    return tuple(out)


def _waiver(item, path, pos, reg: Registry, p: ProblemList) -> Waiver | None:
    at = pos.at(path)
    if not isinstance(item, dict):
        p.add(at, "waivers", "a waiver must be a mapping", f"write {', '.join(_KEYS)} as keys", "waivers")
        return None
    before = len(p)
    for key in sorted(set(item) - set(_KEYS)):
        p.add(pos.at((*path, key)), key, f"unknown field {key!r}", f"use only {', '.join(_KEYS)}", "waivers")
    for key in _KEYS:
        if key not in item:
            p.add(
                at,
                key,
                f"the waiver has no `{key}`",
                f"add `{key}:`; a waiver names rule, scope, justification, approver and expiry",
                "waivers",
            )
        elif key != "expiry" and (not isinstance(item[key], str) or not item[key].strip()):
            p.add(pos.at((*path, key)), key, f"`{key}` is empty or not text", f"write the {key} as text", "waivers")
    if len(p) > before:
        return None
    if reg.rule(item["rule"]) is None:
        p.add(
            pos.at((*path, "rule")),
            "rule",
            f"no rule {item['rule']!r}",
            "name a rule id from compliance/rules/*.yml",
            "waivers",
        )
    expiry = item["expiry"]
    if isinstance(expiry, str):
        try:
            expiry = dt.date.fromisoformat(expiry)
        except ValueError:
            expiry = None
    if not isinstance(expiry, dt.date) or isinstance(expiry, dt.datetime):
        p.add(
            pos.at((*path, "expiry")),
            "expiry",
            f"expiry {_shown(item['expiry'])} is not a date",
            "write the date as YYYY-MM-DD",
            "waivers",
        )
    if len(p) > before:
        return None
    return Waiver(item["rule"], item["scope"], item["justification"].strip(), item["approver"].strip(), expiry, at)


def _shown(value) -> str:
    """The value as the file has it: YAML reads `2027-01-01 00:00` as a datetime, whose repr
    (datetime.datetime(2027, 1, 1, 0, 0)) is Python's, not the user's."""
    if isinstance(value, dt.date):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    return repr(value)


def apply(verdicts: list[Verdict], waivers: tuple[Waiver, ...], today: dt.date | None = None) -> list[Verdict]:
    """Mark the findings each live waiver covers; an expired one waives nothing and says so."""
    today = today or dt.date.today()
    return [_waived(v, waivers, today) for v in verdicts]


def _waived(v: Verdict, waivers: tuple[Waiver, ...], today: dt.date) -> Verdict:
    if v.status != "finding":
        return v
    for w in (w for w in waivers if w.covers(v)):
        if w.expiry >= today:
            why = f"{w.origin} (approved by {w.approver}, until {w.expiry}: {w.justification})"
            return v.about(waived_by=why, waiver_note=None)
        v = v.about(waiver_note=f"waiver at {w.origin} expired on {w.expiry}; the finding stands")
    return v
