"""The auditd role against the lab's server nodes, each on its own root filesystem: converge,
converge again with nothing to change, testinfra passes. A node shares the machine's kernel, so
the lab's inventory sets auditd_load_rules: false: the rules are written, merged (augenrules) and
checked without auditctl, never loaded. A rule removed by hand fails exactly its testinfra check
and the next converge repairs it. The machine running the lab is unchanged (/etc, dpkg -l,
sysctls)."""

from __future__ import annotations

import pytest

from lab import automation
from tests.lab.test_rootfs import _machine, _same
from tests.roles import baseline_lab

# three converges and three testinfra runs over 4 servers: minutes on a busy 2-core machine
pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.timeout(2400)]

SUITE = "roles/auditd/tests"
BROKEN = "prov-mon1"
RULES = "/etc/audit/rules.d/50-jinbao.rules"


@pytest.fixture(scope="module")
def own_lab():
    yield from baseline_lab.own_lab()


def test_auditd_converges_idempotently_is_verified_and_repairs_a_hand_edit(own_lab):
    lab = own_lab
    servers = automation.servers(lab)
    machine = _machine()
    baseline_lab.assert_own_roots(lab)

    first = baseline_lab.converge(lab, "auditd")
    assert all(first[h] > 0 for h in servers), first
    assert baseline_lab.converge(lab, "auditd") == dict.fromkeys(servers, 0)
    assert baseline_lab.failures(lab, SUITE, servers) == set()

    # Someone drops the watch on /etc/shadow and regenerates audit.rules (without loading it).
    lab.in_node(BROKEN, ["bash", "-c", f"sed -i '\\|^-w /etc/shadow |d' {RULES} && augenrules >/dev/null"])
    ip = str(lab.plan.nodes[BROKEN].device.mgmt_ip)
    assert baseline_lab.failures(lab, SUITE, servers) == {("test_actions_are_recorded[identity]", ip)}

    repaired = baseline_lab.converge(lab, "auditd")
    assert {h for h in servers if repaired[h] > 0} == {BROKEN}, repaired
    assert baseline_lab.failures(lab, SUITE, servers) == set()
    _same(machine, _machine())
