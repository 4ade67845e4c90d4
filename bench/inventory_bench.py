"""Inventory benchmark: load, resolve and validate the province and a 40,000-device national
estate, and time `ansible-inventory --list` on the same estates in the same run.

Run: make bench-inventory   (or .venv/bin/python bench/inventory_bench.py)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import national_estate

from jinbao.ansible_inventory import as_yaml_inventory
from jinbao.estate import load_estate

REPO = Path(__file__).resolve().parent.parent
ANSIBLE_INV = Path(sys.executable).parent / "ansible-inventory"


def best_of(fn, n):
    times = []
    out = None
    for _ in range(n):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), statistics.median(times), out


def ansible_list(source: Path, plugin: bool) -> float:
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")}
    t = time.perf_counter()
    r = subprocess.run(
        [str(ANSIBLE_INV), "-i", str(source), "--list"], capture_output=True, text=True, env=env, cwd="/tmp"
    )
    elapsed = time.perf_counter() - t
    if r.returncode != 0 or len(r.stdout) < 1000:
        raise SystemExit(f"ansible-inventory failed on {source}: {r.stderr[-2000:]}")
    return elapsed


def row(label, n, secs, peer=None):
    ratio = f"{peer / secs:7.1f}x faster" if peer else ""
    print(f"{label:<58} {n:>7} devices {secs:8.3f} s {secs / n * 1e6:9.1f} µs/device  {ratio}")


def main():
    print("== inventory benchmark (best of runs; ansible-inventory measured in this same run) ==")
    lo, med, prov = best_of(lambda: load_estate("province"), 5)
    n = len(prov.devices)
    print(f"province: {n} devices, {len(prov.links)} links; load+resolve+validate best {lo:.3f} s, median {med:.3f} s")
    with tempfile.TemporaryDirectory(prefix="jinbao-bench-") as tmpdir:
        tmp = Path(tmpdir)
        static = tmp / "province-static.yml"
        static.write_text(yaml.safe_dump(as_yaml_inventory(prov), sort_keys=False))
        a_static = ansible_list(static, plugin=False)
        a_plugin = ansible_list(REPO / "inventory" / "province.jinbao.yml", plugin=True)
        row("jinbao load+resolve+validate (province)", n, lo, a_static)
        row("ansible-inventory --list, static YAML export (province)", n, a_static)
        row("ansible-inventory --list, jinbao plugin (province)", n, a_plugin)

        nat_dir = tmp / "national"
        copies = national_estate.write(nat_dir, 40_000)
        lo, med, nat = best_of(lambda: load_estate(str(nat_dir)), 2)
        n = len(nat.devices)
        print(f"national: {copies} province copies, {n} devices, {len(nat.sites)} sites, {len(nat.links)} links")
        static = tmp / "national-static.yml"
        static.write_text(yaml.safe_dump(as_yaml_inventory(nat), sort_keys=False))
        cfg = tmp / "national.jinbao.yml"
        cfg.write_text(f"plugin: jinbao\nestate: {nat_dir}\n")
        a_static = ansible_list(static, plugin=False)
        a_plugin = ansible_list(cfg, plugin=True)
        row("jinbao load+resolve+validate (national)", n, lo, a_static)
        row("ansible-inventory --list, static YAML export (national)", n, a_static)
        row("ansible-inventory --list, jinbao plugin (national)", n, a_plugin)


if __name__ == "__main__":
    main()
