"""Linux hosts: the getters every Linux-family device shares, and the driver for servers.

The FRR and nftables drivers run on Linux too, so they reuse these readers (facts, interfaces
from `ip -j addr`, routes from `ip -j route`) and add what their own daemons know.

`LinuxDriver` is getters only. A server's config is Ansible's business (roles under
`inventory/`), not a candidate to diff and commit, so it does not implement `ConfigLifecycle`:
the registry records that when it is built, and asking for a config driver for a `linux`
target raises NotSupported before any connection is made.
"""

from __future__ import annotations

import json

from jinbao.target import Target

from .base import Configs, DriverError, Facts, Interface, OspfNeighbor, RouteEntry, Routes
from .base import destination as checked
from .ssh import Shell, q

# One round trip for every fact; key=value lines, so a missing DMI file only leaves a value empty.
FACTS_SCRIPT = r"""
echo "hostname=$(hostname)"
echo "fqdn=$(cat /proc/sys/kernel/hostname).$(cat /proc/sys/kernel/domainname)"
echo "uptime=$(cut -d' ' -f1 /proc/uptime)"
. /etc/os-release 2>/dev/null; echo "os=$PRETTY_NAME"
echo "kernel=$(uname -r)"
echo "model=$(cat /sys/class/dmi/id/product_name 2>/dev/null)"
echo "serial=$(cat /sys/class/dmi/id/product_serial 2>/dev/null)"
echo "vendor=$(cat /sys/class/dmi/id/sys_vendor 2>/dev/null)"
"""

SPEEDS = r"""for d in /sys/class/net/*; do echo "${d##*/} $(cat $d/speed 2>/dev/null || echo 0)"; done"""


def read_facts(sh: Shell) -> dict[str, str]:
    out = sh.check(FACTS_SCRIPT, what="reading facts")
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def facts(sh: Shell, vendor: str = "", os_version: str = "") -> Facts:
    """NAPALM-shaped facts of a Linux box; vendor and os_version override what Linux says."""
    f = read_facts(sh)
    return Facts(
        hostname=f.get("hostname", ""),
        # The kernel's names, not `hostname -f`: that asks DNS, which may take seconds to fail.
        fqdn=f.get("fqdn", "").removesuffix(".(none)").rstrip("."),
        vendor=vendor or f.get("vendor", "") or "Linux",
        model=f.get("model", ""),
        os_version=os_version or f"{f.get('os', '')} (Linux {f.get('kernel', '')})",
        serial_number=f.get("serial", ""),
        uptime=float(f.get("uptime") or 0),
        interface_list=sorted(interfaces(sh)),
    )


def is_up(link: dict) -> bool:
    """Whether an `ip -j link`/`ip -j addr` entry is up."""
    # Loopback and some virtual links say "UNKNOWN"; the carrier flag is the real answer.
    return link.get("operstate") == "UP" or (link.get("operstate") == "UNKNOWN" and "LOWER_UP" in link.get("flags", []))


def interfaces(sh: Shell) -> dict[str, Interface]:
    links = json.loads(sh.check("ip -j addr show", what="ip -j addr"))
    speeds: dict[str, float] = {}
    for line in sh.check(SPEEDS, what="reading link speeds").splitlines():
        name, _, speed = line.partition(" ")
        # veth and loopback report -1 or nothing: unknown, which NAPALM writes as 0.
        speeds[name] = max(0.0, float(speed)) if speed.lstrip("-").isdigit() else 0.0
    out: dict[str, Interface] = {}
    for link in links:
        flags = link.get("flags", [])
        out[link["ifname"]] = Interface(
            is_up=is_up(link),
            is_enabled="UP" in flags,
            description=link.get("ifalias", ""),
            last_flapped=-1.0,
            speed=speeds.get(link["ifname"], 0.0),
            mtu=int(link.get("mtu", 0)),
            mac_address=link.get("address", ""),
            ipv4=[f"{a['local']}/{a['prefixlen']}" for a in link.get("addr_info", []) if a.get("family") == "inet"],
        )
    return out


def route_to(sh: Shell, destination: str) -> Routes:
    """The kernel's choice (`ip route get`) and the prefix it came from (`ip route show match`)."""
    addr = checked(destination).split("/")[0]
    ran = sh.run(f"ip -j route get {q(addr)}")
    if ran.rc != 0 and "unreachable" in ran.err:
        # No route at all (a host without a default route): NAPALM's answer is an empty dict,
        # and a state check asking about a prefix not yet announced must not see a failed device.
        return {}
    if ran.rc != 0:
        raise DriverError(
            f"{sh.target.name}: ip route get {addr} failed ({ran.rc}): {(ran.err or ran.out).strip()[-500:]}"
        )
    got = json.loads(ran.out or "[]")
    if not got:
        return {}
    chosen = got[0]
    table = json.loads(sh.run(f"ip -j route show match {q(addr)}").out or "[]")
    # The longest matching prefix is the one the kernel used; 'default' is /0.
    best = max(
        (r for r in table if r.get("dev") == chosen.get("dev")),
        key=lambda r: 0 if r["dst"] == "default" else int((r["dst"] + "/32").split("/")[1]),
        default={"dst": f"{addr}/32", "protocol": "kernel"},
    )
    prefix = "0.0.0.0/0" if best["dst"] == "default" else (best["dst"] if "/" in best["dst"] else best["dst"] + "/32")
    entry = RouteEntry(
        protocol=best.get("protocol", "kernel"),
        current_active=True,
        next_hop=chosen.get("gateway", ""),
        outgoing_interface=chosen.get("dev", ""),
        preference=0,
        age=-1,
        routing_table="main",
    )
    return {prefix: [entry]}


class LinuxDriver:
    """A Linux server: getters only (see the module docstring for why no config lifecycle)."""

    vendor = ""

    def __init__(self, target: Target, timeout: float = 20.0):
        self.target = target
        self.name = target.name
        self.sh = Shell(target, timeout)

    def open(self) -> None:
        self.sh.open()

    def close(self) -> None:
        self.sh.close()

    def get_facts(self) -> Facts:
        return facts(self.sh)

    def get_interfaces(self) -> dict[str, Interface]:
        return interfaces(self.sh)

    def get_config(self, retrieve: str = "all") -> Configs:
        # What defines a server's network config: addresses and routes, as the kernel holds them.
        running = self.sh.check("ip addr show; echo; ip route show", what="ip addr/route")
        return Configs(running=running if retrieve in ("all", "running") else "", startup="", candidate="")

    def get_ospf_neighbors(self) -> list[OspfNeighbor]:
        return []

    def get_route_to(self, destination: str) -> Routes:
        return route_to(self.sh, destination)
