"""The vendor checks: each platform's full running config passes every rule, and each rule (and
each structure check) fails on a config that breaks it. Pure parsing, no devices."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from netconfig.checks import cisco_ios, h3c_comware, huawei_vrp
from netconfig.checks.diff import remediation, rollback
from netconfig.checks.finding import Finding

RECORDINGS = Path(__file__).parent / "recordings"
CONFIGS = {
    "huawei_vrp": RECORDINGS / "huawei_vrp" / "display_current-configuration.txt",
    "h3c_comware": RECORDINGS / "h3c_comware" / "display_current-configuration.txt",
    "cisco_ios": RECORDINGS / "cisco_ios" / "show_running-config.txt",
}


def config(platform: str) -> str:
    return CONFIGS[platform].read_text()


def check(platform: str, text: str) -> list[Finding]:
    return importlib.import_module(f"netconfig.checks.{platform}").check(text)


# A USG zone-border rule that reaches a zone beyond core by its network (jinbao/intent/build.py).
VRP_POLICY = (
    "#\nsecurity-policy\n rule name management-to-production\n  source-zone management\n"
    "  destination-zone core\n  destination-address {net} mask {mask}\n  service icmp\n  action permit\n#\nbfd\n"
)

# (platform, rule id, text in the valid config, what replaces it). Each breaks exactly the rule.
VIOLATIONS = [
    # --- Huawei VRP ---
    ("huawei_vrp", "vrp.ip-address", "10.34.68.33 255.255.255.224", "10.34.68.33 255.255.0.255"),
    ("huawei_vrp", "vrp.ospf-network", "network 10.34.241.124 0.0.0.3", "network 10.34.241.124 0.0.3.0"),
    ("huawei_vrp", "vrp.vlan-range", "#\nbfd\n", "#\nvlan 4095\n#\nbfd\n"),
    ("huawei_vrp", "vrp.duplicate-interface", "interface GigabitEthernet0/0/4", "interface GigabitEthernet0/0/3"),
    ("huawei_vrp", "vrp.duplicate-ip", "10.34.241.125 255", "10.34.241.121 255"),
    (
        "huawei_vrp",
        "vrp.repeated-line",
        "ntp-service unicast-server 10.35.0.128",
        "ntp-service unicast-server 10.35.0.127",
    ),
    (
        "huawei_vrp",
        "vrp.static-route",
        "sysname chuzhou-wan1\n",
        "sysname chuzhou-wan1\nip route-static 10.250.0.1 255.255.255.0 NULL0 preference 250\n",
    ),
    # A policy address with host bits set: USG stores the masked network, a diff forever.
    ("huawei_vrp", "vrp.policy-address", "#\nbfd\n", VRP_POLICY.format(net="10.34.1.9", mask="255.255.255.0")),
    ("huawei_vrp", "vrp.interface-name", "interface GigabitEthernet0/0/4", "interface GigabitEthernet0/4"),
    ("huawei_vrp", "vrp.ospf-router-id", "ospf 1 router-id 10.34.68.1", "ospf 1"),
    ("huawei_vrp", "vrp.ospf-area-dotted", "area 0.0.0.10", "area 10"),
    ("huawei_vrp", "vrp.stelnet", "stelnet server enable\n", ""),
    ("huawei_vrp", "vrp.telnet", "stelnet server enable\n", "stelnet server enable\ntelnet server enable\n"),
    ("huawei_vrp", "vrp.loghost", "info-center loghost 10.35.0.125\ninfo-center loghost 10.35.0.126\n", ""),
    ("huawei_vrp", "vrp.snmp-version", "sys-info version v3", "sys-info version v2c v3"),
    (
        "huawei_vrp",
        "vrp.snmp-community",
        "snmp-agent sys-info version v3\n",
        "snmp-agent sys-info version v3\nsnmp-agent community read cipher %^%#public%^%#\n",
    ),
    (
        "huawei_vrp",
        "vrp.local-user-password",
        "local-user auditor password irreversible-cipher",
        "local-user auditor password cipher",
    ),
    (
        "huawei_vrp",
        "vrp.login-lockout",
        " local-aaa-user wrong-password retry-interval 5 retry-time 3 block-time 15\n",
        "",
    ),
    ("huawei_vrp", "vrp.vty-range", "user-interface vty 0 4", "user-interface vty 0 15"),
    (
        "huawei_vrp",
        "vrp.vty-aaa",
        " acl 2000 inbound\n authentication-mode aaa\n",
        " acl 2000 inbound\n authentication-mode password\n",
    ),
    ("huawei_vrp", "vrp.vty-ssh", " protocol inbound ssh\n", " protocol inbound all\n"),
    ("huawei_vrp", "vrp.vty-idle", " user privilege level 15\n idle-timeout 5 0\n", " user privilege level 15\n"),
    (
        "huawei_vrp",
        "vrp.idle-timeout",
        " user privilege level 15\n idle-timeout 5 0\n",
        " user privilege level 15\n idle-timeout 0 0\n",
    ),
    ("huawei_vrp", "vrp.ntp", "ntp-service unicast-server 10.35.0.127\nntp-service unicast-server 10.35.0.128\n", ""),
    ("huawei_vrp", "vrp.sysname", "sysname chuzhou-wan1\n", ""),
    # --- H3C Comware 7 ---
    ("h3c_comware", "comware.ip-address", "10.34.2.129 255.255.255.128", "10.34.2.128 255.255.255.128"),
    ("h3c_comware", "comware.ospf-network", "network 10.34.0.64 0.0.0.63", "network 10.34.0.64 0.0.0.62"),
    ("h3c_comware", "comware.vlan-range", "#\ndomain system\n", "#\nvlan 0\n#\ndomain system\n"),
    (
        "h3c_comware",
        "comware.duplicate-interface",
        "\ninterface GigabitEthernet1/0/2",
        "\ninterface GigabitEthernet1/0/1",
    ),
    ("h3c_comware", "comware.duplicate-ip", "10.34.2.129 255.255.255.128", "10.34.0.74 255.255.255.128"),
    ("h3c_comware", "comware.repeated-line", " info-center loghost 10.35.0.126", " info-center loghost 10.35.0.125"),
    (
        "h3c_comware",
        "comware.static-route",
        " ntp-service enable\n",
        " ntp-service enable\n ip route-static 10.250.0.0 24 bogus\n",
    ),
    ("h3c_comware", "comware.policy-subnet", "10.34.0.0 255.255.224.0", "10.34.0.0 255.255.0.224"),
    ("h3c_comware", "comware.interface-name", "\ninterface GigabitEthernet1/0/2", "\ninterface GigabitEthernet0/2"),
    ("h3c_comware", "comware.ospf-router-id", "ospf 1 router-id 10.34.0.8", "ospf 1 router-id 10.34.0.256"),
    ("h3c_comware", "comware.ospf-area-dotted", "area 0.0.0.0", "area 0"),
    ("h3c_comware", "comware.ssh", " ssh server enable\n", ""),
    ("h3c_comware", "comware.telnet", " ssh server enable\n", " ssh server enable\n telnet server enable\n"),
    ("h3c_comware", "comware.loghost", " info-center loghost 10.35.0.125\n info-center loghost 10.35.0.126\n", ""),
    ("h3c_comware", "comware.snmp-version", "sys-info version v3", "sys-info version all"),
    (
        "h3c_comware",
        "comware.snmp-community",
        " snmp-agent sys-info version v3\n",
        " snmp-agent sys-info version v3\n snmp-agent community read simple public\n",
    ),
    ("h3c_comware", "comware.local-user-class", "local-user auditor class manage", "local-user auditor class network"),
    ("h3c_comware", "comware.password-hash", " password hash $h$6$Gm3s", " password cipher $c$3$Gm3s"),
    ("h3c_comware", "comware.user-role", " authorization-attribute user-role security-audit\n", ""),
    ("h3c_comware", "comware.password-control", " password-control enable\n", ""),
    ("h3c_comware", "comware.login-lockout", " password-control login-attempt 3 exceed lock-time 15\n", ""),
    ("h3c_comware", "comware.vty-range", "line vty 0 63", "line vty 0 64"),
    (
        "h3c_comware",
        "comware.vty-scheme",
        "line vty 0 63\n authentication-mode scheme",
        "line vty 0 63\n authentication-mode none",
    ),
    ("h3c_comware", "comware.vty-ssh", " protocol inbound ssh\n", ""),
    ("h3c_comware", "comware.vty-idle", " protocol inbound ssh\n idle-timeout 5 0\n", " protocol inbound ssh\n"),
    (
        "h3c_comware",
        "comware.idle-timeout",
        " protocol inbound ssh\n idle-timeout 5 0\n",
        " protocol inbound ssh\n idle-timeout 60 0\n",
    ),
    ("h3c_comware", "comware.ntp-enable", " ntp-service enable\n", ""),
    (
        "h3c_comware",
        "comware.ntp",
        " ntp-service unicast-server 10.35.0.127\n ntp-service unicast-server 10.35.0.128\n",
        "",
    ),
    ("h3c_comware", "comware.sysname", " sysname prov-fw-dec\n", ""),
    # --- Cisco IOS ---
    ("cisco_ios", "ios.ip-address", "10.34.0.65 255.255.255.192", "10.34.0.127 255.255.255.192"),
    ("cisco_ios", "ios.ospf-network", "network 10.34.0.64 0.0.0.63 area 0", "network 10.34.0.64 0.0.0.300 area 0"),
    ("cisco_ios", "ios.vlan-range", "vlan 10\n", "vlan 5000\n"),
    (
        "cisco_ios",
        "ios.static-route",
        "hostname prov-core1\n",
        "hostname prov-core1\nip route 10.250.0.0 255.0.255.0 Null0\n",
    ),
    ("cisco_ios", "ios.duplicate-interface", "interface GigabitEthernet0/2", "interface GigabitEthernet0/1"),
    ("cisco_ios", "ios.duplicate-ip", "ip address 10.34.0.65 255.255.255.192", "ip address 10.34.0.1 255.255.255.192"),
    (
        "cisco_ios",
        "ios.repeated-line",
        "logging host 10.35.0.126 vrf Mgmt-vrf",
        "logging host 10.35.0.125 vrf Mgmt-vrf",
    ),
    ("cisco_ios", "ios.interface-name", "interface GigabitEthernet0/2", "interface GigabitEthernet0/0/2"),
    ("cisco_ios", "ios.ospf-router-id", " router-id 10.34.0.1\n", ""),
    ("cisco_ios", "ios.router-id-address", " router-id 10.34.0.1\n", " router-id 10.34.0\n"),
    ("cisco_ios", "ios.ssh-v2", "ip ssh version 2\n", ""),
    (
        "cisco_ios",
        "ios.vty-ssh",
        "line vty 5 15\n access-class VTY-MGMT in vrf-also\n exec-timeout 5 0\n login authentication default\n transport input ssh\n",
        "line vty 5 15\n access-class VTY-MGMT in vrf-also\n exec-timeout 5 0\n login authentication default\n",
    ),
    (
        "cisco_ios",
        "ios.vty-telnet",
        "line vty 5 15\n access-class VTY-MGMT in vrf-also\n exec-timeout 5 0\n login authentication default\n transport input ssh\n",
        "line vty 5 15\n access-class VTY-MGMT in vrf-also\n exec-timeout 5 0\n login authentication default\n transport input ssh\n transport input telnet ssh\n",
    ),
    ("cisco_ios", "ios.login-block", "login block-for 900 attempts 3 within 120\n", ""),
    (
        "cisco_ios",
        "ios.exec-timeout",
        "line vty 0 4\n access-class VTY-MGMT in vrf-also\n exec-timeout 5 0\n",
        "line vty 0 4\n access-class VTY-MGMT in vrf-also\n",
    ),
    (
        "cisco_ios",
        "ios.exec-timeout-value",
        "line vty 0 4\n access-class VTY-MGMT in vrf-also\n exec-timeout 5 0\n",
        "line vty 0 4\n access-class VTY-MGMT in vrf-also\n exec-timeout 0 0\n",
    ),
    ("cisco_ios", "ios.snmp-v3-priv", "snmp-server group jinbao-mon v3 priv read iso-view\n", ""),
    (
        "cisco_ios",
        "ios.snmp-weak",
        "snmp-server view iso-view iso included\n",
        "snmp-server view iso-view iso included\nsnmp-server community public RO\n",
    ),
    (
        "cisco_ios",
        "ios.logging-host",
        "logging host 10.35.0.125 vrf Mgmt-vrf\nlogging host 10.35.0.126 vrf Mgmt-vrf\n",
        "",
    ),
    ("cisco_ios", "ios.ntp", "ntp server vrf Mgmt-vrf 10.35.0.127\nntp server vrf Mgmt-vrf 10.35.0.128\n", ""),
    ("cisco_ios", "ios.password-encryption", "service password-encryption\n", ""),
    (
        "cisco_ios",
        "ios.password-not-secret",
        "username auditor privilege 1 secret 9",
        "username auditor privilege 1 password 7",
    ),
    ("cisco_ios", "ios.http-server", "no ip http server\n", "ip http server\n"),
    ("cisco_ios", "ios.aaa", "aaa new-model\n", ""),
    ("cisco_ios", "ios.hostname", "hostname prov-core1\n", ""),
]

# Structure checks (hier_config's reading): one breaking variant per check and platform.
STRUCTURE = [
    ("huawei_vrp", "structure.not-in-view", " ospf cost 1\n#", " ospf cost 1\n local-user x privilege level 3\n#"),
    (
        "huawei_vrp",
        "structure.not-a-view",
        "sysname chuzhou-wan1\n",
        "sysname chuzhou-wan1\n undo info-center enable\n",
    ),
    ("huawei_vrp", "structure.indent", "  authentication-mode local", "   authentication-mode local"),
    ("huawei_vrp", "structure.unclosed", "  network 10.34.241.124 0.0.0.3\n#\n", "  network 10.34.241.124 0.0.0.3\n"),
    ("huawei_vrp", "structure.stray-exit", "#\nreturn", "quit\nreturn"),
    (
        "h3c_comware",
        "structure.not-in-view",
        " port link-mode route\n description zone core",
        " port link-mode route\n rule 5 permit\n description zone core",
    ),
    (
        "h3c_comware",
        "structure.indent",
        " service-type ssh\n authorization-attribute user-role network-admin",
        "\tservice-type ssh\n authorization-attribute user-role network-admin",
    ),
    (
        "h3c_comware",
        "structure.unclosed",
        " ip address 10.34.2.129 255.255.255.128\n#\n",
        " ip address 10.34.2.129 255.255.255.128\n",
    ),
    ("cisco_ios", "structure.not-in-view", " ip ospf cost 1\n", " ip ospf cost 1\n router-id 10.34.0.1\n"),
    ("cisco_ios", "structure.indent", " router-id 10.34.0.1", "  router-id 10.34.0.1"),
    ("cisco_ios", "structure.unclosed", " bfd all-interfaces\n!\n", " bfd all-interfaces\n"),
]


@pytest.mark.parametrize("platform", sorted(CONFIGS))
def test_the_full_running_config_passes_every_rule(platform):
    assert check(platform, config(platform)) == []


@pytest.mark.parametrize(
    ("platform", "rule", "old", "new"),
    VIOLATIONS + STRUCTURE,
    ids=[f"{p}:{r}" for p, r, _, _ in VIOLATIONS + STRUCTURE],
)
def test_each_rule_fails_on_a_config_that_breaks_it(platform, rule, old, new):
    text = config(platform)
    assert old in text, f"{old!r} not in the {platform} sample"
    findings = check(platform, text.replace(old, new, 1))
    assert rule in {f.rule for f in findings}, "\n".join(map(str, findings))
    hit = next(f for f in findings if f.rule == rule)
    assert hit.message and hit.fix


@pytest.mark.parametrize("module", [huawei_vrp, h3c_comware, cisco_ios])
def test_every_rule_in_the_tables_has_a_violating_config(module):
    covered = {rule for _, rule, _, _ in VIOLATIONS}
    ids = [r.id for r in module.RULES]
    assert len(ids) == len(set(ids)), "rule ids are unique"
    assert set(ids) <= covered, sorted(set(ids) - covered)


def test_a_finding_names_its_line():
    text = config("huawei_vrp").replace("area 0.0.0.10", "area 10")
    [finding] = huawei_vrp.check(text)
    assert text.splitlines()[finding.line - 1].strip() == "area 10" == finding.text
    assert "line" in str(finding) and "vrp.ospf-area-dotted" in str(finding)


def test_comware_globals_are_not_read_as_children_of_the_section_before_them():
    # ` info-center loghost` after an interface block would be that interface's child if the
    # one-space indent of Comware's globals were taken at face value.
    text = config("h3c_comware")
    assert " info-center loghost 10.35.0.125" in text
    assert h3c_comware.check(text) == []


def test_ios_banner_body_is_not_read_as_commands():
    text = config("cisco_ios").replace("all sessions are logged.", "all sessions are logged.\ninterface Bogus9")
    assert cisco_ios.check(text) == []


def test_remediation_uses_the_platforms_negation_and_closers():
    run = config("huawei_vrp")
    intended = run.replace("ntp-service unicast-server 10.35.0.128\n", "").replace(
        " ospf cost 100\n ospf bfd enable\n#\ninterface GigabitEthernet0/0/4",
        " ospf cost 50\n ospf bfd enable\n#\ninterface GigabitEthernet0/0/4",
    )
    lines = remediation("huawei_vrp", run, intended).splitlines()
    assert "undo ntp-service unicast-server 10.35.0.128" in lines
    assert lines[lines.index("interface GigabitEthernet0/0/3") :][:4] == [
        "interface GigabitEthernet0/0/3",
        " undo ospf cost 100",
        " ospf cost 50",
        " quit",
    ]
    assert "ntp-service unicast-server 10.35.0.128" in rollback("huawei_vrp", run, intended).splitlines()


def test_remediation_comware_and_ios():
    run = config("h3c_comware")
    fix = remediation("h3c_comware", run, run.replace("  network 10.34.2.128 0.0.0.127\n", ""))
    assert fix.splitlines() == [
        "ospf 1 router-id 10.34.0.8",
        " area 0.0.0.0",
        "  undo network 10.34.2.128 0.0.0.127",
        "  quit",
        " quit",
    ]
    run = config("cisco_ios")
    fix = remediation(
        "cisco_ios", run, run.replace("logging host 10.35.0.126 vrf Mgmt-vrf", "logging host 10.35.0.124 vrf Mgmt-vrf")
    )
    assert fix.splitlines() == ["no logging host 10.35.0.126 vrf Mgmt-vrf", "logging host 10.35.0.124 vrf Mgmt-vrf"]


def test_remediation_of_equal_configs_is_empty_and_unknown_platforms_are_refused():
    for platform in CONFIGS:
        assert remediation(platform, config(platform), config(platform)) == ""
    with pytest.raises(ValueError, match="no vendor CLI"):
        remediation("frr", "", "")


# Real syntax the rule tables first refused (each fix is explained beside its rule or view).
REAL_SYNTAX = [
    # VRP's out-of-band management port, bound to a management VPN instance.
    (
        "huawei_vrp",
        "#\ninterface NULL0\n",
        "#\nip vpn-instance mgmt\n ipv4-family\n  route-distinguisher 10.35.10.2:1\n#\n"
        "interface MEth0/0/1\n ip binding vpn-instance mgmt\n ip address 10.35.10.9 255.255.255.0\n#\ninterface NULL0\n",
    ),
    # Comware writes the VPN instance before the loghost's address.
    (
        "h3c_comware",
        " info-center loghost 10.35.0.125\n info-center loghost 10.35.0.126\n",
        " info-center loghost vpn-instance mgmt 10.35.0.125\n",
    ),
    # A management user's password typed in clear is stored hashed by Comware 7.
    ("h3c_comware", " password hash $h$6$Gm3s", " password simple $h$6$Gm3s"),
    # A security-policy rule matching a port without an object group.
    (
        "h3c_comware",
        "  destination-zone decision\n",
        "  destination-zone decision\n  service-port tcp destination eq 1521\n",
    ),
    ("huawei_vrp", "#\nbfd\n", VRP_POLICY.format(net="10.34.1.0", mask="255.255.255.0")),
    (
        "h3c_comware",
        "  source-ip-subnet 10.34.0.0 255.255.224.0\n",
        "  source-ip-subnet 10.34.0.0 255.255.224.0\n  destination-ip-subnet 10.34.3.128 255.255.255.128\n",
    ),
    ("h3c_comware", "#\ndomain system\n", "#\nip vpn-instance mgmt\n description oob\n#\ndomain system\n"),
]


@pytest.mark.parametrize(("platform", "old", "new"), REAL_SYNTAX)
def test_real_vendor_syntax_passes(platform, old, new):
    text = config(platform)
    assert old in text
    assert check(platform, text.replace(old, new, 1)) == []
