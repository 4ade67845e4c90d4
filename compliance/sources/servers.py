"""The servers as evidence: the testinfra results of the provisioning roles, as `jinbao verify` kept
them (state folder, verify/<source>/<time>.json, written by jinbao/verify.py's record()).

Each host's check is judged on its newest outcome across the kept runs, so a `verify --host X` or
`--role R` run refreshes only what it ran. A result older than the audit window is not evidence of
the server as it is now: the rule says so ("no evidence", with the date), never "conforms".
A server that no kept run covers has no evidence either.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from jinbao.classes import device_class
from jinbao.model import Estate
from jinbao.redact import redact
from jinbao.verify import results_dir

from .. import scrub
from ..inputs import InputFileError, read_text
from ..registry import Rule
from ..verdicts import Finding, Verdict

WINDOW = dt.timedelta(days=30)
FAILED = ("failed", "error")
_LISTED = 12  # hosts named in a "no results" note before "…"


@dataclass(frozen=True)
class Outcome:
    outcome: str
    message: str
    at: dt.datetime
    file: str


def kept_runs(source: str) -> tuple[list[tuple[Path, dt.datetime, dict]], list[str]]:
    """Every kept run of the source, oldest first, and the files that could not be read: not JSON,
    a time without its zone (verify writes UTC), or hosts that are not host -> checks."""
    runs, bad = [], []
    for path in sorted(results_dir(source).glob("*.json")):
        try:
            body = json.loads(read_text(path))  # a FIFO or an oversized file is refused, not read
            at = dt.datetime.fromisoformat(body["at"])
            hosts = body["hosts"]
            if at.tzinfo is None or not isinstance(hosts, dict) or not all(isinstance(c, dict) for c in hosts.values()):
                raise TypeError
        except (InputFileError, ValueError, KeyError, TypeError):
            bad.append(path.name)
            continue
        runs.append((path, at.astimezone(dt.UTC), body))
    runs.sort(key=lambda r: r[1])
    return runs, bad


def newest(runs: list[tuple[Path, dt.datetime, dict]]) -> dict[str, dict[str, Outcome]]:
    """host -> check label -> its newest outcome."""
    out: dict[str, dict[str, Outcome]] = {}
    for path, at, body in runs:
        for host, checks in body["hosts"].items():
            for label, c in checks.items():
                if isinstance(c, dict) and isinstance(c.get("outcome"), str):
                    out.setdefault(host, {})[label] = Outcome(c["outcome"], str(c.get("message") or ""), at, str(path))
    return out


def _judge(rule: Rule, host: str, mine: dict[str, Outcome], now: dt.datetime, window: dt.timedelta, about: dict):
    fresh = {k: o for k, o in mine.items() if now - o.at <= window}
    if not fresh:
        last = max(o.at for o in mine.values())
        failing = sorted(k for k, o in mine.items() if o.outcome in FAILED)
        note = (
            f"the newest `jinbao verify` results of {host} for this rule are from {last:%Y-%m-%d %H:%M} UTC, "
            f"older than the audit window of {window.days} days; run `jinbao verify` again"
            + (f" (then failing: {', '.join(failing)})" if failing else "")
        )
        return Verdict(rule.id, host, "no_evidence", note=note, **about)
    bad = sorted((k, o) for k, o in fresh.items() if o.outcome in FAILED)
    stale = len(mine) - len(fresh)
    tail = f"; {stale} older result(s) outside the {window.days}-day window not read" if stale else ""
    if bad:
        findings = tuple(
            Finding(
                f"testinfra check `{k}` {o.outcome} on {host} ({o.at:%Y-%m-%d %H:%M} UTC)",
                o.file,
                text=o.message or None,
                ref=f"{host}: {k}",
            )
            for k, o in bad
        )
        return Verdict(rule.id, host, "finding", findings, note=tail.removeprefix("; "), **about)
    ran = [o for o in fresh.values() if o.outcome == "passed"]
    if not ran:
        return Verdict(rule.id, host, "no_evidence", note=f"every check of this rule was skipped on {host}", **about)
    last = max(o.at for o in ran)
    note = f"{len(ran)} check(s) passed, newest {last:%Y-%m-%d %H:%M} UTC{tail}"
    return Verdict(rule.id, host, "conforms", note=note, **about)


def evaluate(
    estate: Estate,
    rules: tuple[Rule, ...],
    source: str,
    site: str | None = None,
    now: dt.datetime | None = None,
    window: dt.timedelta = WINDOW,
) -> tuple[list[Verdict], str]:
    now = now or dt.datetime.now(dt.UTC)
    where = results_dir(source)
    runs, bad = kept_runs(source)
    unread = f"; unreadable, skipped: {', '.join(bad)}" if bad else ""
    servers = sorted(
        (d for d in estate.devices.values() if d.platform == "linux" and (not site or d.site == site)),
        key=lambda d: d.name,
    )
    if not runs:
        note = f"no `jinbao verify` results in {where}; run `jinbao verify` over the servers{unread}"
        return [Verdict(r.id, f"servers of {source}", "no_evidence", note=note, site=site) for r in rules], note
    latest = newest(runs)
    out: list[Verdict] = []
    for rule in rules:
        assert rule.field is not None  # the rule file's testinfra rules all name their checks
        without = []
        for d in servers:
            mine = {k: o for k, o in latest.get(d.name, {}).items() if rule.field.search(k)}
            if not mine:
                without.append(d.name)
                continue
            out.append(_judge(rule, d.name, mine, now, window, {"site": d.site, "device_class": device_class(d)}))
        if without:
            named = ", ".join(without[:_LISTED]) + (" …" if len(without) > _LISTED else "")
            out.append(
                Verdict(
                    rule.id,
                    f"{len(without)} server(s) without results",
                    "no_evidence",
                    note=f"no kept `jinbao verify` run checked this rule on: {named}",
                    site=site,
                )
            )
    labels = {k for checks in latest.values() for k in checks}
    unmapped = sorted(k for k in labels if not any(r.field and r.field.search(k) for r in rules))
    said = (
        f"{len(runs)} `jinbao verify` run(s) in {where}, newest {runs[-1][1]:%Y-%m-%d %H:%M} UTC; "
        f"{sum(d.name in latest for d in servers)} of {len(servers)} server(s) covered"
        + (f"; {len(unmapped)} check(s) map to no rule (e.g. {unmapped[0]})" if unmapped else "")
        + unread
    )
    # Messages and labels are testinfra's text, quoting what the checks read: redacted before kept.
    return [scrub.verdict(v) for v in out], redact(said)
