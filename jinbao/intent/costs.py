"""OSPF interface costs: the one function both the rendered configs and the lab's path
computation (lab/paths.py) use, so the paths the lab expects are the paths the configs make."""

from __future__ import annotations

from collections.abc import Mapping

from ..model import Interface, Link, Ospf

# The estate states no LAN speed; its LANs are a data centre's 10GE. Written into the config
# explicitly, so a device never derives a cost from what its port happens to report (a veth says
# 10G, a 1G port 1G).
LAN_BANDWIDTH_MBPS = 10_000


def bandwidth_cost(bandwidth_mbps: int, reference_bandwidth_mbps: int) -> int:
    """OSPF's cost from bandwidth: reference / bandwidth, at least 1, at most 16 bits."""
    return max(1, min(65535, reference_bandwidth_mbps // bandwidth_mbps))


def interface_cost(iface: Interface, links: Mapping[str, Link], ospf: Ospf) -> int:
    """A link's cost is the estate's (the validator made every backup dearer than its primary,
    which two equal bandwidths could not); a LAN's comes from its bandwidth."""
    if iface.link:
        return links[iface.link].cost
    return bandwidth_cost(LAN_BANDWIDTH_MBPS, ospf.reference_bandwidth_mbps)
