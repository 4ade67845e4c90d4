"""H3C Comware 7 (S-series switches, MSR routers, SecPath firewalls): structure and syntax rules.

Syntax from H3C's Comware 7 command references: `ospf 1 router-id`, dotted areas, `ssh server
enable`, `info-center loghost`, `local-user NAME class manage` with `password hash`,
`password-control login-attempt` lockout, `line vty 0 63` with `authentication-mode scheme`,
`protocol inbound ssh` and `idle-timeout`, `snmp-agent sys-info version v3`, `ntp-service enable`.
"""

from __future__ import annotations

import re

from hier_config.child import HConfigChild
from hier_config.models import PerLineSubRule
from hier_config.platforms.driver_base import HConfigDriverRules
from hier_config.platforms.hp_comware5.driver import HConfigDriverHPComware5

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


def dedent_global_blocks(text: str) -> str:
    """Comware prints global commands one space in (` sysname prov-fw-dec`) between `#` lines,
    and sections (`interface …`) at column 0. Read as written, a global block after a section
    would become that section's children; so each `#`-delimited block whose first line is
    indented is moved one level out. Line numbers are kept."""
    out: list[str] = []
    shift = 0
    block_start = True
    for raw in text.splitlines():
        stripped = raw.lstrip(" ")
        if stripped.startswith("#") or not stripped:
            block_start = True
            out.append(raw)
            continue
        if block_start:
            shift = len(raw) - len(stripped)
            block_start = False
        indent = len(raw) - len(stripped)
        out.append(raw[min(shift, indent) :])
    return "\n".join(out) + "\n"


class Comware7Driver(HConfigDriverHPComware5):
    """hier_config ships a Comware 5 driver; Comware 7 reads the same way, but closes a view with
    `quit`, prints `#` between blocks and ends the listing with `return`."""

    def sectional_exit(self, config: HConfigChild) -> str | None:
        """`quit` where hier_config's base would write IOS's `exit`."""
        result = super().sectional_exit(config)
        return "quit" if result == "exit" else result

    @staticmethod
    def _instantiate_rules() -> HConfigDriverRules:
        rules = HConfigDriverHPComware5._instantiate_rules()
        subs = [
            *rules.per_line_sub,
            PerLineSubRule(search=r"^\s*#.*", replace=""),
            PerLineSubRule(search="^return$", replace=""),
        ]
        return rules.model_copy(update={"indentation": 1, "per_line_sub": subs})


DIALECT = Dialect(
    name="h3c_comware",
    driver=Comware7Driver,
    closers=frozenset({"#", "quit"}),
    comment=re.compile(r"^#"),
    terminators=frozenset({"return"}),
    preprocess=dedent_global_blocks,
)

VIEWS: tuple[View, ...] = (
    View(
        r"^interface ",
        (
            r"^description ",
            r"^ip address ",
            r"^(undo )?shutdown$",
            r"^port (link-mode|link-type|access vlan|trunk permit vlan|trunk pvid vlan)\b",
            r"^ospf (cost|network-type|authentication-mode|timer|bfd enable|dr-priority)\b",
            r"^ospf \d+ area ",
            r"^mtu \d+$",
            r"^ip binding vpn-instance ",
            r"^packet-filter ",
        ),
    ),
    View(
        r"^ospf \d+",
        (
            r"^import-route ",
            r"^silent-interface ",
            r"^bandwidth-reference \d+$",
            r"^spf-schedule-interval ",
            r"^log-peer-change$",
        ),
        (View(r"^area ", (r"^network ", r"^authentication-mode ", r"^stub", r"^nssa", r"^description ")),),
    ),
    View(
        r"^local-user ",
        (r"^password ", r"^service-type ", r"^authorization-attribute ", r"^password-control ", r"^description "),
    ),
    View(
        r"^line (vty|aux|con|class) ",
        (r"^authentication-mode ", r"^protocol inbound ", r"^idle-timeout ", r"^user-role ", r"^screen-length "),
    ),
    View(r"^vlan \d+$", (r"^name ", r"^description ")),
    View(r"^acl (basic|advanced|number|name) ", (r"^rule ", r"^description ")),
    View(r"^security-zone name ", (r"^import interface ",)),
    View(
        r"^security-policy ip$",
        (),
        (
            View(
                r"^rule \d+ name ",
                (
                    r"^action (pass|drop)$",
                    r"^(source|destination)-zone ",
                    r"^(source|destination)-ip(-subnet|-host)? ",
                    # `service-port tcp destination eq 22`: a port match without an object group
                    # (Comware 7 security-policy rule view).
                    r"^service(-port)? ",
                    r"^logging enable$",
                    r"^description ",
                ),
            ),
        ),
    ),
    View(r"^domain ", (r"^authentication ", r"^authorization ", r"^accounting ")),
    # The management VPN instance the out-of-band port is bound to (docs/netconfig.md).
    View(r"^ip vpn-instance \S+$", (r"^description ", r"^route-distinguisher ", r"^vpn-target ")),
)


def _router_id_ok(m: re.Match[str]) -> bool | str:
    rid = m.group("rid")
    if rid is None:
        return "no router-id: Comware would take the global router id, which changes with the interfaces"
    return True if valid_ipv4(rid) else f"{rid} is not an IPv4 address"


RULES: tuple[Rule, ...] = (
    *shared_rules(
        "comware", r"^(vlan|port access vlan|port trunk permit vlan|port trunk pvid vlan) (?P<vlans>[\d ,to-]+)$"
    ),
    Valid(
        "comware.interface-name",
        "not a Comware interface name",
        "name Ethernet ports member/slot/port, e.g. GigabitEthernet1/0/1",
        pattern=r"^interface (?P<name>.+)$",
        ok=lambda m: (
            re.fullmatch(
                r"(GigabitEthernet|Ten-GigabitEthernet|FortyGigE|HundredGigE|M-GigabitEthernet)\d+/\d+/\d+(\.\d+)?"
                r"|LoopBack\d+|Vlan-interface\d+|Bridge-Aggregation\d+|Route-Aggregation\d+(\.\d+)?|NULL0|Tunnel\d+",
                m.group("name"),
            )
            is not None
        ),
    ),
    Valid(
        "comware.ospf-router-id",
        "OSPF process without a valid router-id",
        "write `ospf 1 router-id <loopback address>`",
        pattern=r"^ospf (?P<pid>\d+)(?: router-id (?P<rid>\S+))?",
        ok=_router_id_ok,
    ),
    Valid(
        "comware.ospf-area-dotted",
        "OSPF area written as a number: Comware stores and displays it dotted, so the plan would show a diff forever",
        "write the area dotted, e.g. `area 0.0.0.10`",
        pattern=r"^area (?P<area>\S+)$",
        ok=lambda m: valid_ipv4(m.group("area")),
        within=r"^ospf \d+",
    ),
    Require("comware.ssh", "the SSH server is not enabled", "add `ssh server enable`", pattern=r"^ssh server enable$"),
    Forbid(
        "comware.telnet",
        "telnet is enabled: MLPS level 3 allows remote management only over encrypted channels",
        "remove it (`undo telnet server enable`)",
        pattern=r"^telnet server enable$",
    ),
    Require(
        "comware.loghost",
        "no syslog collector: MLPS level 3 needs audit logs sent off the device",
        "add `info-center loghost <log collector>`",
        # Comware names the VPN instance before the address: `info-center loghost vpn-instance mgmt 10.35.0.125`.
        pattern=rf"^info-center loghost (vpn-instance \S+ )?{IPV4}",
    ),
    Valid(
        "comware.snmp-version",
        "SNMP v1/v2c enabled: their community strings travel in clear",
        "write `snmp-agent sys-info version v3` only",
        pattern=r"^snmp-agent sys-info version (?P<v>.+)$",
        ok=lambda m: m.group("v") == "v3",
    ),
    Forbid(
        "comware.snmp-community",
        "an SNMP community (v1/v2c) is configured",
        "remove it; use an SNMPv3 usm-user in a privacy group",
        pattern=r"^snmp-agent community ",
    ),
    Valid(
        "comware.local-user-class",
        "a local user without `class manage`: device administrators are management-class users",
        "write `local-user NAME class manage`",
        pattern=r"^local-user \S+(?P<rest>.*)$",
        ok=lambda m: m.group("rest").strip() == "class manage",
    ),
    Valid(
        # A management user's password is given `hash` (as the device shows it) or `simple` (as
        # typed, which Comware 7 stores only hashed: H3C's security command reference, `password`
        # in device management user view). `cipher` is the reversible form of network-access users.
        "comware.password-hash",
        "a local user's password is stored reversibly",
        "use `password simple <value>` (stored hashed) or `password hash <hash>`",
        pattern=r"^password (?P<kind>\S+)",
        ok=lambda m: m.group("kind") in ("hash", "simple"),
        within=r"^local-user ",
    ),
    SectionNeeds(
        "comware.user-role",
        "a local user without a user role: MLPS level 3 wants administrator roles separated",
        "add `authorization-attribute user-role network-admin` (or network-operator / security-audit)",
        section=r"^local-user ",
        child=r"^authorization-attribute user-role \S+$",
    ),
    Require(
        "comware.password-control",
        "password control is off, so there is no login-failure lockout",
        "add `password-control enable`",
        pattern=r"^password-control enable$",
    ),
    Require(
        "comware.login-lockout",
        "no login-failure lockout: MLPS level 3 requires one",
        "add `password-control login-attempt 3 exceed lock-time 15`",
        pattern=r"^password-control login-attempt \d+ exceed (lock|lock-time \d+)$",
    ),
    Valid(
        "comware.vty-range",
        "VTY lines beyond 0-63",
        "use `line vty 0 63`",
        pattern=r"^line vty (?P<first>\d+)(?: (?P<last>\d+))?$",
        ok=vty_range_ok(63),
    ),
    SectionNeeds(
        "comware.vty-scheme",
        "VTY login does not go through AAA (scheme)",
        "add `authentication-mode scheme` under `line vty 0 63`",
        section=r"^line vty ",
        child=r"^authentication-mode scheme$",
    ),
    SectionNeeds(
        "comware.vty-ssh",
        "VTY lines accept more than SSH",
        "add `protocol inbound ssh` under `line vty 0 63`",
        section=r"^line vty ",
        child=r"^protocol inbound ssh$",
    ),
    SectionNeeds(
        "comware.vty-idle",
        "VTY lines have no idle timeout",
        "add `idle-timeout 5 0` under `line vty 0 63`",
        section=r"^line vty ",
        child=r"^idle-timeout ",
    ),
    Valid(
        "comware.idle-timeout",
        "an idle timeout that does not log an idle session out",
        "use `idle-timeout 5 0` (at most 15 minutes)",
        pattern=r"^idle-timeout (?P<min>\d+)(?: (?P<sec>\d+))?$",
        ok=idle_timeout_ok,
    ),
    Require(
        "comware.ntp-enable",
        "NTP is off: Comware 7 ignores its unicast servers until `ntp-service enable`",
        "add `ntp-service enable`",
        pattern=r"^ntp-service enable$",
    ),
    Valid(
        "comware.policy-subnet",
        "a security-policy subnet that is not a network under a contiguous mask",
        "write the zone's network address and mask, e.g. `source-ip-subnet 10.34.3.128 255.255.255.128`",
        pattern=rf"^(source|destination)-ip-subnet (?P<net>{IPV4}) (?P<mask>\S+)$",
        ok=subnet_ok,
        within=r"^rule \d+ name ",
    ),
    *ntp_and_name_rules("comware"),
)


def check(text: str) -> list[Finding]:
    """Every structure and syntax finding for a Comware 7 config, in line order."""
    return check_config(DIALECT, VIEWS, RULES, text)
