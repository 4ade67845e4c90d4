"""DR benchmark: switchover and failover RTO and RPO over N runs each (default 5), median and
worst, next to Patroni handling the same failures on the same lab (issue 12).

Each jinbao run is a real drill (`jinbao dr run switchover|failover --lab ID`) on one lab this
bench brings up (and always takes down; DR_BENCH_LAB=<id> reuses one of yours and leaves it up).
A drill measures RTO from the fault to the canary's first acknowledged write through the service
address, and RPO as acknowledged rows missing on the new primary (dr/drill.py).

Patroni is measured, not quoted (bench/patroni_bench.py; DR_BENCH_PATRONI=0 leaves it out):
after jinbao's drills, on the same lab, etcd 3.4.23 (Debian's binary, extracted, not installed)
on the drills' witness node and Patroni 3.0.2 (Debian 12's version, pip into a folder in the lab
dir) on the pair's two nodes, with its documented defaults (ttl 30 s, loop_wait 10 s,
retry_timeout 10 s) and synchronous_mode, PostgreSQL 15 on port 5433 beside jinbao's idle pair.
A canary of the bench's own (bench/patroni_canary.py, 50 rows/s from the drills' canary node)
finds the leader by trying each node. RTO: fault to the first acknowledged write after the first
failed one; RPO: acknowledged rows missing on the leader afterwards. The same faults:
- switchover: `patronictl switchover --leader OLD --candidate OTHER --force`;
- failover: kill -9 of the primary's postmaster, as jinbao's failover drill does. Patroni, alive,
  restarts it in place on its next HA loop: no failover, so its RTO is a restart, not a promotion;
- node loss (Patroni only): kill -9 of the leader's Patroni and postmaster together; the replica
  waits for the leader key's ttl. jinbao's counterpart is its `stop-node` drill, not in this bench.
Its documented timing is printed too: for node loss the leader key expires ttl (30 s) after its
last refresh, which the leader makes every loop_wait (10 s), so 20–30 s after the fault, and the
replica, watching the key, acts then; an in-place restart within loop_wait for kill -9;
switchover not bounded in the docs.

Run: make bench-dr   (DR_BENCH_RUNS, default 5)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
JINBAO = [sys.executable, "-m", "jinbao.cli"]
PATRONI = {
    "switchover": "not bounded in the docs",
    "failover": "restart in place within loop_wait (10 s); no failover",
    "node loss": "leader key expires ttl (30 s) after its last refresh, 0–10 s (loop_wait) before the fault",
}


def jinbao(*args: str, env: dict | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*JINBAO, *args], cwd=REPO, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
    )


def run_drill(lab_id: str, drill: str, state: Path) -> dict | None:
    """The drill's report, or None when it aborted (it restored the pair; the bench says so and
    goes on: on a busy machine a canary can miss a precheck's budget)."""
    r = jinbao("dr", "run", drill, "--lab", lab_id, env={"JINBAO_STATE_DIR": str(state)})
    reports = sorted((state / "drills").glob("*/report.json"), key=lambda p: p.stat().st_mtime)
    if r.returncode != 0 or not reports:
        print(f"drill {drill} aborted ({r.returncode}): {(r.stderr or r.stdout).strip()[-300:]}", file=sys.stderr)
        jinbao("dr", "restore", "--lab", lab_id)
        return None
    return json.loads(reports[-1].read_text())


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} s ({max(values):.3f} s)" if values else "—"


def run_patroni(lab_id: str, runs: int) -> dict[str, list[dict]]:
    """The same faults under Patroni on the same lab; everything it started is killed by PID and
    removed, even when a fault fails or on Ctrl-C."""
    sys.path.insert(0, str(REPO))
    from bench.patroni_bench import PatroniPair
    from lab.record import Lab

    out: dict[str, list[dict]] = {"switchover": [], "failover": [], "node loss": []}
    pair = PatroniPair(Lab.find(lab_id), REPO / "dr" / "drills" / "failover.yml")
    try:
        pair.install()
        pair.start()
        for i in range(runs):
            for fault in out:
                r = pair.drill(fault, f"b{os.getpid()}-{i}-{fault.replace(' ', '')}")
                out[fault].append(r)
                print(
                    f"run {i + 1}/{runs} Patroni {fault}: RTO {r['rto_s']:.3f} s, {r['lost_rows']} rows lost",
                    file=sys.stderr,
                )
    finally:
        pair.stop()
    return out


def main() -> None:
    runs = int(os.environ.get("DR_BENCH_RUNS", "5"))
    lab_id = os.environ.get("DR_BENCH_LAB")
    own = lab_id is None
    if own:
        lab_id = "jbdrb" + str(os.getpid())[-5:]
        r = jinbao("lab", "up", "--id", lab_id, timeout=600)
        if r.returncode != 0:
            raise SystemExit(r.stderr)
    results: dict[str, list[dict]] = {"switchover": [], "failover": []}
    aborted = {"switchover": 0, "failover": 0}
    patroni: dict[str, list[dict]] = {}
    patroni_error = None if os.environ.get("DR_BENCH_PATRONI", "1") != "0" else "DR_BENCH_PATRONI=0"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(runs):
                for drill in results:
                    t0 = time.time()
                    rep = run_drill(lab_id, drill, Path(tmp))
                    if rep is None:
                        aborted[drill] += 1
                        continue
                    f = rep["faults"][0]  # the fault itself; the failback leg is the second
                    results[drill].append(
                        {
                            "rto_s": f["rto_s"],
                            "lost_rows": f["lost_rows"],
                            "lost_seconds": f["lost_seconds"],
                            "detect_s": f.get("detect_s"),
                            "verdict": rep["verdict"],
                        }
                    )
                    print(
                        f"run {i + 1}/{runs} {drill}: RTO {f['rto_s']:.3f} s, {f['lost_rows']} rows lost, "
                        f"drill took {time.time() - t0:.0f} s",
                        file=sys.stderr,
                    )
            if os.environ.get("DR_BENCH_PATRONI", "1") != "0":
                try:
                    patroni = run_patroni(lab_id, runs)
                except Exception as e:  # jinbao's runs still count; the table says Patroni failed
                    patroni_error = f"{type(e).__name__}: {e}"
                    print(f"Patroni not measured: {patroni_error}", file=sys.stderr)
    finally:
        if own:
            jinbao("lab", "down", "--id", lab_id, timeout=600)
    load = os.getloadavg()[0]
    print(f"\nDR drills on lab {lab_id}, {runs} runs each, sync pair, canary 50 rows/s, load {load:.1f}\n")
    print(
        "| failure | runs (aborted) | jinbao RTO median (worst) | acked rows lost | detection "
        "| Patroni RTO median (worst) | Patroni rows lost | Patroni / jinbao (median) | Patroni (docs) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for drill in ("switchover", "failover", "node loss"):
        rs, ps = results.get(drill, []), patroni.get(drill, [])
        det = [r["detect_s"] for r in rs if r["detect_s"] is not None]
        jr, pr = [r["rto_s"] for r in rs], [r["rto_s"] for r in ps]
        ratio = f"{statistics.median(pr) / statistics.median(jr):.1f}×" if jr and pr else "—"
        print(
            f"| {drill} | {len(rs)} ({aborted.get(drill, 0)}) | {summary(jr)} | "
            f"{', '.join(str(r['lost_rows']) for r in rs) or '—'} | {summary(det)} | {summary(pr)} | "
            f"{', '.join(str(r['lost_rows']) for r in ps) or '—'} | {ratio} | {PATRONI[drill]} |"
        )
    print(
        json.dumps({"runs": runs, "results": results, "aborted": aborted, "patroni": patroni, "patroni_docs": PATRONI})
    )


if __name__ == "__main__":
    main()
