"""The host variables the snmpd and firewall_host roles read, from the lab estate's policy.yml and
SNMP profile (jinbao/ansible_security.py through the inventory's build())."""

from __future__ import annotations

import pytest

from jinbao.ansible_inventory import build
from jinbao.estate import load_estate


@pytest.fixture(scope="module")
def estate():
    return load_estate("lab")


@pytest.fixture(scope="module")
def hostvars(estate):
    return build(estate)[1]


def _block(estate, zone: str) -> str:
    return str(estate.zone("prov", zone).block)


def test_snmp_keys_are_references_and_traps_go_to_the_collectors(hostvars):
    snmp = hostvars["prov-app1"]["jinbao_snmp"]
    assert snmp["auth_key"] == "env:JINBAO_SNMP_AUTH_KEY" and snmp["priv_key"] == "env:JINBAO_SNMP_PRIV_KEY"
    assert snmp["trap_targets"] == [hostvars["prov-mon1"]["ansible_host"]]


def test_management_services_come_from_the_management_network(estate, hostvars):
    fw = hostvars["prov-app1"]["jinbao_host_firewall"]
    assert fw["mgmt_interface"] == "mgmt0" and fw["mgmt_from"] == str(estate.mgmt_block)
    assert fw["mgmt_services"] == ["tcp/22", "udp/161"]
    # the collector also takes syslog and traps, and answers NTP
    assert set(hostvars["prov-mon1"]["jinbao_host_firewall"]["mgmt_services"]) == {
        "tcp/22",
        "udp/161",
        "udp/514",
        "udp/162",
        "udp/123",
    }


def test_zone_policy_becomes_sources_and_services(estate, hostvars):
    rules = {r["from_zone"]: r for r in hostvars["prov-db1"]["jinbao_host_firewall"]["inbound"]}
    assert rules["management"]["saddr"] == [_block(estate, "management")]
    # core = routed in from beyond the site: anything but the site's guarded zones
    guarded = {_block(estate, "production"), _block(estate, "management")}
    assert rules["core"]["saddr"] == [] and set(rules["core"]["saddr_not"]) == guarded
    assert rules["core"]["services"] == [{"proto": "tcp", "ports": [5432, 5432]}]
    # peers in the zone get what other data zones get, never the management services
    assert rules["production"]["services"] == [{"proto": "tcp", "ports": [5432, 5432]}]


def test_only_linux_servers_get_a_host_firewall(hostvars):
    assert "jinbao_host_firewall" not in hostvars["prov-wan1"] and "jinbao_host_firewall" not in hostvars["prov-fw1"]
    assert "jinbao_snmp" in hostvars["prov-wan1"]


def test_vrrp_adverts_are_accepted_from_the_dr_peer_only(estate, hostvars):
    pair = estate.dr_pairs[0]
    for me, peer in ((pair.primary, pair.standby), (pair.standby, pair.primary)):
        assert hostvars[me]["jinbao_host_firewall"]["vrrp_from"] == [hostvars[peer]["jinbao_dr_pairs"][0]["address"]]
    # a server in no DR pair accepts no adverts
    assert hostvars["prov-app1"]["jinbao_host_firewall"]["vrrp_from"] == []
