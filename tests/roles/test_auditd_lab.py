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
from tests.roles import labtools

# three converges and three testinfra runs over 4 servers: minutes on a busy 2-core machine
pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.timeout(2400)]

SUITE = "roles/auditd/tests"
BROKEN = "prov-mon1"
RULES = "/etc/audit/rules.d/50-jinbao.rules"


def test_auditd_converges_idempotently_is_verified_and_repairs_a_hand_edit(roles_lab):
    lab = roles_lab
    servers = automation.servers(lab)
    machine = _machine()

    assert labtools.converge_role(lab, "auditd") == set(servers)
    assert labtools.converge_role(lab, "auditd") == set()
    assert labtools.failures(lab, SUITE, servers) == set()

    # Someone drops the watch on /etc/shadow and regenerates audit.rules (without loading it).
    lab.in_node(BROKEN, ["bash", "-c", f"sed -i '\\|^-w /etc/shadow |d' {RULES} && augenrules >/dev/null"])
    ip = str(lab.plan.nodes[BROKEN].device.mgmt_ip)
    assert labtools.failures(lab, SUITE, servers) == {("test_actions_are_recorded[identity]", ip)}

    assert labtools.converge_role(lab, "auditd", [BROKEN]) == {BROKEN}
    assert labtools.failures(lab, SUITE, [BROKEN]) == set()
    _same(machine, _machine())
