"""`audit report` over the runs it keeps, and DR drill reports, when some of them are damaged.

The kept runs are written in the shape runner.save writes (as test_run.py writes drill reports in
dr's shape): making each by a real `audit run` would only change their `at`, which is the point
here. The report itself is the real CLI.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from compliance import keptruns
from compliance.registry import registry
from compliance.sources import dr, inventory
from tests.support import run_cli

REG = registry()
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("JINBAO_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def _finding(rule: str, subject: str) -> dict:
    return {"rule": rule, "subject": subject, "status": "finding", "findings": [{"message": f"{rule} on {subject}"}]}


def _run(state: Path, name: str, estate: str, site: str | None, ago_days: float, findings: int, **extra) -> Path:
    """A kept run whose clause 8.1.4.9 (DR-DRILL-RECENT) has `findings` findings."""
    verdicts = [_finding("DR-DRILL-RECENT", f"DR pair p{i}") for i in range(findings)]
    body = {
        "estate": estate,
        "site": site,
        "at": (NOW - dt.timedelta(days=ago_days)).isoformat(),
        "sources": {"dr": "test"},
        "verdicts": verdicts + extra.get("more", []),
    }
    path = keptruns.runs_dir() / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body))
    return path


def _report(tmp_path, *args):
    out = tmp_path / "out"
    r = run_cli("audit", "report", "--no-pdf", "--out", str(out), *args, env=None, timeout=120)
    assert "Traceback" not in r.stderr, r.stderr
    return r, (json.loads((out / "report.json").read_text()) if r.returncode == 0 else None)


def _trend_dr(summary: dict) -> tuple[int, int]:
    [t] = [t for t in summary["trend"] if t["clause"] == "8.1.4.9"]
    return t["before"], t["now"]


def test_the_trend_compares_with_the_previous_run_of_the_same_estate_and_site_by_time(state, tmp_path):
    same = _run(state, "20260105T000000.json", "lab", None, 5, findings=1)
    _run(state, "20260107T000000.json", "province", None, 3, findings=7)  # another estate, later
    _run(state, "20260108T000000.json", "lab", "hefei", 2, findings=5)  # a site's run, later
    older_by_time = _run(state, "29991231T000000.json", "lab", None, 30, findings=9)  # named last, ran first
    # named first, ran last: the newest run by its `at`
    newest = _run(state, "00000000T000000.json", "lab", None, 0, findings=2)
    (keptruns.runs_dir() / "20260109T000000.json").write_text('{"estate": "lab", "site": nu')  # killed mid-write
    r, rep = _report(tmp_path)
    assert r.returncode == 0, r.stderr
    s = rep["summary"]
    assert (s["run"], s["previous_run"]) == (str(newest), str(same))
    assert _trend_dr(s) == (1, 2)
    damaged = keptruns.runs_dir() / "20260109T000000.json"
    [note] = s["notes"]
    assert note.startswith(f"unreadable, skipped: {damaged}: not JSON"), note
    assert f"unreadable, skipped: {damaged}" in r.stderr.replace("\n", "")
    # the previous of the one named last is none: it is the oldest by time
    r, rep = _report(tmp_path, "--run", str(older_by_time))
    assert r.returncode == 0 and rep["summary"]["previous_run"] is None and rep["summary"]["trend"] is None


def test_a_kept_run_naming_a_removed_rule_is_reported_and_the_rule_named(state, tmp_path):
    _run(state, "a.json", "lab", None, 2, findings=1, more=[_finding("DEV-GONE", "old-router")])
    _run(state, "b.json", "lab", None, 1, findings=1, more=[_finding("DEV-GONE", "old-router")])
    r, rep = _report(tmp_path)
    assert r.returncode == 0, r.stderr
    notes = rep["summary"]["notes"]
    assert len(notes) == 2 and all("DEV-GONE" in n and "no longer defined" in n for n in notes), notes
    assert [x["rule"] for x in rep["findings"]] == ["DR-DRILL-RECENT"]
    assert _trend_dr(rep["summary"]) == (1, 1)
    assert "DEV-GONE" in (tmp_path / "out/report.html").read_text()


@pytest.mark.parametrize(
    "text, why",
    [
        ('{"estate": "lab", "at": "2026-', "not JSON"),
        ("[1, 2]", "expected a JSON object, found a list"),
        ("null", "found null"),
        ('{"estate": "lab", "at": "x", "sources": {}, "verdicts": []}', "is not an ISO time"),
        ('{"estate": "lab", "at": "2026-01-01T00:00:00", "sources": {}, "verdicts": []}', "no time zone"),
        ('{"estate": "lab", "at": "2999-01-01T00:00:00+00:00", "sources": {}, "verdicts": []}', "in the future"),
        ('{"estate": "lab", "at": "2026-01-01T00:00:00+00:00", "sources": ["a"], "verdicts": []}', "`sources`"),
        (
            '{"estate": "lab", "at": "2026-01-01T00:00:00+00:00", "sources": {}, '
            '"verdicts": [{"rule": "DEV-TELNET", "subject": "x", "status": "weird"}]}',
            "status 'weird'",
        ),
        (
            '{"estate": "lab", "at": "2026-01-01T00:00:00+00:00", "sources": {}, '
            '"verdicts": [{"rule": "DEV-TELNET", "subject": "x", "status": "finding", "findings": "a"}]}',
            "`findings` must be a list",
        ),
    ],
    ids=["truncated", "list", "null", "bad-at", "naive-at", "future-at", "sources-list", "status", "findings-str"],
)
def test_a_damaged_run_asked_for_is_exit_2_naming_it_and_why(state, tmp_path, text, why):
    good = _run(state, "20260101T000000.json", "lab", None, 1, findings=1)
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    r, _ = _report(tmp_path, "--run", str(bad))
    assert r.returncode == 2 and f"{bad}: " in r.stderr and why in r.stderr, r.stderr
    assert str(good) not in r.stderr  # never the wrong file


def test_only_unreadable_runs_is_exit_2_naming_them(state, tmp_path):
    keptruns.runs_dir().mkdir(parents=True)
    (keptruns.runs_dir() / "x.json").write_text("")
    r, _ = _report(tmp_path)
    assert r.returncode == 2 and "unreadable, skipped:" in r.stderr and "x.json" in r.stderr, r.stderr


def _drill_file(state: Path, run_id: str, text: str) -> Path:
    d = state / "drills" / run_id
    d.mkdir(parents=True)
    (d / "report.json").write_text(text)
    return d / "report.json"


def _drill(state: Path, run_id: str, when: dt.datetime, pair: str = "core-db") -> Path:
    body = {"run_id": run_id, "drill": "switchover", "pair": pair, "started": when.timestamp(), "verdict": "pass"}
    return _drill_file(state, run_id, json.dumps(body))


def test_damaged_drill_reports_are_named_and_a_future_one_is_not_recent(state):
    e = inventory.load("lab")[0]
    rules = REG.of("dr")
    good = _drill(state, "d-good", NOW - dt.timedelta(days=10))
    [v] = dr.evaluate(e, rules)[0]
    assert v.status == "conforms" and "d-good" in v.note
    truncated = _drill_file(state, "d-cut", json.dumps({"run_id": "d-cut", "pair": "core-db"})[:25])
    overflow = _drill_file(state, "d-big", json.dumps({"run_id": "d-big", "pair": "core-db", "started": 1e30}))
    nopair = _drill_file(state, "d-nopair", json.dumps({"run_id": "d-nopair", "started": 1}))
    verdicts, said = dr.evaluate(e, rules)
    assert [v.status for v in verdicts] == ["conforms"]
    for path, why in ((truncated, "not JSON"), (overflow, "is not a time"), (nopair, "no `pair`")):
        assert f"unreadable, skipped: {path}: " in said and why in said.split(str(path), 1)[1], said
    future = _drill(state, "d-future", NOW + dt.timedelta(days=400))
    [v] = dr.evaluate(e, rules)[0]
    assert v.status == "finding", v
    [f] = v.findings
    when = NOW + dt.timedelta(days=400)
    assert f.file == str(future) and f"{when:%Y-%m-%d}" in f.message and "in the future" in f.message
    assert str(good) not in f.message


def test_audit_run_names_an_unreadable_drill_report_and_keeps_its_run_whole(state, tmp_path):
    cut = _drill_file(state, "d-cut", '{"run_id": "d-cut", "pair": "core-d')
    r = run_cli(
        "--estate", "lab", "audit", "run", "--no-monitoring", "--pki-dir", str(tmp_path / "noca"), "--json", timeout=600
    )
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    body = json.loads(r.stdout)
    assert f"unreadable, skipped: {cut}: not JSON" in body["sources"]["dr"]
    kept = keptruns.read(Path(body["run"]))
    assert kept.body["sources"]["dr"] == body["sources"]["dr"]
    assert not [p for p in keptruns.runs_dir().iterdir() if p.suffix != ".json"]  # no temporary left behind
