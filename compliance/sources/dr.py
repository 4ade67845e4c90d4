"""DR drills as evidence: each pair's last drill report (state folder, drills/<run>/report.json)
against the pair's GB/T 20988 level.

A pair of level 4 or higher must have passed a drill within a year (the issue's and the
assessors' reading of 8.1.4.9); for a lower level a missing drill is noted but is not a finding.
"""

from __future__ import annotations

import datetime as dt
import json

from jinbao.model import Estate
from jinbao.state import state_dir

from .. import scrub
from ..registry import Rule
from ..verdicts import Finding, Verdict

WINDOW = dt.timedelta(days=365)
MIN_LEVEL = 4


def reports() -> list[dict]:
    out = []
    for path in sorted(state_dir("drills").glob("*/report.json")):
        try:
            r = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(r, dict) and {"pair", "started", "run_id"} <= set(r):
            r["_path"] = str(path)
            out.append(r)
    return out


def evaluate(
    estate: Estate, rules: tuple[Rule, ...], site: str | None = None, now: dt.datetime | None = None
) -> tuple[list[Verdict], str]:
    now = now or dt.datetime.now(dt.UTC)
    drills = reports()
    out = []
    for rule in rules:
        for pair in estate.dr_pairs:
            prim = estate.devices.get(pair.primary)
            if site and prim is not None and prim.site != site:
                continue
            about = {"site": prim.site if prim else None, "device_class": "dr_pair"}
            subject = f"DR pair {pair.name} (level {pair.level})"
            mine = sorted((r for r in drills if r["pair"] == pair.name), key=lambda r: r["started"])
            last = mine[-1] if mine else None
            if last is None:
                status = "finding" if pair.level >= MIN_LEVEL else "not_applicable"
                f = (Finding(f"no drill of pair {pair.name} in {state_dir('drills')}", ref=pair.name),)
                out.append(
                    Verdict(rule.id, subject, status, f if status == "finding" else (), note="never drilled", **about)
                )
                continue
            when = dt.datetime.fromtimestamp(float(last["started"]), dt.UTC)
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
    # A drill report is a file anyone with the state folder could have written: its fields are
    # redacted like any evidence from outside.
    return [scrub.verdict(v) for v in out], f"{len(drills)} drill report(s) in {state_dir('drills')}"
