"""The snmpd role against lab servers (each on its own root filesystem): converge, converge again
with nothing to change, testinfra passes and jinbao's monitoring still polls every node with the
estate's v3 user; privacy dropped by hand (`rouser ... auth`, agent reloaded) fails exactly its check, and the next converge repairs it. Keys only in the root-only file, never in
Ansible's output; the machine's /etc unchanged."""

from __future__ import annotations

import time

import pytest

from lab import health
from tests.lab.test_rootfs import _etc_digest
from tests.roles import labtools

pytestmark = pytest.mark.lab

PLAYBOOK = "playbooks/harden.yml"
SUITE = "roles/snmpd/tests"
HOSTS = ["prov-app1", "prov-mon1"]  # a sender and the collector its traps go to
BROKEN = "prov-app1"


def _converge(lab):
    return labtools.converge(lab, PLAYBOOK, HOSTS, "--tags", "snmpd")


def _reloads(lab, node: str) -> int:
    return (lab.node_dir(node) / "snmpd.log").read_text().count("restarted")


def _wait_reload(lab, node: str, before: int, timeout: float = 20) -> None:
    end = time.monotonic() + timeout
    while _reloads(lab, node) <= before:
        assert time.monotonic() < end, f"snmpd on {node} did not reload within {timeout} s"
        time.sleep(0.1)


def test_converge_keeps_monitoring_and_repairs_a_hand_edit(roles_lab):
    lab = roles_lab
    host_etc = _etc_digest()

    assert labtools.changed(_converge(lab)) == set(HOSTS)
    assert labtools.changed(_converge(lab)) == set()
    assert labtools.failures(lab, SUITE, HOSTS) == set()
    assert all(health.snmp_answers(lab).values())  # the monitoring's own poll, every node

    for node in HOSTS:
        conf = lab.in_node(node, ["cat", "/etc/snmp/snmpd.conf"]).stdout
        keys = lab.snmp_keys()["v3-monitor"]
        assert not any(k in conf for k in keys)  # keys only in the root-only file

    # An operator lets the user in without privacy on one node, and reloads the agent.
    before = _reloads(lab, BROKEN)
    lab.in_node(
        BROKEN,
        [
            "sh",
            "-c",
            r"sed -i 's/^rouser \(\S*\) priv$/rouser \1 auth/' /etc/snmp/snmpd.conf && "
            "pkill -HUP --pidfile /run/snmpd.pid",
        ],
    )
    _wait_reload(lab, BROKEN, before)
    assert labtools.failures(lab, SUITE, HOSTS) == {
        ("test_the_v3_user_without_privacy_is_refused", labtools.ip(lab, BROKEN))
    }

    before = _reloads(lab, BROKEN)
    assert labtools.changed(_converge(lab)) == {BROKEN}
    _wait_reload(lab, BROKEN, before)
    assert labtools.failures(lab, SUITE, HOSTS) == set()

    assert _etc_digest() == host_etc
