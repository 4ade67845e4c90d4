"""A device's limits: its class's defaults, overridden by the inventory's `monitoring:` section.

The order is the documented one, least specific first: the class's profile
(monitoring/profiles/<class>.yml), then `monitoring.thresholds` (estate-wide), then
`monitoring.sites.<site>`, then `monitoring.devices.<device>`. Each level replaces only the
limits it names, so a site that lowers `temperature_c` keeps the estate's `cpu_pct`.
"""

from __future__ import annotations

from jinbao.model import Device, Estate, Thresholds

from .profiles import Profile


def effective(estate: Estate, device: Device, profile: Profile) -> Thresholds:
    th = profile.thresholds
    m = estate.monitoring
    if m is None:
        return th
    for level in (m.thresholds, m.sites.get(device.site), m.devices.get(device.name)):
        if level is not None:
            th = level.over(th)
    return th


def for_jobs(estate: Estate, jobs) -> dict[str, Thresholds]:
    """Each polled device's effective limits; `poll` and the daemon judge with the same ones."""
    return {j.device.name: effective(estate, j.device, j.profile) for j in jobs}


def source(estate: Estate, device: Device, name: str) -> str:
    """Where a device's limit `name` comes from, for people reading `monitor posture --json`."""
    m = estate.monitoring
    if m is not None:
        for where, level in (
            (f"monitoring.devices.{device.name}", m.devices.get(device.name)),
            (f"monitoring.sites.{device.site}", m.sites.get(device.site)),
            ("monitoring.thresholds", m.thresholds),
        ):
            if level is not None and getattr(level, name) is not None:
                return where
    return "class default"
