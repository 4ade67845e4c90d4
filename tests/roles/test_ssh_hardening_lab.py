"""The ssh_hardening role against the lab's server nodes, each on its own root filesystem
(lab/rootfs.py): converge, converge again with nothing to change, testinfra passes; a setting
broken by hand fails exactly its testinfra check, and the next converge repairs it. The machine
running the lab is checked to be unchanged (its sshd_config, and /etc as a whole)."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from lab import automation, runtime
from tests.lab.test_rootfs import _etc_digest

pytestmark = pytest.mark.lab

PLAYBOOK = "playbooks/harden.yml"
SUITE = "roles/ssh_hardening/tests"
BROKEN = "prov-app1"


@pytest.fixture(scope="module")
def own_lab():
    if os.geteuid() != 0:
        pytest.skip("the lab needs root (network namespaces)")
    lab = runtime.up("lab", runtime.new_id(), wait=False)
    try:
        yield lab
    finally:
        runtime.down(lab)


def _converge(lab) -> dict[str, tuple[int, ...]]:
    # only this role: harden.yml's other roles have lab tests of their own
    r, recap = automation.playbook(lab, PLAYBOOK, "--tags", "ssh_hardening")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert set(recap) == set(automation.servers(lab)), r.stdout[-2000:]
    return {host: counts for host, counts in recap.items()}


def _failures(lab, nodes) -> set[tuple[str, str]]:
    """(test name, host address) of every testinfra check that failed."""
    report = lab.dir / "ansible" / "testinfra.xml"
    r = automation.testinfra(lab, SUITE, nodes, f"--junitxml={report}")
    assert r.returncode in (0, 1), r.stdout[-3000:] + r.stderr[-2000:]
    cases = ET.parse(report).getroot().iter("testcase")
    names = [c.get("name", "") for c in cases if c.find("failure") is not None or c.find("error") is not None]
    assert (r.returncode == 0) == (names == []), r.stdout[-3000:]
    return {(n.split("[")[0], n.split("[")[1].rstrip("]").removeprefix("ssh://")) for n in names}


def test_converge_is_idempotent_verified_and_repairs_a_hand_edit(own_lab):
    lab = own_lab
    servers = automation.servers(lab)
    host_sshd = Path("/etc/ssh/sshd_config").read_bytes()
    host_etc = _etc_digest()

    first = _converge(lab)
    assert all(first[h][1] > 0 for h in servers), first  # bare nodes: something to harden on each
    again = _converge(lab)
    assert all(again[h][1] == 0 for h in servers), again
    assert _failures(lab, servers) == set()

    # An operator turns password login back on by hand on one node.
    lab.in_node(
        BROKEN,
        ["sed", "-i", "s/^PasswordAuthentication no$/PasswordAuthentication yes/", "/etc/ssh/sshd_config"],
    )
    ip = str(lab.plan.nodes[BROKEN].device.mgmt_ip)
    assert _failures(lab, servers) == {("test_password_authentication_is_off", ip)}

    repaired = _converge(lab)
    assert {h for h in servers if repaired[h][1] > 0} == {BROKEN}, repaired
    assert _failures(lab, servers) == set()

    # none of it reached the machine running the lab
    assert Path("/etc/ssh/sshd_config").read_bytes() == host_sshd
    assert _etc_digest() == host_etc
