"""What a drill does to the devices of a DR pair, and how it reads their state.

Devices are reached the way any domain reaches them: `jinbao.target.targets("lab:<id>")` and
SSH as the operator (the lab's PostgreSQL runs as that account). One SSH master connection per
device is kept open for the drill (ControlMaster), so a step costs a round trip, not a login.
The lab itself is asked only through its commands: `jinbao lab db up|status --json` for the
pair's facts, `jinbao lab exec` to start the canary and witness inside a node.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from jinbao import sshfolders
from jinbao.errors import JinbaoError, TargetsFailed
from jinbao.target import Target, targets
from jinbao.waiting import until

JINBAO = [sys.executable, "-m", "jinbao.cli"]


class DrError(TargetsFailed):
    """A drill step could not do what it had to (exit 1: the input was good)."""


def lab_cli(lab_id: str, *args: str, timeout: float = 300) -> str:
    r = subprocess.run([*JINBAO, "lab", *args, "--id", lab_id], capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise DrError(f"jinbao lab {' '.join(args)} --id {lab_id} failed: {(r.stderr or r.stdout).strip()[-600:]}")
    return r.stdout


class Pair:
    """One DR pair of a lab: its facts from `jinbao lab db status --json`, and remote operations."""

    def __init__(self, lab_id: str, name: str):
        self.lab_id = lab_id
        self.facts = self._facts(name)
        self.name = name
        # Named by the lab, as everything a lab leaves running is: a check of the machine after
        # another lab's down can tell this drill's SSH masters from a leak of that lab's.
        sshfolders.sweep("jbdr-")  # those of drills killed with -9
        self._ctl = Path(tempfile.mkdtemp(prefix=f"jbdr-{lab_id}-", dir=sshfolders.RUNS_IN))
        self._targets: dict[str, Target] = {}
        self.log: list[dict] = []  # every remote command, its output and timing

    def _facts(self, name: str) -> dict:
        found = {p["name"]: p for p in json.loads(lab_cli(self.lab_id, "db", "status", "--json"))}
        if name not in found:
            raise JinbaoError(f"lab {self.lab_id} has no DR pair {name!r}; it has: {', '.join(found) or 'none'}")
        return found[name]

    def refresh(self) -> dict:
        self.facts = self._facts(self.name)
        return self.facts

    def side(self, side: str) -> dict:
        return self.facts[side]

    def other(self, side: str) -> str:
        return "standby" if side == "primary" else "primary"

    # -- reaching devices ------------------------------------------------------------------------
    def target(self, node: str) -> Target:
        if node not in self._targets:
            t = targets(f"lab:{self.lab_id}")[node]
            self._targets[node] = replace(
                t,
                options={
                    **t.options,
                    "ControlMaster": "auto",
                    "ControlPath": str(self._ctl / "%C"),
                    "ControlPersist": "60",
                },
            )
        return self._targets[node]

    def run(self, node: str, cmd: str, check: bool = True, timeout: float = 60) -> str:
        t0 = time.time()
        r = self.target(node).run(cmd, timeout=timeout)
        out = (r.stdout or b"").decode(errors="replace") + (r.stderr or b"").decode(errors="replace")
        self.log.append(
            {"node": node, "cmd": cmd, "rc": r.returncode, "out": out[-2000:], "t": t0, "s": time.time() - t0}
        )
        if check and r.returncode != 0:
            raise DrError(f"{node}: {cmd!r} failed ({r.returncode}): {out.strip()[-600:]}")
        return (r.stdout or b"").decode(errors="replace").strip()

    def close(self) -> None:
        for t in self._targets.values():
            subprocess.run(_exit_cmd(t), capture_output=True, timeout=10)
        shutil.rmtree(self._ctl, ignore_errors=True)

    # -- PostgreSQL ------------------------------------------------------------------------------
    def pg(self, tool: str) -> str:
        return f"{self.facts['pg_bin']}/{tool}"

    def psql(self, side: str, sql: str, check: bool = True, timeout: float = 30) -> str:
        return self.run(
            self.side(side)["node"],
            f"{self.pg('psql')} -XAtq -h /run/postgresql -d postgres -c {shlex.quote(sql)}",
            check=check,
            timeout=timeout,
        )

    def role(self, side: str) -> str | None:
        """'primary', 'standby', or None when its PostgreSQL does not answer."""
        r = self.psql(side, "select pg_is_in_recovery()", check=False, timeout=15)
        return {"t": "standby", "f": "primary"}.get(r)

    def streaming(self, primary_side: str, standby_side: str) -> bool:
        app = self.app_name(standby_side)
        r = self.psql(
            primary_side, f"select state from pg_stat_replication where application_name = '{app}'", check=False
        )
        return r == "streaming"

    def app_name(self, side: str) -> str:
        return self.side(side)["node"].replace("-", "_")

    def lag_bytes(self, primary_side: str, standby_side: str) -> int | None:
        app = self.app_name(standby_side)
        r = self.psql(
            primary_side,
            "select pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) from pg_stat_replication "
            f"where application_name = '{app}'",
            check=False,
        )
        return int(float(r)) if r else None

    def kill(self, side: str) -> float:
        """kill -9 of the postmaster, by the PID in its own postmaster.pid; returns when it was sent."""
        s = self.side(side)
        out = self.run(s["node"], f'p=$(head -1 {s["pgdata"]}/postmaster.pid) && date +%s.%N && kill -9 "$p"')
        return float(out.split()[0])

    def stop(self, side: str, mode: str = "fast") -> float:
        s = self.side(side)
        out = self.run(s["node"], f"date +%s.%N; {self.pg('pg_ctl')} -D {s['pgdata']} -m {mode} -w -t 60 stop")
        return float(out.split()[0])

    def stopped(self, side: str) -> bool:
        # Not `pg_ctl status`: a postmaster killed with -9 stays a zombie for a while here, and
        # its pid file stays, so pg_ctl calls it running (and `stop` waits on it in vain).
        s = self.side(side)
        r = self.run(
            s["node"],
            f"p=$(head -1 {s['pgdata']}/postmaster.pid 2>/dev/null); "
            'if [ -n "$p" ] && kill -0 "$p" 2>/dev/null && ! grep -q "^State:.*Z" /proc/$p/status; '
            "then echo running; else echo stopped; fi",
        )
        return r == "stopped"

    def start(self, side: str, extra: str = "") -> None:
        s = self.side(side)
        opts = f"-o {shlex.quote(extra)}" if extra else ""
        # A postmaster killed with -9 is reaped slowly here: start can fail on its pid file for a moment.
        deadline = time.time() + 30
        while True:
            cmd = f"{self.pg('pg_ctl')} -D {s['pgdata']} -l {s['log']} {opts} -w -t 60 start"
            try:
                self.run(s["node"], cmd, timeout=90)
                return
            except DrError as e:
                # The postmaster's own complaint is in its log, not in pg_ctl's output.
                said = str(e) + self.run(s["node"], f"tail -n 5 {s['log']}", check=False)
                stale = "lock file" in said or "another server might be running" in said
                if not stale or time.time() > deadline:
                    raise
                time.sleep(0.2)

    def checkpoint_lsn(self, side: str) -> str:
        s = self.side(side)
        out = self.run(s["node"], f"{self.pg('pg_controldata')} {s['pgdata']}")
        return next(l.split(":", 1)[1].strip() for l in out.splitlines() if l.startswith("Latest checkpoint location"))

    def replayed_past(self, side: str, lsn: str) -> bool:
        r = self.psql(side, f"select pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn", check=False)
        return r == "t"

    def promote(self, side: str) -> None:
        s = self.side(side)
        self.run(s["node"], f"{self.pg('pg_ctl')} -D {s['pgdata']} -w -t 60 promote")
        # A new primary has no standby yet: if it kept the old synchronous standby name, every
        # commit would wait for a standby that is not there.
        self.psql(side, "alter system reset synchronous_standby_names")
        # A node frozen when it last was primary (the freeze step) keeps that in its own
        # postgresql.auto.conf when a rejoin needed no rewind: a promoted node takes writes.
        self.psql(side, "alter system reset default_transaction_read_only")
        self.psql(side, "select pg_reload_conf()")

    def make_standby(self, side: str, of: str, base_backup: bool = False) -> str:
        """Rebuild side as a streaming standby of `of`: pg_rewind (or a fresh base backup), the
        standby's connection info, start; then synchronous again if the pair is. Returns how."""
        s, src = self.side(side), self.side(of)
        conninfo = (
            f"host={src['ip']} port={self.facts['port']} user={self.facts['user']} "
            f"application_name={self.app_name(side)}"
        )
        how = "pg_rewind"
        if not base_backup:
            # A just-promoted source's control file still names its old timeline until its first
            # checkpoint; pg_rewind reads it there (PostgreSQL's pg_rewind docs). Seen here: a
            # rewind that said "Done!" and a standby that then refused to start.
            self.psql(of, "checkpoint")
            r = self.run(
                s["node"],
                f"{self.pg('pg_rewind')} -D {s['pgdata']} "
                f"--source-server={shlex.quote(conninfo + ' dbname=postgres')} 2>&1",
                check=False,
                timeout=300,
            )
            base_backup = "Done!" not in r and "no rewind required" not in r
        for _copy in ("rewound", "fresh"):
            if base_backup:
                how = "base backup"
                self.run(
                    s["node"],
                    f"rm -rf {s['pgdata']} && {self.pg('pg_basebackup')} -d {shlex.quote(conninfo)} -D "
                    f"{s['pgdata']} -X stream --no-sync",
                    timeout=600,
                )
            self.run(
                s["node"],
                f"touch {s['pgdata']}/standby.signal && echo "
                f"{shlex.quote(f'primary_conninfo = {chr(39)}{conninfo}{chr(39)}')} "
                f">> {s['pgdata']}/postgresql.auto.conf",
            )
            try:
                self.start(side)
                break
            except DrError:
                if base_backup:  # a fresh copy that does not start: nothing left to try
                    raise
                base_backup = True  # the rewound copy did not start: fall back to a base backup
        wait_for(f"{s['node']} streaming from {src['node']}", lambda: self.streaming(of, side), 60)
        if self.facts["replication"] == "sync":
            self.psql(of, f"alter system set synchronous_standby_names = '\"{self.app_name(side)}\"'")
            self.psql(of, "select pg_reload_conf()")
        return how

    # -- the service address ---------------------------------------------------------------------
    def route(self, side: str, metric: int | None) -> None:
        """Advertise the service address from side's firewall with metric, or withdraw it (None)."""
        s, addr = self.side(side), self.facts["service_address"]
        if metric is None:
            cmds = ["configure terminal", f"no ip route {addr}/32 {s['ip']}"]
        else:
            # the metric follows the route's tag (lab/db.py route_map): re-adding it moves it at once
            cmds = ["configure terminal", f"ip route {addr}/32 {s['ip']} tag {metric}"]
        self.run(s["firewall"], "vtysh " + " ".join(f"-c {shlex.quote(c)}" for c in cmds))

    def advertised(self, side: str) -> int | None:
        """The metric side's firewall is configured to advertise the service address with (the
        static route's tag, lab/db.py route_map), or None when it is withdrawn. Not the LSA: a
        withdrawn one stays in the database, aged, for a while."""
        s, addr = self.side(side), self.facts["service_address"]
        out = self.run(s["firewall"], "vtysh -c 'show running-config'")
        m = re.search(rf"^ip route {re.escape(addr)}/32 {re.escape(s['ip'])} tag (\d+)$", out, re.M)
        return int(m[1]) if m else None

    def route_to(self, side: str) -> None:
        """The service address follows side: the primary metric there, the standby metric on the other."""
        self.route(side, self.facts["metrics"]["primary"])
        self.route(self.other(side), self.facts["metrics"]["standby"])


def _exit_cmd(t: Target) -> list[str]:
    cmd = t.ssh_command()
    return [*cmd[:-1], "-O", "exit", cmd[-1]]


def wait_for(what: str, check, timeout: float, every: float = 0.05):
    """Poll check() until it is truthy; DrError naming `what` after timeout seconds."""
    return until(what, check, timeout, every, error=DrError)
