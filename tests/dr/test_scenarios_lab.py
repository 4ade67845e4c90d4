"""Unplanned scenarios against a live lab, decided by the witness's quorum: a cut province–DR
link promotes nobody (the standby alone would have), the primary keeps the service, and the
report says so. Every test puts back what it broke, in its finally."""

from __future__ import annotations

import time

import pytest

from tests.dr.labkit import START, acks, pair_state, put_back, run_drill, sql
from tests.support import run_cli

pytestmark = [pytest.mark.lab, pytest.mark.slow]

TIMELINE = "select timeline_id from pg_control_checkpoint()"


def test_a_cut_province_dr_link_promotes_nobody_without_the_witness(drlab, tmp_path):
    assert pair_state(drlab) == START
    timeline = sql(drlab, "prov-db1", TIMELINE)
    try:
        r, rep = run_drill(drlab, "cut-link", tmp_path)
        assert r.returncode == 0, r.stderr + r.stdout
        assert rep["outcome"] == "completed"
        f = rep["faults"][0]
        assert f["kind"] == "province–DR link cut"
        # The standby alone had lost its primary; the witness still saw the primary and not the
        # standby: one vote of three, so no promotion.
        assert f["quorum"] == {
            "witness_says_primary": "up",
            "witness_reaches_standby": False,
            "standby_lost_primary": True,
        }
        assert f["decision"] == "hold" and f["split_brain"] is False
        skipped = {s["action"] for s in rep["steps"] if s.get("skipped")}
        assert {"promote", "fence", "route"} <= skipped
        assert f["lost_rows"] == 0 and 0 < f["rto_s"] <= rep["targets"]["rto_s"]
        md = (tmp_path / "drills" / rep["run_id"] / "report.md").read_text()
        assert "Decision: **hold** (no promotion without the witness's quorum); split brain: **no**" in md
        a = run_cli("dr", "report", rep["run_id"], "--participant", "ops", env={"JINBAO_STATE_DIR": str(tmp_path)})
        assert a.returncode == 0, a.stderr
        page = (tmp_path / "drills" / rep["run_id"] / "audit.html").read_text()
        assert "decision hold; split brain: no" in page and "<svg" in page
        # Read by the test, not the drill: nobody was promoted (a promotion starts a new
        # timeline), and every acknowledged row is on both databases once the link is back.
        assert sql(drlab, "prov-db1", TIMELINE) == timeline
        assert sql(drlab, "dr-db1", "select pg_is_in_recovery()") == "t"
        run_id = rep["run_id"]
        acked = {e["n"] for e in acks(tmp_path / "drills" / run_id)}
        assert acked
        for node in ("prov-db1", "dr-db1"):
            # the standby replays a moment behind the canary's last acks: poll, bounded
            deadline = time.time() + 30
            while True:
                rows = set(map(int, sql(drlab, node, f"select n from dr_canary where run = '{run_id}'").split()))
                if acked <= rows or time.time() > deadline:
                    break
                time.sleep(0.2)
            assert acked <= rows, (node, sorted(acked - rows)[:10])
        print(f"\ncut link: held, writes resumed after {f['rto_s']:.3f} s (degraded at {f['degrade_s']:.3f} s)")
    finally:
        run_cli("lab", "link", "up", "prov-wan1", "dr-wan1", "--id", drlab)
        put_back(drlab)
    assert pair_state(drlab) == START


def test_a_stopped_primary_node_is_promoted_past_with_the_witness_and_fenced_on_contact(drlab, tmp_path):
    assert pair_state(drlab) == START
    try:
        r, rep = run_drill(drlab, "stop-node", tmp_path)
        assert r.returncode == 0, r.stderr + r.stdout
        f = rep["faults"][0]
        assert f["kind"] == "node stopped" and f["decision"] == "promote" and f["split_brain"] is False
        assert f["quorum"]["witness_says_primary"] == "dead" and f["quorum"]["witness_reaches_standby"]
        assert 0 < f["detect_s"] < f["rto_s"] <= rep["targets"]["rto_s"]
        assert f["old_primary_holds_lost"] == f["lost_rows"] == len(f["lost"])
        fence = next(s for s in rep["steps"] if s["action"] == "fence")
        assert fence["result"]["stopped"] == "on contact"  # the node was down: no SSH to stop it by
        heal = next(s for s in rep["steps"] if s["action"] == "heal")
        assert "prov-db1 fenced on contact" in heal["result"]["healed"]
        print(f"\nnode stopped: detected in {f['detect_s']:.3f} s, RTO {f['rto_s']:.3f} s, {f['lost_rows']} lost")
    finally:
        run_cli("lab", "node", "start", "prov-db1", "--id", drlab)  # refused when it runs: harmless
        put_back(drlab)
    assert pair_state(drlab) == START


def test_an_isolated_province_takes_dr_with_it_and_nobody_is_promoted(drlab, tmp_path):
    assert pair_state(drlab) == START
    timeline = sql(drlab, "prov-db1", TIMELINE)
    try:
        r, rep = run_drill(drlab, "isolate-province", tmp_path)
        assert r.returncode == 0, r.stderr + r.stdout
        f = rep["faults"][0]
        # DR's only WAN link goes to the province: the witness reaches neither side
        assert f["quorum"]["witness_says_primary"] == "dead" and not f["quorum"]["witness_reaches_standby"]
        assert f["decision"] == "hold" and f["split_brain"] is False
        assert sql(drlab, "prov-db1", TIMELINE) == timeline
        heal = next(s for s in rep["steps"] if s["action"] == "heal")
        # writes come back only once the province's links do (the first of them lifted is enough)
        assert f["lost_rows"] == 0 and heal["started"] - f["t"] < f["rto_s"] <= rep["targets"]["rto_s"]
        print(f"\nisolated province: held; healed at {f['healed_s']:.3f} s, first write {f['rto_s']:.3f} s")
    finally:
        from lab import runtime
        from lab.record import Lab

        lab = Lab.find(drlab)
        for link in lab.plan.estate.links:
            if "prov" in (lab.plan.estate.devices[link.a.device].site, lab.plan.estate.devices[link.b.device].site):
                runtime.link_set(lab, link.a.device, link.b.device, "up")
        put_back(drlab)
    assert pair_state(drlab) == START
