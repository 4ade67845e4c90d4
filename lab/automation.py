"""Ansible and testinfra against a lab's server nodes, the way ops run them against real servers:
from the lab's operator seat, over SSH with the operator's key, then sudo (render.sudoers).

Each node has a root filesystem of its own (lab.rootfs), so a role converged here changes that
node only. Hosts come from the jinbao inventory plugin over the estate the lab was built from;
only how to reach them is the lab's (an ssh_config in the lab dir). Ansible's own state
(ANSIBLE_HOME: control sockets, temp files) is kept in the lab dir too, not in root's home.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from .record import Lab
from .render import OPERATOR

REPO = Path(__file__).resolve().parents[1]
RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def servers(lab: Lab) -> list[str]:
    return [name for name, node in lab.plan.nodes.items() if node.kind == "server"]


def _workdir(lab: Lab) -> Path:
    d = lab.dir / "ansible"
    d.mkdir(mode=0o700, exist_ok=True)
    return d


def ssh_config(lab: Lab) -> Path:
    """An OpenSSH client config that reaches every node as the operator, checking its host key."""
    k = lab.dir / "keys"
    f = _workdir(lab) / "ssh_config"
    sockets = _workdir(lab) / "home" / "cp"
    sockets.mkdir(mode=0o700, parents=True, exist_ok=True)
    f.write_text(
        "Host *\n"
        f"  User {OPERATOR}\n"
        f"  IdentityFile {k / 'operator'}\n"
        "  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {k / 'known_hosts'}\n"
        "  StrictHostKeyChecking yes\n"
        "  BatchMode yes\n"
        "  ConnectTimeout 10\n"
        # testinfra runs one ssh per command: without a ControlPath its ControlMaster=auto does
        # nothing and every check pays a key exchange (os_hardening's suite: 43 s, 4 servers).
        # %C hashes host, port and user, so the socket dir must be this lab's own (see _env).
        f"  ControlPath {sockets / '%C'}\n"
    )
    return f


# What a lab node cannot do, as variables beside the lab's inventory (group_vars/all.yml), so every
# run against a lab gets them and no role has to guess whether it is in one. A node shares the
# machine's kernel: the audit rules loaded into it would be the machine's.
LAB_GROUP_VARS = """\
# Written by jinbao lab: lab nodes share the machine's kernel (lab/rootfs.py).
# Audit rules are written and checked on the node but not loaded: the kernel's audit rules are the machine's.
auditd_load_rules: false
"""


def inventory(lab: Lab) -> Path:
    """A jinbao inventory plugin file over the estate this lab was built from, with the variables
    that say what a lab node cannot do (LAB_GROUP_VARS)."""
    d = _workdir(lab)
    f = d / "lab.jinbao.yml"
    f.write_text(f"plugin: jinbao\nestate: {lab.state['estate']}\n")
    (d / "group_vars").mkdir(exist_ok=True)
    (d / "group_vars" / "all.yml").write_text(LAB_GROUP_VARS)
    return f


def _env(lab: Lab) -> dict[str, str]:
    home = _workdir(lab) / "home"
    home.mkdir(mode=0o700, exist_ok=True)
    return {
        **os.environ,
        # the lab's values behind the estate's unset env: references (administrator passwords),
        # as `lab exec ops` gives them: roles resolve them on the controller, in no_log tasks
        **lab.secrets_env(),
        # testinfra suites skip what only a host owning its kernel has (the audit rules loaded)
        "JINBAO_SHARED_KERNEL": "1",
        # the estate the lab was built from: suites that check against it (common) read it
        "JINBAO_ESTATE": str(lab.state["estate"]),
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_HOME": str(home),
        "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
        "ANSIBLE_NOCOLOR": "1",
        # ssh's ControlPath hashes host, port and user only: every lab's prov-app1 is 10.91.0.6 as
        # jinbao, so with the default ~/.ansible/cp (not under ANSIBLE_HOME) a play for this lab
        # rode another lab's open master connection and changed that lab's node. One dir per lab.
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(home / "cp"),
        # one SSH round trip per task instead of a copy and a run (sudo here never needs a tty)
        "ANSIBLE_PIPELINING": "1",
    }


def playbook(
    lab: Lab, path: str | Path, *args: str, timeout: float = 600
) -> tuple[subprocess.CompletedProcess, dict[str, tuple[int, ...]]]:
    """Run a playbook from the operator seat against the lab's nodes: the finished process (check
    it) and, per host, (ok, changed, unreachable, failed) from its PLAY RECAP."""
    cmd = [
        str(Path(sys.executable).parent / "ansible-playbook"),
        "-i",
        str(inventory(lab)),
        "-e",
        f"ansible_user={OPERATOR}",
        "-e",
        "ansible_python_interpreter=/usr/bin/python3",
        "--ssh-common-args",
        f"-F {ssh_config(lab)}",
        str(path),
        *args,
    ]
    r = _run(lab, cmd, timeout)
    return r, {h: tuple(map(int, v)) for h, *v in RECAP.findall(r.stdout)}


def testinfra(
    lab: Lab, tests: str | Path, nodes: list[str], *args: str, timeout: float = 300
) -> subprocess.CompletedProcess:
    """Run a testinfra suite from the operator seat against nodes, over SSH with sudo."""
    hosts = ",".join(f"ssh://{lab.plan.nodes[n].device.mgmt_ip}" for n in nodes)
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        str(tests),
        "-p",
        "no:cacheprovider",
        f"--hosts={hosts}",
        f"--ssh-config={ssh_config(lab)}",
        "--sudo",
        *args,
    ]
    return _run(lab, cmd, timeout)


def _run(lab: Lab, cmd: list[str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        lab.node_cmd("ops", cmd), capture_output=True, text=True, timeout=timeout, cwd=REPO, env=_env(lab)
    )
