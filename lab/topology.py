"""What the lab builds for an estate: nodes, LAN segments, point-to-point links, management.

Pure computation from the estate model; nothing here touches the system. Every name carries
the lab id, so two labs on one machine never share a namespace.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Interface

from jinbao.errors import JinbaoError
from jinbao.model import Device, Estate, Link
from jinbao.platforms import LabNodeKind, facts, lab_platforms


@dataclass(frozen=True)
class Node:
    device: Device
    kind: LabNodeKind
    ns: str

    @property
    def name(self) -> str:
        return self.device.name

    @property
    def runs_frr(self) -> bool:
        return self.kind in ("router", "firewall")


@dataclass(frozen=True)
class Port:
    node: str
    iface: str
    ip: IPv4Interface | None


@dataclass(frozen=True)
class Segment:
    """A LAN (one zone of one site): a bridge in the lab's switch namespace."""

    bridge: str
    site: str
    zone: str
    ports: tuple[Port, ...]


@dataclass(frozen=True)
class LabPlan:
    lab_id: str
    estate: Estate
    nodes: dict[str, Node]
    segments: tuple[Segment, ...]
    links: tuple[Link, ...]
    sw_ns: str
    ops_ns: str
    ops_ip: IPv4Interface
    mgmt_prefixlen: int

    def mgmt_if(self, node: Node) -> IPv4Interface:
        return IPv4Interface(f"{node.device.mgmt_ip}/{self.mgmt_prefixlen}")

    def gateway(self, node: Node):
        """A server's default gateway: the border firewall of its zone (first host of the zone)."""
        d = node.device
        if node.kind != "server" or not d.zone:
            return None
        zone = self.estate.sites[d.site].zones[d.zone]
        if zone.firewall is None:
            return None
        fw = self.estate.devices[zone.firewall]
        return next((i.ip.ip for i in fw.interfaces if i.zone == d.zone and i.ip), None)


def _spoken(names: tuple[str, ...]) -> str:
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else "".join(names)


def _kind(d: Device) -> LabNodeKind:
    kind = facts(d.platform).lab_node_kind
    assert kind, d.name  # plan() refused the estate before any node is made
    return kind


# The lab's own namespaces beside the nodes': the switch (bridges) and the operator's seat.
SWITCH, SEAT = "sw", "ops"
LAB_SEATS = (SWITCH, SEAT)


def plan(estate: Estate, lab_id: str) -> LabPlan:
    # The platform table says what runs in a node; vendor OSes (IOS, VRP, Comware) cannot run here.
    bad = [d.name for d in estate.devices.values() if not facts(d.platform).lab_node_kind]
    if bad:
        raise JinbaoError(
            f"estate {estate.name} has devices the lab cannot run ({', '.join(bad[:5])}"
            f"{' …' if len(bad) > 5 else ''}): only {_spoken(lab_platforms())} platforms run here; "
            "use the lab estate (--estate lab)"
        )
    # A node's namespace is '<id>-<device>', beside the lab's own '<id>-sw' and '<id>-ops' (and
    # `lab exec ops` is the operator seat): a device of either name would share one, and `lab up`
    # would stop halfway on 'File exists'.
    taken = [d for d in estate.devices.values() if d.name in LAB_SEATS]
    if taken:
        raise JinbaoError(
            "; ".join(f"{d.origin or estate.name}: name: the lab keeps the name {d.name!r} for itself" for d in taken)
            + f" (its {' and '.join(LAB_SEATS)} namespaces): rename the device in the estate"
        )
    nodes = {d.name: Node(d, _kind(d), f"{lab_id}-{d.name}") for d in estate.devices.values()}
    segments = []
    for site in estate.sites.values():
        for zone in site.zones.values():
            ports = tuple(
                Port(d.name, i.name, i.ip)
                for d in estate.devices.values()
                if d.site == site.name
                for i in d.interfaces
                if i.zone == zone.name
            )
            if ports:
                segments.append(Segment(f"z{len(segments)}", site.name, zone.name, ports))
    mgmt = estate.mgmt_block
    ops_ip = IPv4Interface(f"{mgmt.broadcast_address - 1}/{mgmt.prefixlen}")
    return LabPlan(
        lab_id,
        estate,
        nodes,
        tuple(segments),
        estate.links,
        f"{lab_id}-{SWITCH}",
        f"{lab_id}-{SEAT}",
        ops_ip,
        mgmt.prefixlen,
    )


def expected_neighbors(p: LabPlan) -> dict[str, set[str]]:
    """OSPF neighbours each FRR node must have: across every link and on every shared LAN."""
    want: dict[str, set[str]] = {n: set() for n, node in p.nodes.items() if node.runs_frr}
    for l in p.links:
        if l.a.device in want and l.b.device in want:
            want[l.a.device].add(l.b.device)
            want[l.b.device].add(l.a.device)
    for s in p.segments:
        frr = [port.node for port in s.ports if port.node in want]
        zone = p.estate.sites[s.site].zones[s.zone]
        if zone.kind != "core":
            continue  # guarded zones are passive: their firewall routes for them, no adjacency
        for a in frr:
            want[a].update(b for b in frr if b != a)
    return want
