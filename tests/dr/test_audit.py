"""The auditor's verdict against the pair's targets and its GB/T 20988 level (table A.1), and the
report command on a drill record (no lab: the verdict is arithmetic on what a drill recorded)."""

from __future__ import annotations

import json

import pytest

from dr import audit
from tests.support import run_cli


def record(rto, lost_s, level=5, outcome="completed", **fault):
    return {
        "run_id": "20261130-000000-abcd",
        "drill": "failover",
        "kind": "failover",
        "pair": "core-db",
        "primary": "prov-db1",
        "standby": "dr-db1",
        "replication": "sync",
        "started": 1796070000.0,
        "ended": 1796070100.0,
        "outcome": outcome,
        "targets": {"rto_s": 900, "rpo_s": 0, "level": level},
        "faults": [
            {"kind": "kill -9", "node": "prov-db1", "t": 1796070010.0, "rto_s": rto, "lost_seconds": lost_s, **fault}
        ],
        "steps": [{"name": "precheck", "action": "precheck", "ok": True}],
    }


@pytest.mark.parametrize(
    ("rto", "lost_s", "level", "want"),
    [
        (1.6, 0.0, 5, "pass"),
        (1000.0, 0.0, 5, "conditional"),  # misses the pair's 15 min, within level 5's 2 days
        (1.6, 12.0, 5, "conditional"),  # misses RPO 0, within level 5's 30 min
        (1.6, 12.0, 6, "fail"),  # level 6 allows no loss at all
        (3 * 86400.0, 0.0, 5, "fail"),  # beyond level 5's 2 days
        (None, 0.0, 5, "fail"),  # no write after the fault: nothing was recovered
    ],
)
def test_verdict_against_target_and_level(rto, lost_s, level, want):
    assert audit.verdict(record(rto, lost_s, level))[0] == want


def test_an_aborted_drill_or_a_split_brain_fails():
    assert audit.verdict(record(1.0, 0.0, outcome="aborted"))[0] == "fail"
    assert audit.verdict(record(1.0, 0.0, split_brain=True))[0] == "fail"


def test_report_command_writes_html_with_a_timeline_json_and_history(tmp_path):
    for i, rto in enumerate((1.2, 1000.0)):
        r = record(rto, 0.0, detect_s=0.4, promote_s=0.9, route_s=1.0)
        r["run_id"], r["started"] = f"20261130-00000{i}-abcd", 1796070000.0 + i
        d = tmp_path / "drills" / r["run_id"]
        d.mkdir(parents=True)
        (d / "report.json").write_text(json.dumps(r))
    env = {"JINBAO_STATE_DIR": str(tmp_path)}
    r = run_cli("dr", "report", "--participant", "张三 (ops)", "--participant", "Li Si (audit)", env=env)
    assert r.returncode == 0, r.stderr
    d = tmp_path / "drills" / "20261130-000001-abcd"  # the latest
    a = json.loads((d / "audit.json").read_text())
    assert a["verdict"] == "conditional" and a["participants"] == ["张三 (ops)", "Li Si (audit)"]
    assert [h["verdict"] for h in a["history"]] == ["pass", "conditional"]
    rto_row = next(s for s in a["systems"] if s["what"] == "RTO")
    assert rto_row["target"] == 900 and rto_row["result"] == 1000.0 and rto_row["met"] is False
    page = (d / "audit.html").read_text()
    assert "<svg" in page and "first write +1000.000 s" in page and "detection +0.400 s" in page
    assert (
        "张三 (ops)" in page and "CONDITIONAL" in page and "<script" not in page and "http" not in page.split("<svg")[0]
    )
    r = run_cli("dr", "report", "nosuch", env=env)
    assert r.returncode == 2 and "matches 0 drills" in r.stderr
