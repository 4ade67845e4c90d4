"""compliance benchmark: the province's rendered configs against every device rule.

1. Render all of the province's devices (1,211) through the core's rendering seam, one file each,
   as `jinbao config render` writes them (not timed: that is netconfig's benchmark).
2. Read, detect and evaluate every file against every device rule, as `jinbao audit config` does
   over a folder of dumps: median of BENCH_COMPLIANCE_ROUNDS (default 3). Goal: under 5 s.
3. One whole `audit run` of the province without monitoring (inventory design rules, rendering
   and evaluating every device, the CA, DR drills), once.

Every rendered file must give no finding (a clean estate); the bench fails otherwise.

Run: make bench-compliance
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from compliance import configtext, devicecheck, runner  # noqa: E402
from compliance.registry import registry  # noqa: E402
from jinbao.estate import load_estate  # noqa: E402
from jinbao.platforms import facts  # noqa: E402
from jinbao.rendering import rendered  # noqa: E402

GOAL_S = 5.0


def main() -> int:
    rounds = int(os.environ.get("BENCH_COMPLIANCE_ROUNDS", "3"))
    estate = load_estate("province")
    rules = registry().of("device_config")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        for d in estate.devices.values():
            if not facts(d.platform).config_family:  # an appliance: SNMP only, no config to judge
                continue
            for syntax, text in rendered(estate, d).items():
                if syntax in {p for r in rules for p in r.platforms}:
                    (folder / f"{d.name}.{syntax}.conf").write_text(text)
        render_s = time.perf_counter() - t
        files = sorted(folder.glob("*.conf"))
        times, cpu, judged, findings = [], [], 0, 0
        for _ in range(rounds):
            t, c = time.perf_counter(), time.process_time()
            verdicts = [v for f in files for v in devicecheck.evaluate(configtext.read(f), rules)]
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
            judged = sum(1 for v in verdicts if v.status != "not_applicable")
            findings = sum(1 for v in verdicts if v.status in ("finding", "no_evidence"))
    with tempfile.TemporaryDirectory() as state:
        os.environ["JINBAO_STATE_DIR"] = state
        t = time.perf_counter()
        run = runner.run("province", with_monitoring=False)
        run_s = time.perf_counter() - t
    med = statistics.median(times)
    pairs = len(files) * len(rules)
    load = os.getloadavg()[0]
    print(f"province: {len(estate.devices)} devices, {len(files)} config files (rendered in {render_s:.2f} s)")
    print(f"  {len(rules)} device rules; load average {load:.1f} on {os.cpu_count()} CPU(s) while measuring")
    met = "met" if med < GOAL_S else "NOT met"
    print(f"evaluate (read + detect + every rule), median of {rounds}: {med:.2f} s wall, ", end="")
    rounds_s = ", ".join(f"{x:.2f}" for x in times)
    print(f"{statistics.median(cpu):.2f} s CPU (rounds: {rounds_s}); goal < {GOAL_S:.0f} s: {met}")
    print(f"  {pairs / med:,.0f} rule x device evaluations per second; {judged} judged, ", end="")
    print(f"{findings} finding or no-evidence verdicts")
    print(f"whole `audit run` of the province without monitoring: {run_s:.2f} s, {len(run.verdicts)} verdicts")
    return 0 if findings == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
