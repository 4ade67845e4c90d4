"""The vendor renderings (IOS, VRP, Comware): no secret value in them, and hier_config reads each
back into the sections its platform's engineer expects. Syntax rules and hier_config only: no
vendor device runs here."""

from __future__ import annotations

import pytest

from jinbao.intent import intents
from netconfig.checks import check
from netconfig.checks.diff import dialect
from netconfig.checks.loader import hierarchy
from netconfig.render import render_intent

VENDORS = ("cisco_ios", "huawei_vrp", "h3c_comware")
SECRETS = {
    "JINBAO_OSPF_KEY": "Osp7KeyValue",
    "JINBAO_NETADMIN_PW": "Net4dminPw",
    "JINBAO_SECADMIN_PW": "Sec4dminPw",
    "JINBAO_AUDITOR_PW": "Aud1torPw",
    "JINBAO_SNMP_AUTH_KEY": "SnmpAuthV4lue",
    "JINBAO_SNMP_PRIV_KEY": "SnmpPrivV4lue",
}


@pytest.fixture(scope="module")
def province_intents(province):
    return intents(province)


def _one(province_intents, platform, role):
    return next(i for i in province_intents.values() if i.platform == platform and i.role == role)


def _sections(platform, text):
    tree = hierarchy(dialect(platform), text)
    return {c.text: c for c in tree.children}


def test_no_secret_value_reaches_a_vendor_rendering(province_intents, monkeypatch):
    for var, value in SECRETS.items():
        monkeypatch.setenv(var, value)
    seen = set()
    for i in province_intents.values():
        if i.platform in VENDORS and (i.platform, i.role) not in seen:
            seen.add((i.platform, i.role))
            (text,) = render_intent(i).values()
            for var, value in SECRETS.items():
                assert value not in text, (i.name, var)
            assert "<secret env:JINBAO_NETADMIN_PW>" in text and "<secret env:JINBAO_SNMP_PRIV_KEY>" in text
    assert {p for p, _ in seen} == set(VENDORS)


def test_every_vendor_device_renders_and_passes_its_checker(province_intents):
    counted = dict.fromkeys(VENDORS, 0)
    for i in province_intents.values():
        if i.platform in VENDORS:
            files = render_intent(i)
            assert files is not None and list(files) == [i.platform]
            assert check(i.platform, files[i.platform]) == [], i.name
            counted[i.platform] += 1
    assert counted == {"cisco_ios": 4, "huawei_vrp": 146, "h3c_comware": 355}


def test_vrp_router_reads_back_into_its_views(province_intents):
    i = _one(province_intents, "huawei_vrp", "wan_router")
    (text,) = render_intent(i).values()
    s = _sections("huawei_vrp", text)
    assert f"sysname {i.name}" in s and "stelnet server enable" in s and "bfd" in s
    assert s["ip vpn-instance mgmt"].get_child(equals="ipv4-family") is not None
    ospf = s[f"ospf 1 router-id {i.ospf.router_id}"]
    area = ospf.get_child(startswith="area 0.0.0.")
    assert area is not None and area.get_child(equals=f"network {i.ospf.router_id} 0.0.0.0") is not None
    mgmt = s["interface MEth0/0/1"]
    assert mgmt.get_child(equals="ip binding vpn-instance mgmt") is not None
    wan = next(x for x in i.interfaces if x.peer)
    port = s[f"interface {wan.name}"]
    assert port.get_child(equals=f"ip address {wan.address.ip} {wan.address.netmask}") is not None
    assert port.get_child(equals="ospf network-type p2p") is not None
    assert port.get_child(equals="ospf bfd enable") is not None
    assert port.get_child(startswith="ospf authentication-mode md5 1 cipher <secret env:") is not None
    assert wan.peer.device in port.get_child(startswith="description ").text
    aaa = s["aaa"]
    assert aaa.get_child(startswith="local-aaa-user wrong-password") is not None
    assert aaa.get_child(equals="local-user auditor privilege level 1") is not None
    vty = s["user-interface vty 0 4"]
    assert {c.text for c in vty.children} >= {"authentication-mode aaa", "protocol inbound ssh"}
    assert any(k.startswith("info-center loghost ") for k in s)
    assert "return" not in s  # the listing's end, not configuration


def test_vrp_firewall_has_zones_and_a_default_deny_policy(province_intents):
    i = _one(province_intents, "huawei_vrp", "firewall")
    (text,) = render_intent(i).values()
    s = _sections("huawei_vrp", text)
    for zone, iface in i.firewall.zones:
        assert s[f"firewall zone name {zone}"].get_child(equals=f"add interface {iface}") is not None
    rules = [c for c in s["security-policy"].children if c.text.startswith("rule name ")]
    assert rules[-1].text == "rule name default-deny" and rules[-1].get_child(equals="action deny") is not None
    for r in i.firewall.rules:
        rule = s["security-policy"].get_child(equals=f"rule name {r.name}")
        assert rule is not None and rule.get_child(equals="action permit") is not None
        assert rule.get_child(equals=f"source-zone {r.from_zone}") is not None


def test_comware_firewall_reads_back_into_its_views(province_intents):
    i = _one(province_intents, "h3c_comware", "firewall")
    (text,) = render_intent(i).values()
    s = _sections("h3c_comware", text)
    assert f"sysname {i.name}" in s and "ssh server enable" in s and "password-control enable" in s
    assert f"ospf 1 router-id {i.ospf.router_id}" in s
    for zone, iface in i.firewall.zones:
        assert s[f"security-zone name {zone}"].get_child(equals=f"import interface {iface}") is not None
    policy = s["security-policy ip"]
    last = policy.children[-1]
    assert last.text == "rule 65535 name default-deny" and last.get_child(equals="action drop") is not None
    user = s["local-user netadmin class manage"]
    assert user.get_child(equals="authorization-attribute user-role network-admin") is not None
    assert user.get_child(equals="password simple <secret env:JINBAO_NETADMIN_PW>") is not None
    assert s["line vty 0 63"].get_child(equals="protocol inbound ssh") is not None
    mgmt = s["interface M-GigabitEthernet0/0/0"]
    assert mgmt.get_child(equals="ip binding vpn-instance mgmt") is not None
    assert "info-center loghost vpn-instance mgmt 10.35.0.125" in s


def test_comware_switch_without_routing_has_no_ospf(province_intents):
    i = _one(province_intents, "h3c_comware", "access_switch")
    (text,) = render_intent(i).values()
    s = _sections("h3c_comware", text)
    assert not any(k.startswith("ospf ") for k in s) and not any(k.startswith("security-") for k in s)
    port = s[f"interface {i.interfaces[0].name}"]
    assert port.get_child(equals="port link-mode route") is not None


def test_ios_core_reads_back_into_its_sections(province_intents):
    i = _one(province_intents, "cisco_ios", "core_switch")
    (text,) = render_intent(i).values()
    s = _sections("cisco_ios", text)
    assert f"hostname {i.name}" in s and "ip ssh version 2" in s and "aaa new-model" in s
    ospf = s["router ospf 1"]
    assert ospf.get_child(equals=f"router-id {i.ospf.router_id}") is not None
    assert ospf.get_child(startswith="network ") is not None
    lan = s[f"interface {i.interfaces[0].name}"]
    assert lan.get_child(equals="ip ospf authentication message-digest") is not None
    assert lan.get_child(startswith="ip ospf message-digest-key 1 md5 <secret env:") is not None
    assert s["interface GigabitEthernet0/0"].get_child(equals="vrf forwarding Mgmt-vrf") is not None
    assert s["line vty 0 4"].get_child(equals="transport input ssh") is not None
    assert any(k.startswith("username auditor privilege 1 algorithm-type scrypt secret <secret") for k in s)
    assert "logging host 10.35.0.125 vrf Mgmt-vrf" in s
