"""A lab's record of itself, and how to run a command inside one of its nodes.

Every resource a lab makes carries its id (jb + hex): namespaces '<id>-<device>', '<id>-sw'
(LAN bridges and the management bridge) and '<id>-ops' (the operator's seat on the management
network), /etc/netns/<id>-* overlays and the work dir <JINBAO_LAB_ROOT>/<id>. Each is written to
state.json *before* it is created, so 'down' removes exactly what 'up' made, even after a crash.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
from dataclasses import replace
from pathlib import Path

from jinbao.errors import JinbaoError, TargetsFailed
from jinbao.estate import load_estate
from jinbao.model import Estate
from jinbao.secrets import resolve_from
from jinbao.state import write_whole
from jinbao.target import Target

from . import render
from .topology import LabPlan, Node, plan

LAB_ROOT = Path(os.environ.get("JINBAO_LAB_ROOT", "/var/tmp/jinbao-lab"))
ID_RE = re.compile(r"^jb[a-z0-9]{2,12}$")
# A process that holds the labs it brings up ("<pid>:<start time>"): a test worker. When it is gone
# (killed with -9, its finalizers never ran), `jinbao lab down --orphans` removes its labs; labs
# brought up by hand or by `make demo` have no holder and are never swept.
HOLDER_ENV = "JINBAO_LAB_HELD_BY"


def _started(pid: int) -> str | None:
    """A process's start time in clock ticks since boot: with its pid, it names one process even
    after the pid is reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[19]


def holder(pid: int | None = None) -> str:
    pid = pid or os.getpid()
    return f"{pid}:{_started(pid)}"


def holder_alive(held_by: str) -> bool:
    pid, _, started = held_by.partition(":")
    return pid.isdigit() and _started(int(pid)) == started


class LabError(JinbaoError):
    """A lab operation failed; the message says which command and why."""


class NotConverged(LabError, TargetsFailed):
    """The lab was built but did not reach its intended state in time (exit 1: not bad input)."""


def sh(args: list[str], check: bool = True, timeout: float = 60, input: str | None = None):
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout, input=input)
    if check and r.returncode != 0:
        raise LabError(f"{' '.join(args)} failed ({r.returncode}): {(r.stderr or r.stdout).strip()[:800]}")
    return r


def new_id() -> str:
    return "jb" + secrets.token_hex(3)


def ns_exists(ns: str) -> bool:
    return Path("/run/netns", ns).exists()


def ns_pids(ns: str) -> list[int]:
    r = sh(["ip", "netns", "pids", ns], check=False)
    return [int(x) for x in r.stdout.split()] if r.returncode == 0 else []


def _inode(path: str | Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def pid_in_ns(pid: int | None, ns: str, private: dict[str, int] | None = None) -> bool:
    """True when pid is alive *and* lives in the named network namespace (and, given `private`,
    in exactly those mount and UTS namespaces).

    A recorded PID alone proves nothing: if the anchor died and the PID was reused, entering
    it would run a command in the host's namespaces. The network namespace's inode cannot be
    reused while /run/netns/<ns> holds it; the node's private mount and UTS namespaces are
    recorded by the anchor itself when it starts (render.start_script).
    """
    if not pid:
        return False
    want = _inode(Path("/run/netns", ns))
    if want is None or _inode(f"/proc/{pid}/ns/net") != want:
        return False
    return all(_inode(f"/proc/{pid}/ns/{kind}") == ino for kind, ino in (private or {}).items())


class Lab:
    """One lab on this machine, found by its id; its state file is the record of what exists."""

    def __init__(self, lab_id: str):
        if not ID_RE.match(lab_id):
            raise LabError(f"{lab_id!r} is not a lab id (jb followed by 2-12 lower-case letters or digits)")
        self.id = lab_id
        self.dir = LAB_ROOT / lab_id
        self.state_file = self.dir / "state.json"
        self.state: dict = json.loads(self.state_file.read_text()) if self.state_file.exists() else {}
        self._plan: LabPlan | None = None

    # -- finding labs ------------------------------------------------------------------------
    @staticmethod
    def all_ids() -> list[str]:
        """Labs under this lab root, including one whose 'up' or 'down' was killed half-way."""
        return sorted(p.name for p in LAB_ROOT.iterdir() if ID_RE.match(p.name)) if LAB_ROOT.is_dir() else []

    @classmethod
    def find(cls, lab_id: str | None = None) -> Lab:
        lab_id = lab_id or os.environ.get("JINBAO_LAB_ID")
        if lab_id:
            lab = cls(lab_id)
            if not lab.state:
                raise LabError(f"no lab {lab_id} on this machine (labs: {', '.join(cls.all_ids()) or 'none'})")
            return lab
        ids = cls.all_ids()
        if len(ids) == 1:
            return cls(ids[0])
        if not ids:
            raise LabError("no lab is up on this machine; start one with 'jinbao lab up'")
        raise LabError(f"several labs are up ({', '.join(ids)}); pick one with --id or JINBAO_LAB_ID")

    def orphaned(self) -> bool:
        """Held by a process that is gone: nobody will take this lab down but a sweep."""
        held_by = self.state.get("held_by")
        return bool(held_by) and not holder_alive(held_by)

    def traces(self) -> bool:
        """Whether anything of this lab exists. Its folder is made (and its state saved) before
        anything else and removed last, and every resource is recorded before it is made, so the
        folder is the whole answer. Namespaces with this id but no folder here belong to a lab of
        another JINBAO_LAB_ROOT, and are never this lab's to remove."""
        return self.dir.exists()

    def save(self) -> None:
        write_whole(self.state_file, json.dumps(self.state, indent=1))

    def record(self, key: str, value) -> None:
        """Write a resource into the record before creating it, so a crash cannot orphan it."""
        self.state.setdefault(key, []).append(value)
        self.save()

    @property
    def plan(self) -> LabPlan:
        """What this lab built, from the estate as it was at 'up' (estate.json): editing the
        inventory while a lab runs must not make status, link or ssh act on addresses that were
        never built."""
        if self._plan is None:
            built = self.dir / "estate.json"
            estate = (
                Estate.model_validate_json(built.read_text()) if built.exists() else load_estate(self.state["estate"])
            )
            self._plan = plan(estate, self.id)
        return self._plan

    def remember(self, p: LabPlan) -> None:
        """Keep the resolved estate this lab is built from (see plan)."""
        (self.dir / "estate.json").write_text(p.estate.model_dump_json())
        self._plan = p

    def node(self, name: str) -> Node:
        try:
            return self.plan.nodes[name]
        except KeyError:
            raise LabError(
                f"no such node {name!r} in lab {self.id}; nodes: {', '.join(self.plan.nodes)}, "
                "or 'ops' for the operator seat"
            ) from None

    def node_dir(self, name: str) -> Path:
        return self.dir / "nodes" / name

    def anchor(self, name: str) -> int | None:
        f = self.node_dir(name) / "anchor.pid"
        try:
            return int(f.read_text())
        except (OSError, ValueError):
            return None

    def anchor_namespaces(self, name: str) -> dict[str, int]:
        """The anchor's own mount and UTS namespace inodes, as it wrote them when it started."""
        try:
            mnt, uts = (self.node_dir(name) / "anchor.ns").read_text().split()
            return {"mnt": int(mnt), "uts": int(uts)}
        except (OSError, ValueError):
            return {"mnt": -1, "uts": -1}  # no record: never enter

    def running(self, name: str) -> bool:
        """The node's anchor is alive and is still this lab's (see pid_in_ns)."""
        return pid_in_ns(self.anchor(name), self.node(name).ns, self.anchor_namespaces(name))

    # -- environment for tools that talk to the lab ----------------------------------------------
    def secrets_env(self) -> dict[str, str]:
        """Per-lab secret values (SNMP keys, passwords, the OSPF key) behind the estate's env: references."""
        f = self.dir / "secrets.env"
        if not f.exists():
            return {}
        return dict(line.split("=", 1) for line in f.read_text().splitlines() if "=" in line)

    def snmp_keys(self) -> dict[str, tuple[str, str]]:
        """Each SNMP profile's (auth, priv) keys as this lab's agents were given them: the per-lab
        value where 'up' generated one, else the referenced secret."""
        return {
            name: (self.secret(prof.auth_key.ref), self.secret(prof.priv_key.ref))
            for name, prof in self.plan.estate.snmp_profiles.items()
            if prof.auth_key and prof.priv_key
        }

    def secret(self, ref: str) -> str:
        """A secret as this lab's nodes were given it: the per-lab value where 'up' generated one,
        else the referenced secret."""
        return resolve_from(ref, self.dir / "secrets.env")

    def target(self, node: str) -> Target:
        """How to reach a node as an operator: its management address, from the ops namespace."""
        d = self.node(node).device
        k = self.dir / "keys"
        return Target(
            name=d.name,
            platform=d.platform,
            host=str(d.mgmt_ip),
            user=render.OPERATOR,
            identity_file=k / "operator",
            known_hosts=k / "known_hosts",
            netns=self.plan.ops_ns,
            snmp_profile=d.snmp_profile,
            secrets_file=self.dir / "secrets.env",
        )

    def ssh_args(self, node: str, user: str = render.OPERATOR) -> list[str]:
        """ssh up to user@host, for a command already running in the ops namespace (lab exec ops)."""
        return replace(self.target(node), netns=None).ssh_command(user=user)

    # -- running commands ----------------------------------------------------------------------
    def in_node(self, name: str, cmd: list[str], check: bool = True, timeout: float = 60):
        """Run cmd inside a node (its namespaces, /etc and /run), or on the ops seat for 'ops'."""
        return sh(self.node_cmd(name, cmd), check=check, timeout=timeout)

    def node_cmd(self, name: str, cmd: list[str]) -> list[str]:
        if name == "ops":
            return ["ip", "netns", "exec", self.plan.ops_ns, *cmd]
        pid = self.anchor(name)
        if not self.running(name):
            raise LabError(
                f"node {name} of lab {self.id} is not running (its anchor process is gone); "
                f"'jinbao lab down --id {self.id}' and 'up' again rebuild it"
            )
        # vtysh run as root keeps a history in the host's /root; the lab's own calls must not.
        # -i: the node's own System V IPC namespace (runtime.up), where its PostgreSQL keeps its segment.
        return ["nsenter", "-t", str(pid), "-m", "-n", "-u", "-i", "env", "VTYSH_HISTFILE=/dev/null", *cmd]
