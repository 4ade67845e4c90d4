"""Patroni beside jinbao in the DR bench (bench/dr_bench.py): the same failures, measured the same
way, on the same lab.

etcd (one member) runs on the drills' witness node, outside both database sites as jinbao's
witness is; Patroni on the pair's two database nodes, with its documented defaults (ttl 30 s,
loop_wait 10 s, retry_timeout 10 s) and `synchronous_mode: true`, as the lab pair is synchronous.
PostgreSQL 15 is the machine's (/usr/lib/postgresql/15/bin) on port 5433, with data under
`<node dir>/patroni/`, so it never meets `jinbao lab db`'s cluster (5432, `<node dir>/pg/`).

Where Patroni and etcd come from: not `apt-get install`. Both Debian packages' postinst enable
their service and start it through invoke-rc.d when there is no systemd (etcd-server also adds
an `etcd` user): the machine would run an etcd of its own and its /etc would change. So the
bench takes, into `<lab dir>/bench-patroni/` (gone with the lab):
- etcd 3.4.23: Debian's `etcd-server` .deb by `apt-get download` (no install), its static
  binary extracted with `dpkg-deb -x`;
- Patroni 3.0.2 (Debian 12's version) with pip into a venv there: Debian's .deb needs
  python3-etcd, pysyncobj and the rest installed system-wide. ydiff is pinned to 1.2: patronictl
  3.0.2 imports `PatchStream`, which ydiff 1.3 removed.

Every process it starts is killed by PID (processes in the node's network namespace running from
that folder or the Patroni data dirs) in `stop`, which dr_bench calls in a finally.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml

from lab import db
from lab.record import Lab, ns_pids, pid_in_ns

PATRONI_VERSION = "3.0.2"
PG_PORT, API_PORT, ETCD_PORT = 5433, 8008, 2379
DEFAULTS = {"ttl": 30, "loop_wait": 10, "retry_timeout": 10}  # Patroni's documented defaults
FW_CHAIN = ["inet", "jinbao_zones", "forward"]
FW_TAG = '"jinbao-bench-patroni"'
PORTS = f"{{ {ETCD_PORT}, {PG_PORT}, {API_PORT} }}"
CANARY = Path(__file__).with_name("patroni_canary.py")


def _run(cmd: list, **kw) -> subprocess.CompletedProcess:
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed: {(r.stderr or r.stdout).strip()[-400:]}")
    return r


class PatroniPair:
    def __init__(self, lab: Lab, drill_file: Path):
        self.lab = lab
        rb = yaml.safe_load(drill_file.read_text())
        pair = next(p for p in db.pairs(lab) if p["name"] == rb["pair"])
        self.nodes = [pair["primary"]["node"], pair["standby"]["node"]]
        self.ips = {n: pair[r]["ip"] for n, r in zip(self.nodes, ("primary", "standby"), strict=True)}
        self.user = pair["user"]
        self.firewalls = [pair["primary"]["firewall"], pair["standby"]["firewall"]]
        self.etcd_node, self.canary_node = rb["witness"]["node"], rb["canary"]["node"]
        self.etcd_ip = str(lab.plan.estate.devices[self.etcd_node].loopback)
        self.home = lab.dir / "bench-patroni"
        self.procs: dict[str, subprocess.Popen] = {}  # etcd's and each Patroni's, by node

    # -- tools --------------------------------------------------------------------------------
    def install(self) -> None:
        self.home.mkdir(mode=0o755, exist_ok=True)
        venv = self.home / "venv"
        # Debian's python: the lab's operator account runs Patroni, and may not read a python under /root.
        _run(["/usr/bin/python3", "-m", "venv", venv])
        _run(
            [venv / "bin/pip", "install", "-q", f"patroni[etcd3]=={PATRONI_VERSION}", "psycopg2-binary", "ydiff==1.2"],
            timeout=600,
        )
        _run(["apt-get", "download", "etcd-server"], cwd=self.home, timeout=300)
        deb = next(self.home.glob("etcd-server_*.deb"))
        _run(["dpkg-deb", "-x", deb, self.home / "etcd"])

    # -- start ----------------------------------------------------------------------------------
    def _spawn(self, node: str, cmd: list, log: Path) -> None:
        out = open(log, "ab")  # noqa: SIM115 - the child keeps it
        self.procs[node] = subprocess.Popen(
            self.lab.node_cmd(node, ["runuser", "-u", self.user, "--", *map(str, cmd)]),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        out.close()

    def _dir(self, node: str) -> Path:
        d = self.lab.node_dir(node) / "patroni"
        d.mkdir(mode=0o700, exist_ok=True)
        os.chown(d, *db._uid_gid())
        return d

    def config(self, node: str) -> dict:
        e = self.lab.plan.estate
        d = self._dir(node)
        ip = self.ips[node]
        trust = [
            f"host {kind} all {net} trust" for kind in ("all", "replication") for net in (e.supernet, e.mgmt_block)
        ]
        return {
            "scope": "bench",
            "namespace": "/jinbao-bench/",
            "name": node,
            "restapi": {"listen": f"{ip}:{API_PORT}", "connect_address": f"{ip}:{API_PORT}"},
            "etcd3": {"host": f"{self.etcd_ip}:{ETCD_PORT}"},
            "bootstrap": {
                "dcs": {
                    **DEFAULTS,
                    "synchronous_mode": True,
                    "postgresql": {
                        "use_pg_rewind": True,
                        "parameters": {"wal_log_hints": "on", "wal_retrieve_retry_interval": "200ms"},
                    },
                },
                "initdb": [{"encoding": "UTF8"}],
                "pg_hba": ["local all all trust", "local replication all trust", *trust],
            },
            "postgresql": {
                "listen": f"*:{PG_PORT}",
                "connect_address": f"{ip}:{PG_PORT}",
                "data_dir": str(d / "data"),
                "bin_dir": db.PG_BIN,
                "pgpass": str(d / "pgpass"),
                "authentication": {"superuser": {"username": self.user}, "replication": {"username": self.user}},
                "parameters": {"unix_socket_directories": str(d), "dynamic_shared_memory_type": "mmap"},
            },
        }

    def open_ports(self) -> None:
        """The estate's zone policy lets only 5432 through the database zones' firewalls; Patroni
        also needs its DCS (etcd) and REST API ports between the nodes, and the bench's cluster
        is on 5433. A rule of the bench's own, removed by `stop`, opens them."""
        for fw in self.firewalls:
            self.lab.in_node(
                fw, ["nft", "insert", "rule", *FW_CHAIN, "tcp", "dport", PORTS, "accept", "comment", FW_TAG]
            )

    def close_ports(self) -> None:
        for fw in self.firewalls:
            listing = self.lab.in_node(fw, ["nft", "-a", "list", "chain", *FW_CHAIN], check=False).stdout
            for line in listing.splitlines():
                if FW_TAG in line and "# handle " in line:
                    handle = line.rsplit("# handle ", 1)[1].strip()
                    self.lab.in_node(fw, ["nft", "delete", "rule", *FW_CHAIN, "handle", handle], check=False)

    def start(self) -> None:
        self.open_ports()
        d = self._dir(self.etcd_node)
        url = f"http://{self.etcd_ip}:{ETCD_PORT}"
        self._spawn(
            self.etcd_node,
            [
                self.home / "etcd/usr/bin/etcd",
                "--name=bench",
                f"--data-dir={d / 'etcd'}",
                f"--listen-client-urls={url}",
                f"--advertise-client-urls={url}",
                f"--listen-peer-urls=http://{self.etcd_ip}:2380",
                f"--initial-advertise-peer-urls=http://{self.etcd_ip}:2380",
                f"--initial-cluster=bench=http://{self.etcd_ip}:2380",
            ],
            d / "etcd.log",
        )
        time.sleep(2)
        for node in self.nodes:  # the first starts alone, so it bootstraps and leads
            d = self._dir(node)
            cfg = d / "patroni.yml"
            cfg.write_text(yaml.safe_dump(self.config(node)))
            os.chown(cfg, *db._uid_gid())
            self._patroni(node)
            self.wait_healthy(180, members=self.nodes.index(node) + 1)

    def _patroni(self, node: str) -> None:
        d = self._dir(node)
        self._spawn(node, [self.home / "venv/bin/patroni", d / "patroni.yml"], d / "patroni.log")

    # -- state ----------------------------------------------------------------------------------
    def members(self) -> list[dict]:
        cfg = self.lab.node_dir(self.nodes[0]) / "patroni" / "patroni.yml"
        r = self.lab.in_node(
            self.etcd_node, [str(self.home / "venv/bin/patronictl"), "-c", str(cfg), "list", "-f", "json"], check=False
        )
        try:
            return json.loads(r.stdout) if r.returncode == 0 else []
        except ValueError:
            return []

    def leader(self) -> str | None:
        return next((m["Member"] for m in self.members() if m["Role"] == "Leader" and m["State"] == "running"), None)

    def wait_healthy(self, timeout: float, members: int = 2) -> None:
        """A running leader and, with two members, a streaming synchronous standby."""
        end = time.time() + timeout
        while time.time() < end:
            ms = self.members()
            roles = sorted(m["Role"] for m in ms if m["State"] in ("running", "streaming"))
            if (members == 1 and roles == ["Leader"]) or roles == ["Leader", "Sync Standby"]:
                return
            time.sleep(1)
        raise RuntimeError(f"the Patroni pair did not become healthy in {timeout:.0f} s: {self.members()}")

    # -- one fault, measured --------------------------------------------------------------------
    def drill(self, fault: str, run_id: str) -> dict:
        """RTO from the fault to the canary's first acknowledged write after its first failure
        (0 when no write failed); RPO as acknowledged rows missing on the leader afterwards."""
        self.wait_healthy(120)
        old = self.leader()
        other = next(n for n in self.nodes if n != old)
        canary = subprocess.Popen(
            self.lab.node_cmd(
                self.canary_node,
                [sys.executable, str(CANARY), "--hosts", ",".join(self.ips.values()), "--port", str(PG_PORT)]
                + ["--user", self.user, "--run", run_id, "--rate", "50"],
            ),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        events: list[dict] = []
        threading.Thread(target=lambda: events.extend(json.loads(x) for x in canary.stdout), daemon=True).start()
        try:
            end = time.time() + 30
            while not any(e["ev"] == "ack" for e in list(events)) and time.time() < end:
                time.sleep(0.1)
            time.sleep(1)
            t0 = time.time()
            if fault == "switchover":
                self.lab.in_node(
                    self.etcd_node,
                    [str(self.home / "venv/bin/patronictl"), "-c", str(self.lab.node_dir(old) / "patroni/patroni.yml")]
                    + ["switchover", "--leader", old, "--candidate", other, "--force"],
                    timeout=120,
                )
            else:  # jinbao's failover drill: kill -9 the primary's postmaster (dr/drills/failover.yml)
                pid = int((self.lab.node_dir(old) / "patroni/data/postmaster.pid").read_text().split()[0])
                if not pid_in_ns(pid, self.lab.node(old).ns):
                    raise RuntimeError(f"postmaster {pid} is not in {old}")
                if fault == "node loss":  # Patroni dies with it: only the leader key's ttl tells
                    os.killpg(self.procs[old].pid, signal.SIGKILL)
                os.kill(pid, signal.SIGKILL)
            rto, end = None, time.time() + 120
            while rto is None and time.time() < end:
                time.sleep(0.2)
                ev = [e for e in list(events) if e["t"] >= t0]
                broke = next((e["t"] for e in ev if e["ev"] != "ack"), None)
                if broke is not None:
                    rto = next((e["t"] - t0 for e in ev if e["ev"] == "ack" and e["t"] > broke), None)
                elif sum(e["ev"] == "ack" for e in ev) > 100:  # 2 s of writes, none failed
                    rto = 0.0
            time.sleep(1)
        finally:
            with contextlib.suppress(OSError):
                canary.stdin.close()
            try:
                canary.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(canary.pid, signal.SIGKILL)
        if rto is None:
            raise RuntimeError(f"Patroni {fault}: no write acknowledged within 120 s of the fault")
        if fault == "node loss":  # the node comes back: its Patroni rejoins as the standby (pg_rewind)
            self.procs[old].wait(10)
            self._patroni(old)
        self.wait_healthy(180)
        acked = {e["n"] for e in events if e["ev"] == "ack"}
        node = self.leader()
        out = self.lab.in_node(
            node,
            ["runuser", "-u", self.user, "--", f"{db.PG_BIN}/psql", "-XAtq", "-h", str(self._dir(node)), "-p"]
            + [str(PG_PORT), "-d", "postgres", "-c", f"select n from bench_canary where run = '{run_id}'"],
        ).stdout
        lost = len(acked - {int(x) for x in out.split()})
        return {"rto_s": rto, "lost_rows": lost, "old": old, "new": node}

    # -- stop -----------------------------------------------------------------------------------
    def stop(self) -> None:
        """Kill by PID what this bench started, then remove its folders. A process is ours if it
        lives in one of the pair's or the witness's network namespace and runs from the bench's
        folder or has its cwd in a Patroni data dir (PostgreSQL's postmaster and backends)."""
        with contextlib.suppress(Exception):
            self.close_ports()
        for p in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
        mine = (str(self.home), *(str(self.lab.node_dir(n) / "patroni") for n in {*self.nodes, self.etcd_node}))
        for _ in range(50):
            left = []
            for node in {*self.nodes, self.etcd_node, self.canary_node}:
                for pid in ns_pids(self.lab.node(node).ns):
                    try:
                        seen = [os.readlink(f"/proc/{pid}/cwd"), Path(f"/proc/{pid}/cmdline").read_text()]
                    except OSError:
                        continue
                    if any(m in s for m in mine for s in seen) or str(CANARY) in seen[1]:
                        left.append(pid)
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(pid, signal.SIGKILL)
            if not left:
                break
            time.sleep(0.1)
        for p in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(5)
        for n in {*self.nodes, self.etcd_node}:
            shutil.rmtree(self.lab.node_dir(n) / "patroni", ignore_errors=True)
        shutil.rmtree(self.home, ignore_errors=True)
