"""The os_hardening role against the lab's server nodes, each on its own root filesystem: converge,
converge again with nothing to change, testinfra passes (kernel-wide sysctls are checked as
persisted only: a node shares the machine's kernel); a network sysctl loosened by hand in one node
fails exactly its testinfra check and the next converge repairs it. The machine running the lab is
unchanged (/etc, dpkg -l, sysctls outside net.*)."""

from __future__ import annotations

import pytest

from lab import automation
from tests.lab.test_rootfs import _machine, _same
from tests.roles import baseline_lab

# three converges and three testinfra runs over 4 servers: minutes on a busy 2-core machine
pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.timeout(2400)]

SUITE = "roles/os_hardening/tests"
BROKEN = "prov-app1"
SYSCTL = "net.ipv4.conf.all.send_redirects"


@pytest.fixture(scope="module")
def own_lab():
    yield from baseline_lab.own_lab()


def test_os_hardening_converges_idempotently_is_verified_and_repairs_a_hand_edit(own_lab):
    lab = own_lab
    servers = automation.servers(lab)
    machine = _machine()
    baseline_lab.assert_own_roots(lab)

    first = baseline_lab.converge(lab, "os_hardening")
    assert all(first[h] > 0 for h in servers), first
    assert baseline_lab.converge(lab, "os_hardening") == dict.fromkeys(servers, 0)
    assert baseline_lab.failures(lab, SUITE, servers) == set()

    # An operator turns ICMP redirects back on in one node (its own network namespace).
    lab.in_node(BROKEN, ["sysctl", "-qw", f"{SYSCTL}=1"])
    ip = str(lab.plan.nodes[BROKEN].device.mgmt_ip)
    assert baseline_lab.failures(lab, SUITE, servers) == {(f"test_network_sysctl_is_in_force[{SYSCTL}]", ip)}

    repaired = baseline_lab.converge(lab, "os_hardening")
    assert {h for h in servers if repaired[h] > 0} == {BROKEN}, repaired
    assert baseline_lab.failures(lab, SUITE, servers) == set()
    _same(machine, _machine())
