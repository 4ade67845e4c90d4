"""The os_hardening role against the lab's server nodes, each on its own root filesystem: converge,
converge again with nothing to change, testinfra passes (kernel-wide sysctls are checked as
persisted only: a node shares the machine's kernel); a network sysctl loosened by hand in one node
fails exactly its testinfra check and the next converge repairs it. The machine running the lab is
unchanged (/etc, dpkg -l, sysctls outside net.*)."""

from __future__ import annotations

import pytest

from lab import automation
from tests.lab.test_rootfs import _machine, _same
from tests.roles import labtools

# three converges and three testinfra runs over 4 servers: minutes on a busy 2-core machine
pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.timeout(2400)]

SUITE = "roles/os_hardening/tests"
BROKEN = "prov-app1"
SYSCTL = "net.ipv4.conf.all.send_redirects"


def test_os_hardening_converges_idempotently_is_verified_and_repairs_a_hand_edit(roles_lab):
    lab = roles_lab
    servers = automation.servers(lab)
    machine = _machine()

    assert labtools.converge_role(lab, "os_hardening") == set(servers)
    assert labtools.converge_role(lab, "os_hardening") == set()
    assert labtools.failures(lab, SUITE, servers) == set()

    # An operator turns ICMP redirects back on in one node (its own network namespace).
    lab.in_node(BROKEN, ["sysctl", "-qw", f"{SYSCTL}=1"])
    ip = str(lab.plan.nodes[BROKEN].device.mgmt_ip)
    assert labtools.failures(lab, SUITE, servers) == {(f"test_network_sysctl_is_in_force[{SYSCTL}]", ip)}

    assert labtools.converge_role(lab, "os_hardening", [BROKEN]) == {BROKEN}
    assert labtools.failures(lab, SUITE, [BROKEN]) == set()
    _same(machine, _machine())
