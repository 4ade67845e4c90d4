"""The ssh_hardening role against the lab's server nodes, each on its own root filesystem
(lab/rootfs.py): converge, converge again with nothing to change, testinfra passes; a setting
broken by hand fails exactly its testinfra check, and the next converge repairs it. The machine
running the lab is checked to be unchanged (its sshd_config, and /etc as a whole)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab import automation
from tests.lab.test_rootfs import _etc_digest
from tests.roles import labtools

pytestmark = pytest.mark.lab

SUITE = "roles/ssh_hardening/tests"
BROKEN = "prov-app1"


def test_converge_is_idempotent_verified_and_repairs_a_hand_edit(roles_lab):
    lab = roles_lab
    servers = automation.servers(lab)
    host_sshd = Path("/etc/ssh/sshd_config").read_bytes()
    host_etc = _etc_digest()

    assert labtools.converge_role(lab, "ssh_hardening") == set(servers)  # something to harden on each
    assert labtools.converge_role(lab, "ssh_hardening") == set()
    assert labtools.failures(lab, SUITE, servers) == set()

    # An operator turns password login back on by hand on one node.
    lab.in_node(
        BROKEN,
        ["sed", "-i", "s/^PasswordAuthentication no$/PasswordAuthentication yes/", "/etc/ssh/sshd_config"],
    )
    ip = str(lab.plan.nodes[BROKEN].device.mgmt_ip)
    assert labtools.failures(lab, SUITE, servers) == {("test_password_authentication_is_off", ip)}

    assert labtools.converge_role(lab, "ssh_hardening", [BROKEN]) == {BROKEN}
    assert labtools.failures(lab, SUITE, [BROKEN]) == set()

    # none of it reached the machine running the lab
    assert Path("/etc/ssh/sshd_config").read_bytes() == host_sshd
    assert _etc_digest() == host_etc
