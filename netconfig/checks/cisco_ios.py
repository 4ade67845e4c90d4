"""Cisco IOS / IOS-XE (the core switches): structure and syntax rules.

Syntax from Cisco's IOS configuration guides and command references: `router ospf 1` with
`router-id`, `ip ssh version 2`, `transport input ssh`, `login block-for`, `exec-timeout`,
`snmp-server group … v3 priv`, `logging host`, `ntp server`, `service password-encryption`,
`secret` rather than `password`. The estate names IOS data ports `GigabitEthernet0/N`
(jinbao/platforms.py), with `GigabitEthernet0/0` the out-of-band management port.
"""

from __future__ import annotations

import re

from hier_config import Platform, get_hconfig_driver
from hier_config.platforms.driver_base import HConfigDriverBase

from netconfig.checks.finding import Finding
from netconfig.checks.loader import Dialect
from netconfig.checks.rules import (
    IPV4,
    Forbid,
    Require,
    Rule,
    SectionNeeds,
    Valid,
    check_config,
    idle_timeout_ok,
    shared_rules,
    valid_ipv4,
)
from netconfig.checks.structure import View


def _driver() -> HConfigDriverBase:
    # hier_config's own IOS driver fits as it is: '!' separators, 'exit' closers, banners.
    return get_hconfig_driver(Platform.CISCO_IOS)


DIALECT = Dialect(
    name="cisco_ios",
    driver=_driver,
    closers=frozenset({"!", "exit"}),
    comment=re.compile(r"^!"),
    terminators=frozenset({"end"}),
)

VIEWS: tuple[View, ...] = (
    View(
        r"^interface ",
        (
            r"^description ",
            r"^(no )?ip address",
            r"^(no )?shutdown$",
            r"^(no )?switchport",
            r"^ip ospf ",
            r"^bfd interval ",
            r"^mtu \d+$",
            r"^channel-group ",
            r"^ip access-group ",
            r"^vrf forwarding ",
            r"^negotiation auto$",
            r"^(no )?ip (redirects|unreachables|proxy-arp)$",
            r"^load-interval \d+$",
        ),
    ),
    View(
        r"^router ospf \d+",
        (
            r"^router-id ",
            r"^network ",
            r"^(no )?passive-interface ",
            r"^auto-cost reference-bandwidth \d+$",
            r"^area ",
            r"^bfd all-interfaces$",
            r"^log-adjacency-changes",
            r"^timers ",
        ),
    ),
    View(
        r"^line (con|vty|aux) ",
        (
            r"^exec-timeout ",
            r"^transport (input|output|preferred) ",
            r"^login",
            r"^access-class ",
            r"^logging synchronous$",
            r"^session-timeout ",
            r"^privilege level ",
            r"^stopbits ",
        ),
    ),
    View(r"^ip access-list (standard|extended) ", (r"^(\d+ )?(permit|deny|remark) ",)),
    View(r"^vlan \d+$", (r"^name ",)),
    View(r"^vrf definition ", (r"^description ", r"^rd "), (View(r"^address-family ", (r"^exit-address-family$",)),)),
    View(r"^archive$", (r"^path ", r"^write-memory$", r"^time-period \d+$", r"^maximum \d+$")),
    View(r"^ip ssh pubkey-chain$", (), (View(r"^username ", (r"^key-hash ",)),)),
)


RULES: tuple[Rule, ...] = (
    *shared_rules("ios", r"^(vlan|switchport access vlan|switchport trunk allowed vlan) (?P<vlans>[\d ,-]+)$"),
    Valid(
        "ios.interface-name",
        "not an interface name of the estate's IOS switches",
        "name data ports GigabitEthernet0/N (GigabitEthernet0/0 is management); VRP's 0/0/N does not exist here",
        pattern=r"^interface (?P<name>.+)$",
        ok=lambda m: (
            re.fullmatch(
                r"GigabitEthernet0/\d+(\.\d+)?|TenGigabitEthernet0/\d+|Loopback\d+|Vlan\d+|Port-channel\d+|Null0|Tunnel\d+",
                m.group("name"),
            )
            is not None
        ),
    ),
    SectionNeeds(
        "ios.ospf-router-id",
        "OSPF process without a router-id: IOS would pick the highest loopback address, which moves",
        "add `router-id <loopback address>` under `router ospf 1`",
        section=r"^router ospf \d+",
        child=r"^router-id ",
    ),
    Valid(
        "ios.router-id-address",
        "the OSPF router-id is not an IPv4 address",
        "write the loopback address, e.g. `router-id 10.34.0.1`",
        pattern=r"^router-id (?P<rid>\S+)$",
        ok=lambda m: valid_ipv4(m.group("rid")),
        within=r"^router ospf ",
    ),
    Require("ios.ssh-v2", "SSH version 1 is still allowed", "add `ip ssh version 2`", pattern=r"^ip ssh version 2$"),
    SectionNeeds(
        "ios.vty-ssh",
        "VTY lines accept more than SSH",
        "write `transport input ssh` under `line vty`",
        section=r"^line vty ",
        child=r"^transport input ssh$",
    ),
    Forbid(
        "ios.vty-telnet",
        "telnet is allowed on VTY lines: MLPS level 3 allows remote management only over encrypted channels",
        "write `transport input ssh`",
        pattern=r"^transport input .*(telnet|all)",
        within=r"^line vty ",
    ),
    Require(
        "ios.login-block",
        "no login-failure lockout: MLPS level 3 requires one",
        "add `login block-for 900 attempts 3 within 120`",
        pattern=r"^login block-for \d+ attempts \d+ within \d+$",
    ),
    SectionNeeds(
        "ios.exec-timeout",
        "VTY lines have no idle timeout",
        "add `exec-timeout 5 0` under `line vty`",
        section=r"^line vty ",
        child=r"^exec-timeout ",
    ),
    Valid(
        "ios.exec-timeout-value",
        "an exec-timeout that does not log an idle session out",
        "use `exec-timeout 5 0` (at most 15 minutes)",
        pattern=r"^exec-timeout (?P<min>\d+)(?: (?P<sec>\d+))?$",
        ok=idle_timeout_ok,
    ),
    Require(
        "ios.snmp-v3-priv",
        "no SNMPv3 group with privacy",
        "add `snmp-server group <group> v3 priv`",
        pattern=r"^snmp-server group \S+ v3 priv\b",
    ),
    Forbid(
        "ios.snmp-weak",
        "an SNMP community or a v1/v2c/no-privacy group: MLPS level 3 allows SNMPv3 with encryption only",
        "remove it; use `snmp-server group <group> v3 priv` and a v3 user",
        pattern=r"^snmp-server (community |group \S+ (v1|v2c|v3 (noauth|auth))\b)",
    ),
    Require(
        "ios.logging-host",
        "no syslog collector: MLPS level 3 needs audit logs sent off the device",
        "add `logging host <log collector>`",
        pattern=rf"^logging host {IPV4}",
    ),
    Require(
        "ios.ntp",
        "no NTP server: log timestamps from this device cannot be correlated",
        "add `ntp server <ntp server>`",
        pattern=rf"^ntp server (vrf \S+ )?{IPV4}",
    ),
    Require(
        "ios.password-encryption",
        "passwords are stored in clear in the config",
        "add `service password-encryption`",
        pattern=r"^service password-encryption$",
    ),
    Forbid(
        "ios.password-not-secret",
        "a password stored with a reversible type: use a secret (type 8/9 hash)",
        "write `enable secret 9 …` / `username NAME privilege 15 secret 9 …`",
        pattern=r"^(enable password|username \S+ (privilege \d+ )?password) ",
    ),
    Forbid(
        "ios.http-server",
        "the plain HTTP server is on: management must be encrypted",
        "write `no ip http server`",
        pattern=r"^ip http server$",
    ),
    Require(
        "ios.aaa",
        "AAA is off: logins bypass the local user database and its lockout",
        "add `aaa new-model`",
        pattern=r"^aaa new-model$",
    ),
    Require("ios.hostname", "no hostname", "add `hostname <device name>`", pattern=r"^hostname \S+$"),
)


def check(text: str) -> list[Finding]:
    """Every structure and syntax finding for an IOS config, in line order."""
    return check_config(DIALECT, VIEWS, RULES, text)
