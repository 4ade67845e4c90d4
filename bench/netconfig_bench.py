"""netconfig benchmark, the reads next to their peer tools in the same run:
1. render the whole province (1,211 devices) from the estate, then render + check; and the lab
   estate, whose FRR and nftables renderings are checked by vtysh --dryrun and nft -c;
2. read facts + interfaces + OSPF neighbours from every FRR router of a live lab: jinbao's
   drivers (concurrent, as `jinbao config get` runs them), a sequential netmiko loop, and
   `ansible-playbook` with ansible.builtin.command, each doing real reads over SSH from the
   lab's operator namespace. Every tool must see the same interfaces and neighbour counts.

The bench brings up its own lab and always takes it down. It needs root (namespaces).

Run: make bench-netconfig   (BENCH_NETCONFIG_ROUNDS, default 3: each figure is the median)
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import yaml  # noqa: E402
from netmiko import ConnectHandler  # noqa: E402

from jinbao.estate import load_estate  # noqa: E402
from jinbao.netns import connect  # noqa: E402
from jinbao.result import run_task  # noqa: E402
from jinbao.target import Target, targets  # noqa: E402
from lab import runtime  # noqa: E402
from netconfig import checks  # noqa: E402
from netconfig.drivers import driver_for, session  # noqa: E402
from netconfig.render import render_estate  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_NETCONFIG_ROUNDS", "3"))
# The same three reads for netmiko and Ansible; stderr dropped as the FRR driver does (vtysh_pam
# prints a warning there for a non-root user).
COMMANDS = ("show version", "show interface", "show ip ospf neighbor")
# What every tool must agree on, per router: hostname, interface names, OSPF neighbour count.
HOSTNAME = re.compile(r"^FRRouting \S+ \((\S+)\)", re.M)
INTERFACE = re.compile(r"^Interface (\S+) is ", re.M)
NEIGHBOUR = re.compile(r"^\d+\.\d+\.\d+\.\d+\s", re.M)


def machine() -> str:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"nproc {os.cpu_count()}, load {load}"


# -- 1. render --------------------------------------------------------------------------------------


def render_all(estate, check: bool) -> tuple[float, Counter, Counter]:
    """Seconds over every device, as `jinbao config render` does it (intents once, Jinja2 per
    device, checkers in a pool of 4: they are subprocesses); devices rendered and files checked,
    by platform; platforms with no templates yet count as None."""
    rendered: Counter = Counter()
    checked: Counter = Counter()

    def check_files(files: dict[str, str]) -> list:
        return [p for syntax, text in files.items() for p in checks.check(syntax, text) or ()]

    t = time.perf_counter()
    with ThreadPoolExecutor(max_workers=4) as pool:
        done = []
        for name, files in render_estate(estate, list(estate.devices)):
            platform = estate.devices[name].platform
            rendered[platform if files is not None else None] += 1
            if files is not None and check:
                done.append(pool.submit(check_files, files))
                checked[platform] += sum(1 for syntax in files if checks.has_checker(syntax))
        problems = [p for f in done for p in f.result()]
    seconds = time.perf_counter() - t
    if problems:
        raise SystemExit(f"renderings failed their check: {problems[:5]}")
    return seconds, rendered, checked


def bench_render() -> None:
    print("-- render (in memory; the CLI also writes the files) --", flush=True)
    for name in ("province", "lab"):
        estate = load_estate(name)
        plain, rendered, _ = render_all(estate, check=False)
        full, _, checked = render_all(estate, check=True)
        n = rendered.total() - rendered[None]
        missing = sorted({d.platform for d in estate.devices.values()} - set(rendered))
        unchecked = sorted(p for p in rendered if p and not checked[p])
        print(
            f"{name:<9} {len(estate.devices):>5} devices, {n} rendered"
            + (f" ({rendered[None]} have no templates yet: {', '.join(missing)})" if rendered[None] else "")
            + f"\n  render          {plain:>7.2f} s  {n / plain:>8,.0f} devices/s"
            + f"\n  render + check  {full:>7.2f} s  {n / full:>8,.0f} devices/s  "
            + f"({checked.total()} files checked; no checker yet for {', '.join(unchecked) or '-'})",
            flush=True,
        )


# -- 2. reads ---------------------------------------------------------------------------------------


def seen_in_text(version: str, interfaces: str, ospf: str) -> tuple[str, tuple[str, ...], int]:
    m = HOSTNAME.search(version)
    return (m[1] if m else "?", tuple(sorted(INTERFACE.findall(interfaces))), len(NEIGHBOUR.findall(ospf)))


def jinbao_read(target: Target) -> tuple[str, tuple[str, ...], int]:
    # One session per router, three getters on it: what `config get` does per getter, merged.
    with session(driver_for(target)) as d:
        facts, interfaces, neighbours = d.get_facts(), d.get_interfaces(), d.get_ospf_neighbors()
    return facts["hostname"], tuple(sorted(interfaces)), len(neighbours)


def run_jinbao(routers: list[Target], workers: int = 16) -> dict:
    agg = run_task(jinbao_read, routers, name="get facts+interfaces+ospf", workers=workers)
    if agg.failed:
        raise SystemExit(f"jinbao reads failed: {[(h, r.why) for h, r in agg.failed_hosts.items()]}")
    return {h: r.data for h, r in agg.results.items()}


def netmiko_connect(t: Target) -> ConnectHandler:
    """A netmiko session to one lab node, as an operator in the ops namespace would open it."""
    return ConnectHandler(
        device_type=t.facts.netmiko_device_type,
        host=t.host,
        port=t.port,
        username=t.user,
        use_keys=True,
        key_file=str(t.identity_file),
        allow_agent=False,
        # The lab's pinned host keys, as jinbao's driver and Ansible use them.
        ssh_strict=True,
        system_host_keys=False,
        alt_host_keys=True,
        alt_key_file=str(t.known_hosts),
        # The management network is reachable only from the ops namespace.
        sock=connect(t.host, t.port, t.netns),
    )


def run_netmiko(routers: list[Target]) -> dict:
    seen = {}
    for t in routers:
        conn = netmiko_connect(t)
        try:
            outputs = [conn.send_command(f"vtysh -c '{c}' 2>/dev/null") for c in COMMANDS]
        finally:
            conn.disconnect()
        seen[t.name] = seen_in_text(*outputs)
    return seen


PLAYBOOK = [
    {
        "hosts": "all",
        "gather_facts": False,
        "tasks": [
            *(
                {
                    "name": c,
                    "ansible.builtin.command": f"vtysh -c '{c}'",
                    "register": f"r{i}",
                    "changed_when": False,
                }
                for i, c in enumerate(COMMANDS)
            ),
            # The outputs back to the bench as one JSON line per host (oneline callback).
            {"ansible.builtin.debug": {"msg": "{{ [r0.stdout, r1.stdout, r2.stdout] }}"}},
        ],
    }
]


class Ansible:
    """ansible-playbook from this venv, run in the ops namespace, with every file it writes
    (local temp, control sockets, its home) under tmp: the machine is not a managed node."""

    def __init__(self, routers: list[Target], tmp: Path, host_vars: dict[str, dict] | None = None):
        (netns,) = {t.netns for t in routers}
        self.via = ("ip", "netns", "exec", netns) if netns else ()
        self.tmp = tmp
        # The command module runs on the node as the operator; the node sees this machine's
        # files, so a remote temp dir there must be one the operator may write.
        tmp.chmod(0o711)
        for d in ("home", "local", "cp"):
            (tmp / d).mkdir()
        (tmp / "remote").mkdir()
        (tmp / "remote").chmod(0o1777)  # as /tmp: mkdir's mode would be cut by the umask
        (tmp / "ansible.cfg").write_text("[defaults]\n")  # neither the repo's nor root's config
        hosts = {
            t.name: {
                "ansible_host": t.host,
                "ansible_port": t.port,
                "ansible_user": t.user,
                "ansible_ssh_private_key_file": str(t.identity_file),
                "ansible_ssh_common_args": f"-o UserKnownHostsFile={t.known_hosts} -o StrictHostKeyChecking=yes",
                # Set, as a seasoned user would: interpreter discovery costs a round trip per host.
                "ansible_python_interpreter": "/usr/bin/python3",
                **(host_vars or {}).get(t.name, {}),
            }
            for t in routers
        }
        (tmp / "inventory.yml").write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
        (tmp / "read.yml").write_text(yaml.safe_dump(PLAYBOOK, sort_keys=False))
        self.env = {
            **os.environ,
            "ANSIBLE_CONFIG": str(tmp / "ansible.cfg"),
            "ANSIBLE_HOME": str(tmp / "home"),
            "ANSIBLE_LOCAL_TEMP": str(tmp / "local"),
            "ANSIBLE_REMOTE_TEMP": str(tmp / "remote"),
            # ssh's ControlPath does not follow ANSIBLE_HOME in 2.17: it would land in ~/.ansible/cp.
            "ANSIBLE_SSH_CONTROL_PATH_DIR": str(tmp / "cp"),
            # Ansible at its best: pipelining, and as many forks as routers (jinbao's pool is as wide).
            "ANSIBLE_PIPELINING": "True",
            "ANSIBLE_FORKS": str(len(routers)),
            "ANSIBLE_STDOUT_CALLBACK": "oneline",
            "ANSIBLE_NOCOLOR": "1",
        }
        self.playbook = Path(sys.executable).parent / "ansible-playbook"

    def run(self, *extra: str, playbook: str = "read.yml") -> str:
        cmd = [*self.via, str(self.playbook), "-i", str(self.tmp / "inventory.yml"), str(self.tmp / playbook), *extra]
        r = subprocess.run(cmd, cwd=self.tmp, env=self.env, capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            raise SystemExit(f"ansible-playbook failed ({r.returncode}):\n{(r.stdout + r.stderr)[-2000:]}")
        return r.stdout

    def read(self) -> dict:
        seen = {}
        for line in self.run().splitlines():
            host, sep, result = line.partition(" | SUCCESS => ")
            if sep and '"msg"' in result:
                seen[host] = seen_in_text(*json.loads(result)["msg"])
        return seen

    def close(self) -> None:
        """End the ssh ControlPersist masters this bench's playbooks left behind."""
        for sock in (self.tmp / "cp").iterdir():
            subprocess.run([*self.via, "ssh", "-O", "exit", "-o", f"ControlPath={sock}", "x"], capture_output=True)


def bench_reads(lab, tmp: Path) -> None:
    routers = [t for t in targets(f"lab:{lab.id}").values() if t.platform == "frr"]
    ansible = Ansible(routers, tmp)
    print(
        f"-- read facts + interfaces + OSPF neighbours from {len(routers)} FRR routers "
        f"(lab {lab.id}; median of {ROUNDS}) --",
        flush=True,
    )
    tools = {
        "jinbao drivers (run_task, 16 workers)": lambda: run_jinbao(routers),
        # The same drivers one router at a time: what the library costs without the concurrency.
        "jinbao drivers, sequential (1 worker)": lambda: run_jinbao(routers, workers=1),
        "netmiko, sequential loop": lambda: run_netmiko(routers),
        f"ansible-playbook (forks {len(routers)}, pipelining)": ansible.read,
    }
    times: dict[str, list[float]] = {name: [] for name in tools}
    try:
        for _ in range(ROUNDS):
            seen = {}
            for name, read in tools.items():
                t = time.perf_counter()
                seen[name] = read()
                times[name].append(time.perf_counter() - t)
            # The comparison is honest only if every tool read the same thing from every router.
            jinbao, *others = seen.values()
            if len(jinbao) != len(routers) or any(o != jinbao for o in others):
                raise SystemExit(f"the tools disagree on what they read: {json.dumps(seen, indent=1)}")
        t = time.perf_counter()
        ansible.run("--list-hosts")
        startup = time.perf_counter() - t
    finally:
        ansible.close()
    neighbours = sum(n for _, _, n in jinbao.values())
    interfaces = sum(len(i) for _, i, _ in jinbao.values())
    print(f"every tool saw the same {interfaces} interfaces and {neighbours} OSPF neighbours", flush=True)
    median = {name: statistics.median(ts) for name, ts in times.items()}
    ours = next(iter(median.values()))
    print(f"  {'':<40} {'median':>8} {'min-max':<13} time / jinbao's", flush=True)
    for name, ts in times.items():
        spread = f"{min(ts):.2f}-{max(ts):.2f}"
        print(f"  {name:<40} {median[name]:>6.2f} s {spread:<13} {median[name] / ours:4.1f}x", flush=True)
    print(f"  (ansible-playbook alone, --list-hosts without connecting: {startup:.2f} s)", flush=True)


def main():
    if os.geteuid() != 0:
        raise SystemExit("the netconfig benchmark needs root (it brings up a lab)")
    print(f"== netconfig benchmark, {time.strftime('%Y-%m-%d %H:%M')}; {machine()} ==", flush=True)
    bench_render()
    lab_id = runtime.new_id()
    t = time.perf_counter()
    try:
        lab = runtime.up("lab", lab_id, wait=True, timeout=300)
        print(f"-- lab {lab_id} up and converged in {time.perf_counter() - t:.0f} s; {machine()} --", flush=True)
        with tempfile.TemporaryDirectory(prefix="jinbao-netconfbench-") as tmp:
            bench_reads(lab, Path(tmp))
    finally:
        # up() removes what it built when it fails; this covers every later failure and ^C.
        lab = runtime.Lab(lab_id)
        if lab.traces():
            runtime.down(lab)
    print(f"== done; {machine()} ==", flush=True)


if __name__ == "__main__":
    main()
