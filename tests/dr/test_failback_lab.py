"""Failback after a real failover: the province's killed primary is rebuilt as DR's standby and
the pair switched home; the original roles are back and no acknowledged row of either drill is
lost (read from both databases by the test). Uses tests/dr's shared lab; puts it back in finally."""

from __future__ import annotations

import pytest

from tests.dr.labkit import START, acks, pair_state, put_back, run_drill, sql

pytestmark = [pytest.mark.lab, pytest.mark.slow]

# The disaster, without the failback that failover.yml carries: DR ends as the primary.
DISASTER = """\
drill: disaster
kind: failover
pair: core-db
canary: {node: hefei-wan1, rate: 50}
witness: {node: hefei-wan2, interval: 0.2, failures: 3}
steps:
  - {name: precheck, action: precheck, budget: 60s, checks: [roles, streaming, service_on_primary, witness]}
  - {name: canary, action: canary_start, budget: 30s, checks: [canary_writes]}
  - {name: kill the primary, action: kill_db, side: primary, fault: true, budget: 10s}
  - {name: witness detects, action: detect, budget: 10s}
  - {name: fence, action: fence, side: primary, budget: 10s}
  - {name: promote DR, action: promote, side: standby, budget: 20s}
  - {name: service address to DR, action: route, side: standby, budget: 10s}
  - {name: first write at DR, action: verify, budget: 30s, checks: [rpo_zero]}
  - {name: canary stop, action: canary_stop, budget: 30s}
"""


def test_failback_rebuilds_the_old_primary_and_restores_the_original_roles(drlab, tmp_path):
    assert pair_state(drlab) == START
    try:
        (tmp_path / "disaster.yml").write_text(DISASTER)
        r, before = run_drill(drlab, str(tmp_path / "disaster.yml"), tmp_path / "a")
        assert r.returncode == 0, r.stderr + r.stdout
        assert sql(drlab, "dr-db1", "select pg_is_in_recovery()") == "f"  # DR is the primary now
        r, rep = run_drill(drlab, "failback", tmp_path / "b")
        assert r.returncode == 0, r.stderr + r.stdout
        assert rep["kind"] == "failback" and rep["outcome"] == "completed" and rep["verdict"] == "pass"
        rebuilt = next(s for s in rep["steps"] if s["name"] == "the province follows DR")
        assert rebuilt["result"]["how"] in ("pg_rewind", "base backup")
        f = rep["faults"][0]
        assert f["node"] == "dr-db1" and f["lost_rows"] == 0 and f["split_brain"] is False
        assert pair_state(drlab) == START  # original roles, streaming, synchronous, service address
        # no data loss, read by the test: every row either drill had acknowledged is on both databases
        for rp, d in ((before, tmp_path / "a"), (rep, tmp_path / "b")):
            acked = {e["n"] for e in acks(d / "drills" / rp["run_id"])}
            assert acked
            for node in ("prov-db1", "dr-db1"):
                q = f"select n from dr_canary where run = '{rp['run_id']}'"
                assert acked <= set(map(int, sql(drlab, node, q).split())), (node, rp["drill"])
        print(f"\nfailback: province rebuilt by {rebuilt['result']['how']}, RTO home {f['rto_s']:.3f} s, 0 lost")
    finally:
        put_back(drlab)
    assert pair_state(drlab) == START
