"""An unplanned failover of an asynchronous pair under load: the rows lost are counted exactly,
and cross-checked against both databases (the drill reads the old primary alone before it is
rewound; the test reads both afterwards).

Its own lab, from a copy of the lab estate whose pair is asynchronous (RPO 30 s), always torn
down. A bulk writer on the primary makes WAL faster than the standby receives it, so stopping
the primary's node can leave acknowledged canary rows behind on it."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from jinbao.target import targets
from tests.dr.labkit import acks, run_drill, sql
from tests.support import REPO, run_cli

pytestmark = [pytest.mark.lab, pytest.mark.slow]

LOAD = (
    "/usr/lib/postgresql/15/bin/psql -XAtq -h /run/postgresql -d postgres -c "
    "'create table if not exists dr_filler (x text)' && while /usr/lib/postgresql/15/bin/psql -XAtq "
    "-h /run/postgresql -d postgres -c \"insert into dr_filler select repeat('x', 400) from "
    'generate_series(1, 5000)" >/dev/null 2>&1; do :; done'
)


# stop-node.yml without its failback (the lab is this module's own, and goes): a stall first.
STALLED = """\
drill: stop-node-stalled
kind: failover
pair: core-db
canary: {node: hefei-wan1, rate: 100}
witness: {node: hefei-wan2, interval: 0.2, failures: 3}
steps:
  - {name: precheck, action: precheck, budget: 60s, checks: [roles, streaming, service_on_primary, witness]}
  - {name: canary under load, action: canary_start, budget: 90s, checks: [canary_writes]}
  - {name: WAL stops leaving, action: stall_replication, side: primary, budget: 30s}
  - {name: stop the primary node, action: stop_node, side: primary, fault: true, budget: 30s}
  - {name: the witness decides, action: arbitrate, side: standby, budget: 15s}
  - {name: fence the old primary, action: fence, side: primary, when: promote, budget: 10s}
  - {name: promote DR, action: promote, side: standby, when: promote, budget: 20s}
  - {name: service address to DR, action: route, side: standby, when: promote, budget: 10s}
  - {name: first write at DR, action: verify, when: promote, budget: 30s, checks: [one_primary]}
  - {name: node back, action: heal, budget: 60s}
  - {name: count on the old primary, action: inspect, side: primary, when: promote, budget: 60s}
  - {name: old primary follows DR, action: rejoin, side: primary, when: promote, budget: 300s}
  - {name: canary stop and count, action: canary_stop, budget: 30s}
"""


@pytest.fixture(scope="module")
def asynclab(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("the lab needs root (network namespaces)")
    estate = tmp_path_factory.mktemp("estate") / "lab"
    shutil.copytree(REPO / "inventory" / "lab", estate)
    policy = estate / "policy.yml"
    text = policy.read_text()
    assert "rpo: 0s, replication: sync" in text
    policy.write_text(text.replace("rpo: 0s, replication: sync", "rpo: 30s, replication: async"))
    from lab import runtime

    lab = runtime.up(str(estate), runtime.new_id(), wait=True, timeout=240)
    try:
        r = run_cli("lab", "db", "up", "--id", lab.id)
        assert r.returncode == 0, r.stderr
        yield lab.id
    finally:
        runtime.down(lab)


@pytest.mark.timeout(1200)  # its own lab's start, then a drill under a bulk writer on a 2-core machine
def test_async_failover_under_load_counts_lost_rows_in_both_databases(asynclab, tmp_path):
    # In the lab the standby receives WAL as fast as it is written: with the bulk writer, 0.3–3.9 MB
    # of lag, all of it replay, and 0 rows lost on kill -9 or a stopped node. Loss needs WAL that
    # never left: the senders are stalled (a congested WAN), then the node is stopped.
    rb = tmp_path / "stop-node-loaded.yml"
    rb.write_text(STALLED)
    load = subprocess.Popen(
        targets(f"lab:{asynclab}")["prov-db1"].ssh_command(LOAD), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        r, rep = run_drill(asynclab, str(rb), tmp_path)
    finally:
        load.terminate()  # the ssh we started; its loop ends with the stopped node anyway
        load.wait(timeout=30)
    assert r.returncode == 0, r.stderr + r.stdout
    assert rep["replication"] == "async" and rep["outcome"] == "completed"
    f = rep["faults"][0]
    assert f["kind"] == "node stopped" and f["decision"] == "promote"
    # Counted exactly: every acknowledged row missing from DR was found on the old primary,
    # read alone before it was rewound; none counted lost is anywhere now (rewound away).
    assert f["old_primary_holds_lost"] == f["lost_rows"] == len(f["lost"])
    stall = next(s for s in rep["steps"] if s["action"] == "stall_replication")
    # every row acknowledged after the senders stalled never left the primary: all lost, and counted
    assert f["lost_rows"] >= stall["result"]["acked_past_stall"] >= 10
    run_id = rep["run_id"]
    acked = {e["n"] for e in acks(tmp_path / "drills" / run_id)}
    lost = set(f["lost"])
    assert lost <= acked
    for node in ("prov-db1", "dr-db1"):
        deadline = time.time() + 30  # the rebuilt standby replays a moment behind: poll, bounded
        while True:
            rows = set(map(int, sql(asynclab, node, f"select n from dr_canary where run = '{run_id}'").split()))
            if acked - lost <= rows or time.time() > deadline:
                break
            time.sleep(0.2)
        assert acked - lost <= rows, node
        assert not (lost & rows), node
    tick = 1 / 100
    assert f["lost_seconds"] == pytest.approx(
        (
            max(e["t"] for e in acks(tmp_path / "drills" / run_id) if e["n"] in lost)
            - min(e["t"] for e in acks(tmp_path / "drills" / run_id) if e["n"] in lost)
            + tick
        )
        if lost
        else 0.0
    )
    print(
        f"\nasync failover under load: lag before the fault {rep['steps'][1]['result'].get('lag_bytes_under_load')} "
        f"bytes, {f['lost_rows']} acknowledged rows lost ({f['lost_seconds']:.3f} s of writes), "
        f"RTO {f['rto_s']:.3f} s"
    )
