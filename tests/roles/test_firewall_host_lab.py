"""The firewall_host role against lab servers: a policy that lets nothing in still keeps SSH from the
management network (the next play reaches the host: no lockout); converge, converge again with
nothing to change, testinfra passes, a peer's SSH to the data address is dropped while the
monitoring still polls; a port opened by hand fails exactly its check and the next converge closes
it. The machine's /etc unchanged."""

from __future__ import annotations

import json

import pytest

from lab import health
from tests.lab.test_rootfs import _etc_digest
from tests.roles import labtools

pytestmark = pytest.mark.lab

PLAYBOOK = "playbooks/harden.yml"
SUITE = "roles/firewall_host/tests"
HOSTS = ["prov-app1", "prov-db1"]  # peers in the production zone
BROKEN = "prov-app1"


def _converge(lab, *args: str):
    return labtools.converge(lab, PLAYBOOK, HOSTS, "--tags", "firewall_host", *args)


def _data_ip(lab, node: str) -> str:
    return str(next(i.ip.ip for i in lab.plan.nodes[node].device.interfaces if i.ip))


def _tcp_opens(lab, src: str, dst_ip: str, port: int) -> bool:
    """Does a TCP connection from node src to dst_ip:port complete within 3 s? (A drop times out.)"""
    r = lab.in_node(src, ["timeout", "3", "bash", "-c", f"</dev/tcp/{dst_ip}/{port}"], check=False)
    return r.returncode == 0


def test_ssh_survives_any_policy_and_the_policy_is_enforced_and_repaired(roles_lab):
    lab = roles_lab
    host_etc = _etc_digest()
    app_data = _data_ip(lab, BROKEN)
    assert _tcp_opens(lab, "prov-db1", app_data, 22)  # sshd listens there: a later failure is the firewall

    # A policy that names nothing at all: the play must still be able to come back.
    nothing = {
        "mgmt_interface": "mgmt0",
        "mgmt_from": str(lab.plan.estate.mgmt_block),
        "mgmt_services": [],
        "inbound": [],
    }
    labtools.converge(
        lab, PLAYBOOK, [BROKEN], "--tags", "firewall_host", "-e", json.dumps({"firewall_host_policy": nothing})
    )
    ruleset = lab.in_node(BROKEN, ["nft", "list", "table", "inet", "jinbao_host"]).stdout
    assert "policy drop" in ruleset and "tcp dport 22 accept" in ruleset

    assert labtools.changed(_converge(lab)) == set(HOSTS)  # reached again over SSH, the real policy loaded
    assert labtools.changed(_converge(lab)) == set()
    assert labtools.failures(lab, SUITE, HOSTS) == set()
    assert not _tcp_opens(lab, "prov-db1", app_data, 22)  # a peer may not administer it
    assert all(health.snmp_answers(lab).values())  # the monitoring still polls over the management network

    # An operator opens telnet by hand on one node.
    lab.in_node(BROKEN, ["nft", "insert", "rule", "inet", "jinbao_host", "input", "tcp", "dport", "23", "accept"])
    assert labtools.failures(lab, SUITE, HOSTS) == {("test_only_approved_ports_are_open", labtools.ip(lab, BROKEN))}

    assert labtools.changed(_converge(lab)) == {BROKEN}
    assert labtools.failures(lab, SUITE, HOSTS) == set()
    assert _etc_digest() == host_etc
