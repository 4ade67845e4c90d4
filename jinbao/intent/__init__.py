"""The intent: what each device should be, computed from the estate alone, for any platform.

netconfig renders it into each platform's syntax; the lab computes its expected paths with the
same costs (costs.py). Frozen dataclasses (types.py), built by build.py.
"""

from __future__ import annotations

from .build import announced_address, device_intent, intents
from .costs import LAN_BANDWIDTH_MBPS, bandwidth_cost, interface_cost
from .types import (
    AdminIntent,
    DeviceIntent,
    FirewallIntent,
    InterfaceIntent,
    ManagementIntent,
    OspfIntent,
    OspfInterface,
    Peer,
    SnmpIntent,
    StaticRouteIntent,
    ZoneRule,
)

__all__ = [
    "LAN_BANDWIDTH_MBPS",
    "AdminIntent",
    "DeviceIntent",
    "FirewallIntent",
    "InterfaceIntent",
    "ManagementIntent",
    "OspfIntent",
    "OspfInterface",
    "Peer",
    "SnmpIntent",
    "StaticRouteIntent",
    "ZoneRule",
    "announced_address",
    "bandwidth_cost",
    "device_intent",
    "intents",
    "interface_cost",
]
