"""Provision benchmark (issue 13): converge and verify every server of a 61-node lab with
`jinbao provision` / `jinbao verify`'s own runner (jinbao/provision.py), from the lab's operator seat.

The estate is the lab estate with its three cities replaced by cities of two FRR routers and two
Linux servers each (13 cities: 9 + 4 x 13 = 61 nodes, 30 of them servers), each server on its own
root filesystem. Measured, wall time with the forks used:
1. the first converge of playbooks/harden.yml (bare nodes);
2. the idempotent re-run (every host must report 0 changed, or the bench fails);
3. testinfra (every suite of roles/*/tests) over every server;
4. where the time goes: per task, from jinbao's callback (the first task also pays for each
   host's first SSH connection and the Python interpreter discovery), and two small plays on
   their own: one `raw: true` per host (SSH setup alone) and full fact gathering;
5. what the SSH tuning gains: the idempotent re-run again without pipelining, without
   ControlPersist, and without both.
The bench brings up its own lab and always takes it down.

Run: make bench-provision   (BENCH_PROVISION_FORKS, default 20; BENCH_PROVISION_CITIES, default 13)
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

from jinbao.provision import playbook, playbook_path, seat  # noqa: E402
from jinbao.verify import verify  # noqa: E402
from lab import runtime  # noqa: E402

CITY_SERVERS = (
    '      - {name: "{site}-app1", role: app_server, platform: linux, vendor: Linux, model: server, zone: core}\n'
    '      - {name: "{site}-app2", role: app_server, platform: linux, vendor: Linux, model: server, zone: core}\n'
)


def estate(target: Path, cities: int) -> None:
    shutil.copytree(REPO / "inventory" / "lab", target)
    sites = (target / "sites.yml").read_text()
    sites = sites.replace(
        '"{site}-wan2", role: wan_router, platform: frr, vendor: FRRouting, model: frr, zone: core, loopback: true}\n',
        '"{site}-wan2", role: wan_router, platform: frr, vendor: FRRouting, model: frr, zone: core, loopback: true}\n'
        + CITY_SERVERS,
        1,
    )
    lines = "".join(f"  - {{name: city{i:02d}, template: city}}\n" for i in range(1, cities + 1))
    sites = re.sub(r"  - \{name: hefei.*?\n  - \{name: chuzhou[^\n]*\n", lambda _: lines, sites, flags=re.S)
    (target / "sites.yml").write_text(sites)


def tasks_line(run) -> str:
    return ", ".join(f"{t['task'].split(' : ')[-1][:48]} {t['seconds']:.1f}s" for t in run.tasks if "seconds" in t)


def timed(label: str, s, book, forks: int, **kw):
    run = playbook(s, book, forks=forks, **kw)
    changed = sum(1 for r in run.results.results.values() if r.changed)
    failed = sorted(run.results.failed_hosts)
    print(
        f"{label:<44} {run.seconds:>7.1f} s   hosts {len(run.results.results)}, changed {changed}, "
        f"failed {len(failed)}{' ' + ','.join(failed[:5]) if failed else ''}",
        flush=True,
    )
    return run


def main():
    if os.geteuid() != 0:
        raise SystemExit("the provision benchmark needs root (it brings up a lab)")
    forks = int(os.environ.get("BENCH_PROVISION_FORKS", "20"))
    cities = int(os.environ.get("BENCH_PROVISION_CITIES", "13"))
    with tempfile.TemporaryDirectory(prefix="jinbao-provbench-") as tmp:
        os.environ["JINBAO_STATE_DIR"] = str(Path(tmp) / "state")
        est = Path(tmp) / "estate"
        estate(est, cities)
        t0 = time.monotonic()
        lab = runtime.up(str(est), runtime.new_id(), wait=True, timeout=900)
        try:
            nodes = len(lab.plan.nodes)
            s = seat(f"lab:{lab.id}", str(est))
            print(f"== provision benchmark: {nodes}-node lab {lab.id} up in {time.monotonic() - t0:.0f} s ==")
            print(
                f"servers {len(s.targets)}, forks {forks}, playbook harden.yml (ssh_hardening), CPUs {os.cpu_count()}"
            )
            harden = playbook_path("harden")
            first = timed("first converge (pipelining, ControlPersist)", s, harden, forks)
            print(f"   where the time goes: {tasks_line(first)}")
            again = timed("idempotent re-run", s, harden, forks)
            print(f"   where the time goes: {tasks_line(again)}")
            not_idem = sorted(h for h, r in again.results.results.items() if r.changed)
            t1 = time.monotonic()
            checks = verify(s)
            bad = sorted(checks.results.failed_hosts)
            n = sum(len(c) for c in checks.checks.values())
            print(
                f"{'testinfra (every roles/*/tests suite)':<44} {time.monotonic() - t1:>7.1f} s   "
                f"{n} checks, hosts failed {len(bad)}"
            )
            with tempfile.TemporaryDirectory(dir=tmp) as plays:
                ssh = Path(plays) / "ssh.yml"
                ssh.write_text(
                    "- name: Open an SSH session per host\n  hosts: all\n  gather_facts: false\n  tasks:\n"
                    "    - name: Run true\n      ansible.builtin.raw: 'true'\n      changed_when: false\n"
                )
                facts = Path(plays) / "facts.yml"
                facts.write_text("- name: Gather every fact\n  hosts: all\n  gather_facts: true\n  tasks: []\n")
                timed("SSH setup alone (raw: true, no ControlPersist)", s, ssh, forks, control_persist=None)
                timed("full fact gathering (setup, all subsets)", s, facts, forks)
            timed("idempotent re-run, no pipelining", s, harden, forks, pipelining=False)
            timed("idempotent re-run, no ControlPersist", s, harden, forks, control_persist=None)
            timed("idempotent re-run, neither", s, harden, forks, pipelining=False, control_persist=None)
            timed("idempotent re-run, forks 5 (Ansible's default)", s, harden, 5)
            if not_idem or bad or first.results.failed:
                raise SystemExit(f"not idempotent on {not_idem}, testinfra failed on {bad}")
        finally:
            runtime.down(lab)


if __name__ == "__main__":
    main()
