"""Lab scale benchmark: bring the lab estate up at growing sizes, converge, measure, tear down.

Each size is the lab estate with more cities (two FRR routers each). Prints seconds to build,
seconds to converge (every expected OSPF adjacency up and holding), memory per node (PSS of all
processes in the lab's namespaces, so shared pages count once), and teardown time.

Run: make bench-lab   (sizes: BENCH_LAB_SIZES, default "15 31 61 101" nodes)
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from lab import runtime  # noqa: E402
from lab.record import ns_pids  # noqa: E402


def estate_with_cities(target: Path, cities: int, ospf: tuple[int, int] | None) -> None:
    shutil.copytree(REPO / "inventory" / "lab", target)
    if ospf:
        est = (target / "estate.yml").read_text()
        est = re.sub(r"hello: \d+", f"hello: {ospf[0]}", est)
        est = re.sub(r"dead: \d+", f"dead: {ospf[1]}", est)
        (target / "estate.yml").write_text(est)
    sites = (target / "sites.yml").read_text()
    lines = "".join(f"  - {{name: city{i:02d}, template: city}}\n" for i in range(1, cities + 1))
    sites = re.sub(r"  - \{name: hefei.*?\n  - \{name: chuzhou[^\n]*\n", lambda _: lines, sites, flags=re.S)
    (target / "sites.yml").write_text(sites)


def pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(cities: int, ospf) -> dict:
    with tempfile.TemporaryDirectory(prefix="jinbao-labbench-") as tmp:
        est = Path(tmp) / "estate"
        estate_with_cities(est, cities, ospf)
        lab_id = runtime.new_id()
        t0 = time.time()
        lab = runtime.up(str(est), lab_id, wait=False)
        built = time.time() - t0
        try:
            runtime.wait_converged(lab, timeout=600)
            converged = time.time() - t0
            nodes = len(lab.plan.nodes)
            pids = [p for n in lab.plan.nodes.values() for p in ns_pids(n.ns)]
            mem_mb = sum(pss_kb(p) for p in pids) / 1024
        finally:
            t1 = time.time()
            runtime.down(lab)
            down = time.time() - t1
    return {
        "nodes": nodes,
        "built": built,
        "converged": converged,
        "mem_per_node": mem_mb / nodes,
        "mem_total": mem_mb,
        "down": down,
    }


def main():
    if os.geteuid() != 0:
        raise SystemExit("the lab benchmark needs root")
    sizes = [int(s) for s in os.environ.get("BENCH_LAB_SIZES", "15 31 61 101").split()]
    # The lab estate's 1 s / 4 s OSPF timers; BENCH_LAB_OSPF="10 40" measures FRR's defaults instead.
    ospf = tuple(int(x) for x in os.environ["BENCH_LAB_OSPF"].split()) if os.environ.get("BENCH_LAB_OSPF") else None
    print("== lab scale benchmark (lab estate plus cities; every node runs real daemons) ==")
    print(f"OSPF hello/dead: {f'{ospf[0]}/{ospf[1]} s' if ospf else 'the lab estate own (1/4 s)'}")
    print(f"{'nodes':>6} {'build s':>8} {'converged s':>12} {'MB/node (PSS)':>14} {'total MB':>9} {'down s':>7}")
    for n in sizes:
        cities = max(1, (n - 9) // 2)  # 6 provincial + 3 DR nodes, 2 routers per city
        try:
            r = measure(cities, ospf)
        except runtime.LabError as e:
            print(f"{9 + 2 * cities:>6}  failed: {str(e)[:160]}", flush=True)
            continue
        print(
            f"{r['nodes']:>6} {r['built']:>8.1f} {r['converged']:>12.1f} {r['mem_per_node']:>14.1f} "
            f"{r['mem_total']:>9.0f} {r['down']:>7.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
