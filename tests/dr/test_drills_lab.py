"""Drills against a live lab: a planned switchover loses nothing; a killed primary fails over with
RTO measured and every acknowledged row accounted for in both databases; a drill aborted between
steps leaves the pair as it found it; a refused run touches nothing.

One lab for tests/dr (tests/dr/conftest.py), always torn down (JINBAO_TEST_LAB=<id> reuses one you brought up)."""

from __future__ import annotations

import subprocess

import pytest

from tests.dr.labkit import START, acks, pair_state, put_back, run_drill, sql
from tests.support import run_cli

pytestmark = [pytest.mark.lab, pytest.mark.slow]


def test_planned_switchover_loses_nothing_and_comes_back(drlab, tmp_path):
    assert pair_state(drlab) == START
    r, rep = run_drill(drlab, "switchover", tmp_path)
    assert r.returncode == 0, r.stderr + r.stdout
    assert rep["outcome"] == "completed" and rep["verdict"] == "pass"
    to_dr, home = rep["faults"]
    for f in (to_dr, home):
        assert f["lost_rows"] == 0 and f["acked_on_old"] > 0
        assert 0 < f["rto_s"] <= rep["targets"]["rto_s"]
    assert to_dr["node"] == "prov-db1" and home["node"] == "dr-db1"
    print(f"\nswitchover RTO {to_dr['rto_s']:.3f} s, failback RTO {home['rto_s']:.3f} s, 0 rows lost")
    # every acknowledged row is in the primary, read here, not by the drill
    run_id = rep["run_id"]
    rows = set(map(int, sql(drlab, "prov-db1", f"select n from dr_canary where run = '{run_id}'").split()))
    acked = {e["n"] for e in acks(tmp_path / "drills" / run_id)}
    assert acked and acked <= rows
    assert pair_state(drlab) == START


def test_killed_primary_fails_over_with_rows_counted_in_both_databases(drlab, tmp_path):
    r, rep = run_drill(drlab, "failover", tmp_path)
    assert r.returncode == 0, r.stderr + r.stdout
    f = rep["faults"][0]
    assert f["kind"] == "kill -9" and f["node"] == "prov-db1"
    assert 0 < f["detect_s"] < f["rto_s"] <= rep["targets"]["rto_s"]
    # counted exactly: the rows missing from DR are the ones the old primary held (inspect step)
    assert f["old_primary_holds_lost"] == f["lost_rows"] == len(f["lost"])
    if rep["replication"] == "sync":
        assert f["lost_rows"] == 0
    # and read from both databases by the test: after failback, prov-db1 is primary again and
    # dr-db1 its replica; every acknowledged row not counted lost is in both.
    run_id = rep["run_id"]
    acked = {e["n"] for e in acks(tmp_path / "drills" / run_id)}
    for node in ("prov-db1", "dr-db1"):
        rows = set(map(int, sql(drlab, node, f"select n from dr_canary where run = '{run_id}'").split()))
        assert acked - set(f["lost"]) <= rows, node
    print(f"\nfailover: detected in {f['detect_s']:.3f} s, RTO {f['rto_s']:.3f} s, {f['lost_rows']} rows lost")
    # the killed postmaster's System V segment stayed in its node's IPC namespace, not the machine's
    shm = subprocess.run(["ipcs", "-m"], capture_output=True, text=True).stdout.splitlines()
    assert not [l for l in shm if len(l.split()) > 2 and l.split()[2] in ("2600", "jinbao")], shm
    assert pair_state(drlab) == START


ABORTS = """\
drill: aborts
kind: failover
pair: core-db
canary: {node: hefei-wan1, rate: 50}
witness: {node: hefei-wan2}
steps:
  - {name: precheck, action: precheck, budget: 60s, checks: [roles, streaming, service_on_primary]}
  - {name: canary, action: canary_start, budget: 30s}
  - {name: kill, action: kill_db, side: primary, fault: true, budget: 10s}
  - {name: fence, action: fence, side: primary, budget: 10s}
  - {name: promote, action: promote, side: standby, budget: 20s}
  - {name: an impossible budget, action: route, side: standby, budget: 1ms}
  - {name: never reached, action: verify, budget: 30s}
"""


def test_a_drill_aborted_between_steps_restores_the_starting_state(drlab, tmp_path):
    f = tmp_path / "aborts.yml"
    f.write_text(ABORTS)
    r, rep = run_drill(drlab, str(f), tmp_path)
    assert r.returncode == 1, r.stderr + r.stdout
    assert rep["outcome"] == "aborted" and "over its budget" in rep["error"]
    assert [s["name"] for s in rep["steps"]][-1] == "an impossible budget"
    assert "restore_error" not in rep, rep.get("restore_error")
    assert rep["restored"], "the drill had promoted DR; restoring had work to do"
    assert pair_state(drlab) == START


def test_a_failed_precheck_aborts_and_touches_nothing(drlab, tmp_path):
    f = tmp_path / "wrong.yml"
    f.write_text(ABORTS.replace("checks: [roles, streaming, service_on_primary]", "checks: [canary_writes]"))
    before = pair_state(drlab)
    r, rep = run_drill(drlab, str(f), tmp_path)
    assert r.returncode == 1 and rep["outcome"] == "aborted" and "canary_writes" in rep["error"]
    assert "restored" not in rep and len(rep["steps"]) == 1
    assert pair_state(drlab) == before == START


def test_a_refused_run_touches_nothing(drlab, tmp_path):
    before = pair_state(drlab)
    rows = sql(drlab, "prov-db1", "select count(*) from pg_stat_activity")
    r = run_cli("--estate", "province", "dr", "run", "switchover", env={"JINBAO_STATE_DIR": str(tmp_path)})
    assert r.returncode == 2 and "--confirm province" in r.stderr
    assert not (tmp_path / "drills").exists()
    assert pair_state(drlab) == before == START
    assert sql(drlab, "prov-db1", "select count(*) from pg_stat_activity") == rows


def test_a_frozen_switchover_acknowledges_nothing_on_the_old_primary_after_the_freeze(drlab, tmp_path):
    assert pair_state(drlab) == START
    try:
        r, rep = run_drill(drlab, "switchover-frozen", tmp_path)
        assert r.returncode == 0, r.stderr + r.stdout
        assert rep["outcome"] == "completed" and rep["verdict"] == "pass"
        events = acks(tmp_path / "drills" / rep["run_id"])
        for f in rep["faults"]:
            assert f["kind"].endswith("(frozen first)") and f["lost_rows"] == 0
            old = next(s for s in rep["steps"] if s["action"] == "freeze" and s["side"] == f["side"])
            frozen = old["result"]["frozen_at"]
            assert f["t"] == frozen  # RTO is measured from the freeze: the application's outage
            # read-only from the freeze: no write the old primary acknowledged came after it
            late = [e for e in events if e["t"] > frozen + 0.5 and e["server"].endswith(f"/{f['node']}/pg/data")]
            assert not [e for e in late if e["t"] < f["t"] + f["rto_s"]], late[:3]
        print(f"\nfrozen switchover RTO {rep['faults'][0]['rto_s']:.3f} s, back {rep['faults'][1]['rto_s']:.3f} s")
    finally:
        put_back(drlab)
    assert pair_state(drlab) == START
