"""Huawei VRP (AR routers, USG firewalls): structure and syntax rules.

Syntax from Huawei's VRP command references (AR V200R/V300R, USG): `ospf 1 router-id`, dotted
areas, `stelnet server enable`, `info-center loghost`, `snmp-agent sys-info version v3`, AAA local
users with `irreversible-cipher` passwords and `local-aaa-user wrong-password` lockout, and
`user-interface vty 0 4` with `authentication-mode aaa`, `protocol inbound ssh`, `idle-timeout`.
"""

from __future__ import annotations

import re

from hier_config.models import PerLineSubRule
from hier_config.platforms.driver_base import HConfigDriverRules
from hier_config.platforms.huawei_vrp.driver import HConfigDriverHuaweiVrp

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
    ntp_and_name_rules,
    shared_rules,
    subnet_ok,
    valid_ipv4,
    vty_range_ok,
)
from netconfig.checks.structure import View


class VrpDriver(HConfigDriverHuaweiVrp):
    """hier_config's VRP driver, printing VRP's one-space indent and ignoring the closing `return`
    of `display current-configuration` (it ends the listing, it is not configuration)."""

    @staticmethod
    def _instantiate_rules() -> HConfigDriverRules:
        rules = HConfigDriverHuaweiVrp._instantiate_rules()
        subs = [*rules.per_line_sub, PerLineSubRule(search="^return$", replace="")]
        return rules.model_copy(update={"indentation": 1, "per_line_sub": subs})


DIALECT = Dialect(
    name="huawei_vrp",
    driver=VrpDriver,
    closers=frozenset({"#", "quit"}),
    comment=re.compile(r"^[#!]"),
    terminators=frozenset({"return"}),
)

_INTERFACE_CHILDREN = (
    r"^description ",
    r"^ip address ",
    r"^(undo )?shutdown$",
    r"^ospf (cost|network-type|authentication-mode|timer|bfd|enable|dr-priority)\b",
    r"^port (link-type|default vlan|trunk allow-pass vlan|hybrid)\b",
    r"^(undo )?portswitch$",
    r"^mtu \d+$",
    r"^ip binding vpn-instance ",
    r"^traffic-filter ",
    r"^undo icmp ",
)

VIEWS: tuple[View, ...] = (
    View(r"^interface ", _INTERFACE_CHILDREN),
    View(
        r"^ospf \d+",
        (
            r"^import-route ",
            r"^silent-interface ",
            r"^bandwidth-reference \d+$",
            r"^bfd all-interfaces ",
            r"^spf-schedule-interval ",
        ),
        (View(r"^area ", (r"^network ", r"^authentication-mode ", r"^stub", r"^nssa", r"^description ")),),
    ),
    View(
        r"^aaa$",
        (r"^local-user ", r"^local-aaa-user ", r"^user-password "),
        (
            View(r"^authentication-scheme ", (r"^authentication-mode ",)),
            View(r"^authorization-scheme ", (r"^authorization-mode ",)),
            View(r"^accounting-scheme ", (r"^accounting-mode ",)),
            View(r"^domain ", (r"^authentication-scheme ", r"^authorization-scheme ", r"^accounting-scheme ")),
        ),
    ),
    View(
        r"^user-interface (con|vty|maximum-vty)",
        (r"^authentication-mode ", r"^protocol inbound ", r"^idle-timeout ", r"^user privilege level ", r"^acl "),
    ),
    View(r"^vlan \d+$", (r"^description ", r"^name ")),
    View(r"^acl (number |name )?\S+", (r"^rule ", r"^description ")),
    View(r"^bfd$", (r"^default-", r"^multi-hop ")),
    # The management VPN instance the out-of-band port is bound to (docs/netconfig.md).
    View(
        r"^ip vpn-instance \S+$",
        (r"^description ",),
        (View(r"^ipv4-family$", (r"^route-distinguisher \S+:\d+$", r"^vpn-target ")),),
    ),
    # USG firewalls: zones and the interzone policy the render puts at each zone border.
    View(r"^firewall zone ", (r"^set priority \d+$", r"^add interface ", r"^description ")),
    View(
        r"^security-policy$",
        (r"^default action ",),
        (
            View(
                r"^rule name ",
                (
                    r"^(source|destination)-zone ",
                    r"^(source|destination)-address ",
                    r"^service ",
                    r"^action (permit|deny)$",
                    r"^description ",
                ),
            ),
        ),
    ),
)


def _router_id_ok(m: re.Match[str]) -> bool | str:
    rid = m.group("rid")
    if rid is None:
        return "no router-id: VRP would pick one from an interface, and it changes when that interface does"
    return True if valid_ipv4(rid) else f"{rid} is not an IPv4 address"


def _area_ok(m: re.Match[str]) -> bool | str:
    area = m.group("area")
    return True if valid_ipv4(area) else f"area {area} is not dotted"


RULES: tuple[Rule, ...] = (
    *shared_rules("vrp", r"^(vlan|port default vlan|port trunk allow-pass vlan|vlan batch) (?P<vlans>[\d ,to-]+)$"),
    Valid(
        "vrp.interface-name",
        "not a VRP interface name",
        "name Ethernet ports slot/card/port, e.g. GigabitEthernet0/0/1 (VRP rejects GigabitEthernet0/1)",
        pattern=r"^interface (?P<name>.+)$",
        ok=lambda m: (
            re.fullmatch(
                r"(GigabitEthernet|XGigabitEthernet|Ethernet|MEth)\d+/\d+/\d+(\.\d+)?|LoopBack\d+|Vlanif\d+|Eth-Trunk\d+(\.\d+)?|NULL0|Tunnel\d+/\d+/\d+",
                m.group("name"),
            )
            is not None
        ),
    ),
    Valid(
        "vrp.ospf-router-id",
        "OSPF process without a valid router-id",
        "write `ospf 1 router-id <loopback address>`",
        pattern=r"^ospf (?P<pid>\d+)(?: router-id (?P<rid>\S+))?",
        ok=_router_id_ok,
    ),
    Valid(
        "vrp.ospf-area-dotted",
        "OSPF area written as a number: VRP stores and displays it dotted, so the plan would show a diff forever",
        "write the area dotted, e.g. `area 0.0.0.10`",
        pattern=r"^area (?P<area>\S+)$",
        ok=_area_ok,
        within=r"^ospf \d+",
    ),
    Require(
        "vrp.stelnet",
        "the SSH server is not enabled",
        "add `stelnet server enable`",
        pattern=r"^stelnet server enable$",
    ),
    Forbid(
        "vrp.telnet",
        "telnet is enabled: MLPS level 3 allows remote management only over encrypted channels",
        "remove it (`undo telnet server enable`)",
        pattern=r"^telnet (ipv6 )?server enable$",
    ),
    Require(
        "vrp.loghost",
        "no syslog collector: MLPS level 3 needs audit logs sent off the device",
        "add `info-center loghost <log collector>`",
        pattern=rf"^info-center loghost {IPV4}",
    ),
    Valid(
        "vrp.snmp-version",
        "SNMP v1/v2c enabled: their community strings travel in clear",
        "write `snmp-agent sys-info version v3` only",
        pattern=r"^snmp-agent sys-info version (?P<v>.+)$",
        ok=lambda m: m.group("v") == "v3",
    ),
    Forbid(
        "vrp.snmp-community",
        "an SNMP community (v1/v2c) is configured",
        "remove it; use an SNMPv3 usm-user in a privacy group",
        pattern=r"^snmp-agent community ",
    ),
    Valid(
        "vrp.local-user-password",
        "a local user's password is plain or reversibly encrypted",
        "use `password irreversible-cipher`",
        pattern=r"^local-user \S+ password (?P<kind>\S+)",
        ok=lambda m: m.group("kind") == "irreversible-cipher",
        within=r"^aaa$",
    ),
    SectionNeeds(
        "vrp.login-lockout",
        "no login-failure lockout in AAA: MLPS level 3 requires one",
        "add `local-aaa-user wrong-password retry-interval 5 retry-time 3 block-time 15` under `aaa`",
        section=r"^aaa$",
        child=r"^local-aaa-user wrong-password retry-interval \d+ retry-time \d+ block-time \d+$",
    ),
    Valid(
        "vrp.vty-range",
        "VTY lines beyond 0-4: VRP has five by default and rejects the rest",
        "use `user-interface vty 0 4`",
        pattern=r"^user-interface vty (?P<first>\d+)(?: (?P<last>\d+))?$",
        ok=vty_range_ok(4),
    ),
    SectionNeeds(
        "vrp.vty-aaa",
        "VTY login does not go through AAA",
        "add `authentication-mode aaa` under `user-interface vty 0 4`",
        section=r"^user-interface vty ",
        child=r"^authentication-mode aaa$",
    ),
    SectionNeeds(
        "vrp.vty-ssh",
        "VTY lines accept more than SSH",
        "add `protocol inbound ssh` under `user-interface vty 0 4`",
        section=r"^user-interface vty ",
        child=r"^protocol inbound ssh$",
    ),
    SectionNeeds(
        "vrp.vty-idle",
        "VTY lines have no idle timeout",
        "add `idle-timeout 5 0` under `user-interface vty 0 4`",
        section=r"^user-interface vty ",
        child=r"^idle-timeout ",
    ),
    Valid(
        "vrp.idle-timeout",
        "an idle timeout that does not log an idle session out",
        "use `idle-timeout 5 0` (at most 15 minutes)",
        pattern=r"^idle-timeout (?P<min>\d+)(?: (?P<sec>\d+))?$",
        ok=idle_timeout_ok,
    ),
    Valid(
        "vrp.policy-address",
        "a security-policy address that is not a network under a contiguous mask",
        "write the zone's network address and mask, e.g. `source-address 10.34.3.128 mask 255.255.255.128`",
        pattern=rf"^(source|destination)-address (?P<net>{IPV4}) mask (?P<mask>\S+)$",
        ok=subnet_ok,
        within=r"^rule name ",
    ),
    *ntp_and_name_rules("vrp"),
)


def check(text: str) -> list[Finding]:
    """Every structure and syntax finding for a VRP config, in line order."""
    return check_config(DIALECT, VIEWS, RULES, text)
