"""DR benchmark: switchover and failover RTO and RPO over N runs each (default 5), median and
worst, next to Patroni's timing for the same failures (issue 12).

Each run is a real drill (`jinbao dr run switchover|failover --lab ID`) on one lab this bench
brings up (and always takes down; DR_BENCH_LAB=<id> reuses one of yours and leaves it up). A
drill measures RTO from the fault to the canary's first acknowledged write through the service
address, and RPO as acknowledged rows missing on the new primary (dr/drill.py).

Patroni: Debian 12 has patroni 3.0.2 and etcd-server 3.4.23 (`apt-cache policy patroni
etcd-server`), but this bench does not run them: a Patroni cluster with a DCS in the lab's
namespaces is not built. The Patroni column is its *documented* timing with its documented
defaults (ttl 30 s, loop_wait 10 s, retry_timeout 10 s; docs "YAML Configuration Settings"):
- unplanned loss of the leader node: the leader key expires after at most ttl (30 s) and a
  replica acts on its next HA loop (at most loop_wait, 10 s): promotion 30–40 s after the fault,
  before any route or client moves;
- kill -9 of PostgreSQL with Patroni alive: Patroni restarts it in place on its next loop (no
  failover), up to loop_wait (10 s) down;
- planned switchover (`patronictl switchover`): not bounded in the docs; the candidate acts on
  its next loop, so up to loop_wait (10 s), our reading.

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
    "switchover": "≤ 10 s (next loop_wait; not documented as a bound)",
    "failover": "30–40 s to promotion (ttl 30 s + loop_wait 10 s), node loss; kill -9 alone: restart in place",
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
    return f"{statistics.median(values):.3f} s ({max(values):.3f} s)"


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
    finally:
        if own:
            jinbao("lab", "down", "--id", lab_id, timeout=600)
    load = os.getloadavg()[0]
    print(f"\nDR drills on lab {lab_id}, {runs} runs each, sync pair, canary 50 rows/s, load {load:.1f}\n")
    print("| failure | runs (aborted) | jinbao RTO median (worst) | acked rows lost | detection | Patroni (docs) |")
    print("|---|---|---|---|---|---|")
    for drill, rs in results.items():
        det = [r["detect_s"] for r in rs if r["detect_s"] is not None]
        rto = summary([r["rto_s"] for r in rs]) if rs else "—"
        print(
            f"| {drill} | {len(rs)} ({aborted[drill]}) | {rto} | {', '.join(str(r['lost_rows']) for r in rs)} | "
            f"{summary(det) if det else '—'} | {PATRONI[drill]} |"
        )
    print(json.dumps({"runs": runs, "results": results, "aborted": aborted, "patroni": PATRONI}))


if __name__ == "__main__":
    main()
