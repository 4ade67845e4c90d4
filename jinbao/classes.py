"""What a device is, as the people who watch it would say: its class, derived from its role.

The platform says what software runs on a device (how to configure it and reach it); the class
says what kind of thing it is (what to watch on it). They differ where the estate has devices
whose platform says little: a UPS, an environment sensor, an air conditioner, a storage array
and a tape library are all `platform: appliance` (vendor firmware, SNMP only), and the class
says which of those a device is and so what to poll on it. Every role has exactly
one class, so every device says what it is without a new inventory field; monitoring keeps a
profile per class (monitoring/profiles/) and `jinbao inventory validate` names a device whose
class has none.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal, get_args

from .model import Device, Role

DeviceClass = Literal[
    "router",
    "switch",
    "firewall",
    "ids",
    "server",
    "video_mcu",
    "storage",
    "tape_library",
    "ups",
    "env_sensor",
    "air_conditioner",
]

ROLE_CLASS: Mapping[str, DeviceClass] = MappingProxyType(
    {
        "wan_router": "router",
        "access_router": "router",
        "core_switch": "switch",
        "aggregation_switch": "switch",
        "access_switch": "switch",
        "firewall": "firewall",
        "ids": "ids",
        # General-purpose hosts, whatever they serve: the 12333 PBX, IVR and CTI servers are
        # Linux servers too, and are watched as such.
        "db_server": "server",
        "app_server": "server",
        "web_server": "server",
        "exchange_server": "server",
        "backup_server": "server",
        "ca": "server",
        "ocsp": "server",
        "pbx": "server",
        "ivr": "server",
        "cti": "server",
        "jump_host": "server",
        "log_collector": "server",
        "monitor": "server",
        "server": "server",
        # A conferencing MCU is a vendor appliance: interfaces and uptime, no host resources.
        "mcu": "video_mcu",
        "storage": "storage",
        "tape_library": "tape_library",
        "ups": "ups",
        "env_sensor": "env_sensor",
        "air_conditioner": "air_conditioner",
    }
)

assert set(ROLE_CLASS) == set(get_args(Role)), "every role must have exactly one device class"
assert set(ROLE_CLASS.values()) == set(get_args(DeviceClass)), "every device class must be some role's"


def device_class(device: Device | str) -> DeviceClass:
    """The class of a device (or of a role name the model accepted)."""
    return ROLE_CLASS[device if isinstance(device, str) else device.role]


def device_classes() -> tuple[str, ...]:
    """Every device class, in the literal's order."""
    return get_args(DeviceClass)
