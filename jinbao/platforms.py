"""The one table of platform facts. Every domain keys off it instead of keeping a dict of its own.

A platform is what runs on a device: it decides how its interfaces are named, which Ansible
collection and NAPALM/Netmiko driver speak to it, and what the lab can run for it. Adding a
platform is one row here (and the `Platform` literal below, which the schema checks input against).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, get_args

# What the inventory may say in `platform:`. A literal (not built from the table) so that the
# schema, mypy and editors all know the names; a test keeps it equal to the table's keys.
Platform = Literal["frr", "cisco_ios", "huawei_vrp", "h3c_comware", "linux", "nftables", "appliance"]

LabNodeKind = Literal["router", "firewall", "server"]

# Linux's own rule for an interface name (the kernel's dev_valid_name): at most 15 bytes, no '/',
# ':' or white space. Plain ASCII here too, since the name goes into configs and `ip` commands.
LINUX_IFNAME = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,14}"
# A vendor port: its type, then slot/port numbers, and a subinterface (GigabitEthernet0/0/1.100).
# Huawei names high-speed ports by their speed first: 100GE1/0/1, 25GE1/0/1.
VENDOR_IFNAME = r"[0-9]*[A-Za-z][A-Za-z-]*[0-9]+(/[0-9]+)*(\.[0-9]+)?"
_IFNAME_RULE = {
    LINUX_IFNAME: "at most 15 ASCII letters, digits, '.', '-' or '_', starting with a letter or digit",
    VENDOR_IFNAME: "a port type and its numbers, such as GigabitEthernet0/0/1",
}
# Names every platform keeps for itself: the loopback (router id, announced prefixes) and discard.
_RESERVED_IFNAME = re.compile(r"(?i)lo|loopback[0-9]*|null[0-9]*")


@dataclass(frozen=True)
class PlatformFacts:
    """What jinbao knows about one platform."""

    name: str
    title: str
    # Data-port naming: the pattern takes a 1-based port index. Linux-family nodes keep mgmt0
    # (out-of-band management) apart from these.
    interface_pattern: str
    first_interface: int
    # Ansible: network_cli needs ansible_network_os; Linux-family hosts are plain SSH hosts.
    ansible_network_os: str | None
    # How NAPALM and Netmiko name the platform (None: they do not speak it).
    napalm_driver: str | None
    netmiko_device_type: str | None
    # What the lab runs for a device of this platform; None: the vendor OS cannot run here.
    lab_node_kind: LabNodeKind | None
    # ntc-templates' name for the platform's CLI output (it differs from Netmiko's for VRP).
    textfsm_platform: str | None = None
    # The out-of-band management port (docs/estate.md: management is out of band); the lab
    # names it mgmt0 on every Linux-family node.
    mgmt_interface: str = "mgmt0"
    # Where the platform's SNMP agent reports CPU and memory: net-snmp on Linux-family nodes
    # implements HOST-RESOURCES-MIB, the vendor OSes report them in their own entity MIBs.
    snmp_health_mib: str = "HOST-RESOURCES-MIB"
    # Whose config syntax it writes: "ios" (`!` separators, `no …`), "vrp" (`#` separators,
    # `undo …`), "nft" (an nftables ruleset), "linux" (a bundle of a server's files). The audit
    # tells a dump given as the wrong platform by it (compliance/plausible.py). Empty: no config
    # text at all (an appliance), so nothing offers to judge one.
    config_family: str = "linux"
    # What a data port may be called when a link end names it by hand (`prov-wan1:eth5`).
    interface_re: str = LINUX_IFNAME
    # Whether its rendering enforces a zone-border policy (default deny, policy.yml's flows):
    # only such a platform may be a firewall, or the zones it guards would stand open.
    zone_policy: bool = False

    @property
    def network_os(self) -> bool:
        """Whether it renders a network device's config (interfaces, OSPF), not a host's."""
        return self.config_family in ("ios", "vrp", "nft")

    def interface_name(self, ordinal: int) -> str:
        """The name of the data port at this 0-based position (0 = the platform's first port)."""
        return self.interface_pattern.format(self.first_interface + ordinal)

    def interface_problem(self, name: str) -> str | None:
        """Why name cannot be one of this platform's data ports, or None when it can."""
        if not re.fullmatch(self.interface_re, name):
            return f"{name!r} is not an interface name {self.title} takes ({_IFNAME_RULE[self.interface_re]})"
        if _RESERVED_IFNAME.fullmatch(name) or name.casefold() == self.mgmt_interface.casefold():
            return f"{name} is not a data port: {self.title} keeps it for the loopback, discard or management"
        return None


PLATFORMS: Mapping[str, PlatformFacts] = MappingProxyType(
    {
        f.name: f
        for f in (
            PlatformFacts("frr", "FRRouting", "eth{}", 1, "frr.frr.frr", "frr", "linux", "router", config_family="ios"),
            PlatformFacts(
                "nftables",
                "Linux with nftables",
                "eth{}",
                1,
                None,
                None,
                "linux",
                "firewall",
                config_family="nft",
                zone_policy=True,
            ),
            PlatformFacts("linux", "Linux server", "eth{}", 1, None, None, "linux", "server"),
            PlatformFacts(
                "cisco_ios",
                "Cisco IOS",
                "GigabitEthernet0/{}",
                1,
                "cisco.ios.ios",
                "ios",
                "cisco_ios",
                None,
                "cisco_ios",
                mgmt_interface="GigabitEthernet0/0",
                interface_re=VENDOR_IFNAME,
                snmp_health_mib="CISCO-PROCESS-MIB",
                config_family="ios",
            ),
            # community.network.ce is Huawei's CloudEngine collection, the one that speaks VRP CLI.
            PlatformFacts(
                "huawei_vrp",
                "Huawei VRP",
                "GigabitEthernet0/0/{}",
                1,
                "community.network.ce",
                "ce",
                "huawei",
                None,
                "huawei_vrp",
                mgmt_interface="MEth0/0/1",
                interface_re=VENDOR_IFNAME,
                snmp_health_mib="HUAWEI-ENTITY-EXTENT-MIB",
                config_family="vrp",
                zone_policy=True,
            ),
            PlatformFacts(
                "h3c_comware",
                "H3C Comware",
                "GigabitEthernet1/0/{}",
                1,
                "community.network.comware",
                "hp_comware",
                "hp_comware",
                None,
                "hp_comware",
                mgmt_interface="M-GigabitEthernet0/0/0",
                interface_re=VENDOR_IFNAME,
                snmp_health_mib="HH3C-ENTITY-EXT-MIB",
                config_family="vrp",
                zone_policy=True,
            ),
            # Vendor firmware on a management card (UPS, environment sensors, air conditioners,
            # storage arrays, tape libraries): watched over SNMP, configured by no one here. No
            # template, driver or Ansible connection, so netconfig calls it "not managed",
            # provisioning and the server audit leave it out, and the lab builds no node for it.
            PlatformFacts(
                "appliance", "Appliance firmware (SNMP only)", "port{}", 1, None, None, None, None, config_family=""
            ),
        )
    }
)

assert set(PLATFORMS) == set(get_args(Platform)), "the Platform literal and the table must name the same platforms"


def facts(platform: str) -> PlatformFacts:
    """The facts of a platform the model accepted (the schema already refused any other name)."""
    return PLATFORMS[platform]


def lab_platforms() -> tuple[str, ...]:
    """The platforms the lab can run, in table order."""
    return tuple(name for name, f in PLATFORMS.items() if f.lab_node_kind)
