"""DR drills as evidence: each pair's last drill report (state folder, drills/<run>/report.json)
against the pair's GB/T 20988 level.

A pair of level 4 or higher must have passed a drill within a year (the issue's and the
assessors' reading of 8.1.4.9); for a lower level a missing drill is noted but is not a finding.
"""

from __future__ import annotations

import datetime as dt
import json
import math

from jinbao.model import Estate
from jinbao.state import state_dir

from .. import scrub
from ..inputs import InputFileError, read_text
from ..registry import Rule
from ..verdicts import Finding, Verdict

WINDOW = dt.timedelta(days=365)
MIN_LEVEL = 4
# A report stamped later than this ahead of the clock is not evidence (clocks of two hosts differ).
CLOCK_SLACK = dt.timedelta(hours=1)


def reports() -> tuple[list[dict], list[str]]:
    """The drill reports that read, each with `_path` and `_when` (its start, UTC), and
    "PATH: why" for each that does not (truncated, damaged, not dr's shape)."""
    out, bad = [], []
    for path in sorted(state_dir("drills").glob("*/report.json")):
        try:
            r = json.loads(read_text(path))
        except InputFileError as e:
            bad.append(f"{path}: {e.why}")
            continue
        except ValueError as e:
            bad.append(f"{path}: not JSON, truncated or damaged ({e})")
            continue
        why = _shape(r)
        if why is None:
            try:
                r["_when"] = dt.datetime.fromtimestamp(float(r["started"]), dt.UTC)
            except (OverflowError, OSError, ValueError):
                why = f"`started` {r['started']!r} is not a time"
        if why is not None:
            bad.append(f"{path}: {why}")
            continue
        r["_path"] = str(path)
        out.append(r)
    return out, bad


def _shape(r) -> str | None:
    if not isinstance(r, dict):
        return "not a JSON object"
    for key in ("pair", "run_id"):
        if not isinstance(r.get(key), str) or not r[key]:
            return f"no `{key}` text"
    started = r.get("started")
    if isinstance(started, bool) or not isinstance(started, (int, float)) or not math.isfinite(started):
        return f"`started` {started!r} is not a time in seconds"
    for key in ("verdict", "drill"):
        if r.get(key) is not None and not isinstance(r[key], str):
            return f"`{key}` {r[key]!r} is not text"
    return None


def evaluate(
    estate: Estate, rules: tuple[Rule, ...], site: str | None = None, now: dt.datetime | None = None
) -> tuple[list[Verdict], str]:
    now = now or dt.datetime.now(dt.UTC)
    drills, unreadable = reports()
    out = []
    for rule in rules:
        for pair in estate.dr_pairs:
            prim = estate.devices.get(pair.primary)
            if site and prim is not None and prim.site != site:
                continue
            about = {"site": prim.site if prim else None, "device_class": "dr_pair"}
            subject = f"DR pair {pair.name} (level {pair.level})"
            mine = sorted((r for r in drills if r["pair"] == pair.name), key=lambda r: r["_when"])
            last = mine[-1] if mine else None
            if last is None:
                status = "finding" if pair.level >= MIN_LEVEL else "not_applicable"
                f = (Finding(f"no drill of pair {pair.name} in {state_dir('drills')}", ref=pair.name),)
                out.append(
                    Verdict(rule.id, subject, status, f if status == "finding" else (), note="never drilled", **about)
                )
                continue
            when = last["_when"]
            if when > now + CLOCK_SLACK:
                # A drill dated in the future would count as recent for years: the clock of the
                # drill's host or the report is wrong, and it is not evidence of any drill.
                said = (
                    f"the last drill report {last['_path']} is dated {when:%Y-%m-%d %H:%M} UTC, in the future; "
                    "fix the clock of the host that ran it, then drill again"
                )
                if pair.level >= MIN_LEVEL:
                    out.append(Verdict(rule.id, subject, "finding", (Finding(said, last["_path"]),), **about))
                else:
                    out.append(Verdict(rule.id, subject, "no_evidence", note=said, **about))
                continue
            ref = f"drill {last['run_id']} ({last.get('drill', '?')}, {when:%Y-%m-%d}, {last.get('verdict', '?')})"
            problems = []
            if now - when > WINDOW:
                problems.append(f"the last drill was on {when:%Y-%m-%d}, more than a year ago")
            if last.get("verdict") != "pass":
                problems.append(f"the last drill's verdict is {last.get('verdict', 'unknown')}")
            if problems and pair.level >= MIN_LEVEL:
                out.append(
                    Verdict(
                        rule.id,
                        subject,
                        "finding",
                        tuple(Finding(p, last["_path"], ref=ref) for p in problems),
                        **about,
                    )
                )
            else:
                out.append(
                    Verdict(
                        rule.id,
                        subject,
                        "conforms",
                        note=ref + ("; " + "; ".join(problems) if problems else ""),
                        **about,
                    )
                )
    said = f"{len(drills)} drill report(s) in {state_dir('drills')}"
    # A drill report is a file anyone with the state folder could have written: its fields are
    # redacted like any evidence from outside.
    return [scrub.verdict(v) for v in out], said + "".join(f"; unreadable, skipped: {u}" for u in unreadable)
