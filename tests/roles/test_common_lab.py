"""The common role against the lab's server nodes, each on its own root filesystem: converge,
converge again with nothing to change, testinfra passes; an NTP server changed by hand fails
exactly its testinfra check and the next converge repairs it. No administrator password appears
in Ansible's output, and the machine running the lab is unchanged (/etc, dpkg -l, sysctls)."""

from __future__ import annotations

import pytest

from lab import automation
from tests.lab.test_rootfs import _machine, _same
from tests.roles import labtools

# three converges and three testinfra runs over 4 servers: minutes on a busy 2-core machine
pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.timeout(2400)]

SUITE = "roles/common/tests"
BROKEN = "prov-db1"
DROPIN = "/etc/systemd/timesyncd.conf.d/50-jinbao.conf"


def test_common_converges_idempotently_is_verified_and_repairs_a_hand_edit(roles_lab):
    lab = roles_lab
    servers = automation.servers(lab)
    machine = _machine()

    assert labtools.converge_role(lab, "common") == set(servers)
    assert labtools.converge_role(lab, "common") == set()
    assert labtools.failures(lab, SUITE, servers) == set()

    # An operator points one node at an NTP server outside the management zone.
    lab.in_node(BROKEN, ["sed", "-i", "s/^NTP=.*/NTP=192.0.2.123/", DROPIN])
    ip = str(lab.plan.nodes[BROKEN].device.mgmt_ip)
    assert labtools.failures(lab, SUITE, servers) == {("test_time_sync_follows_only_the_management_ntp_servers", ip)}

    assert labtools.converge_role(lab, "common", [BROKEN]) == {BROKEN}
    assert labtools.failures(lab, SUITE, [BROKEN]) == set()
    _same(machine, _machine())
