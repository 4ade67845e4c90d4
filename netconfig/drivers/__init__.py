"""Drivers by platform: `driver_for(target)` to read a device, `config_driver_for(target)` to change it.

The registry is a plain dict, built once on first use (not a mutable class registry), keyed by
the platform names of the core table `jinbao.platforms.PLATFORMS`. The FRR entry is found the
way any NAPALM user finds it, through `napalm.get_network_driver(<the table's napalm_driver>)`,
which proves the `napalm_frr` package is installed. It is built lazily because napalm_frr itself
imports this package's modules.

What a driver can do is decided here, by its class, before any device is touched: a platform
with no driver, or whose driver has no config lifecycle (Linux servers), raises NotSupported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from jinbao.platforms import PLATFORMS
from jinbao.target import Target

from .base import ConfigLifecycle, Driver, DriverError, Getters, NotSupported, session

__all__ = ["Driver", "DriverError", "Getters", "NotSupported", "config_driver_for", "driver_for", "registry", "session"]

LIFECYCLE = (
    "load_replace_candidate",
    "load_merge_candidate",
    "compare_config",
    "commit_config",
    "confirm_commit",
    "has_pending_commit",
    "discard_config",
    "rollback",
)
GETTERS = ("open", "close", "get_facts", "get_interfaces", "get_config", "get_ospf_neighbors", "get_route_to")


@dataclass(frozen=True)
class Entry:
    platform: str
    make: Callable[[Target], Getters]
    configurable: bool


def _implements(cls: type, names: tuple[str, ...]) -> bool:
    # NAPALM's base class defines every method to raise NotImplementedError; a driver implements
    # a method only when its own classes (not napalm.base) define it.
    for name in names:
        owner = next((k for k in cls.__mro__ if name in vars(k)), None)
        if owner is None or owner.__module__.startswith("napalm.base"):
            return False
    return True


@cache
def registry() -> dict[str, Entry]:
    """Every platform jinbao has a driver for, checked against the contract once."""
    import napalm

    from .comware import ComwareDriver
    from .ios import IosDriver
    from .linux import LinuxDriver
    from .nftables import NftablesDriver
    from .vrp import VrpDriver

    frr = napalm.get_network_driver(PLATFORMS["frr"].napalm_driver or "frr")
    classes: dict[str, tuple[type, Callable[[Target], Getters]]] = {
        "frr": (frr, frr.from_target),  # type: ignore[attr-defined]
        "nftables": (NftablesDriver, NftablesDriver),
        "linux": (LinuxDriver, LinuxDriver),
    }
    # The vendor platforms (netmiko underneath, each platform's own commit-confirm) name theirs.
    for vendor in (VrpDriver, ComwareDriver, IosDriver):
        classes[vendor.platform] = (vendor, vendor)
    out = {}
    for platform, (cls, make) in classes.items():
        assert platform in PLATFORMS, f"driver for unknown platform {platform}"
        assert _implements(cls, GETTERS), f"{cls.__name__} lacks a getter of the contract"
        out[platform] = Entry(platform, make, _implements(cls, LIFECYCLE))
    return out


def _entry(target: Target) -> Entry:
    entry = registry().get(target.platform)
    if entry is None:
        have = ", ".join(sorted(registry()))
        raise NotSupported(f"{target.name}: no driver for platform {target.platform!r} yet (drivers: {have})")
    return entry


def driver_for(target: Target) -> Getters:
    """A driver to read target (not yet open: use `with session(driver_for(t)) as d:`)."""
    return _entry(target).make(target)


def config_driver_for(target: Target) -> Driver:
    """A driver to change target's config; NotSupported, before connecting, if its platform cannot."""
    entry = _entry(target)
    if not entry.configurable:
        raise NotSupported(f"{target.name}: platform {target.platform!r} has no config lifecycle (getters only)")
    driver = entry.make(target)
    assert isinstance(driver, ConfigLifecycle)
    return driver  # type: ignore[return-value]
