"""Device configs of the estate: the running configs netconfig backed up, else the rendered intent.

A backup (state folder, backups/<source>/<device>.cfg, and <device>.frr.cfg for a Linux
firewall's routing daemon) is what the device really runs, so it wins; without one the config
the estate renders is judged (its file is named `rendered:`). Rendered configs come through the
core's rendering seam, never through netconfig's modules.
"""

from __future__ import annotations

import re
from pathlib import Path

from jinbao.classes import device_class
from jinbao.errors import JinbaoError
from jinbao.model import Estate
from jinbao.rendering import rendered
from jinbao.state import safe_name, state_dir

from .. import configtext, devicecheck, inputs
from ..registry import Rule
from ..verdicts import Verdict


def backups(source: str) -> Path:
    """Where netconfig keeps a source's backups (`estate:province`, `lab:jb1`)."""
    return state_dir("backups", safe_name(source).strip("-"))


def _backups(folder: Path, device, known: set[str]) -> tuple[list[configtext.ConfigText], list[str]]:
    """A device's backed-up configs that some rule can read, and each backup that is there but
    could not be read (a FIFO, a folder, over the size cap, unreadable, not a dump of the
    device's platform), as "file: why"."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", device.name)
    found, refused = [], []
    main, frr = folder / f"{name}.cfg", folder / f"{name}.frr.cfg"
    # A Linux server's backup is its addresses and routes (`ip addr`, `ip route`: what netconfig
    # manages on it), not the bundle of its config files the linux rules read; such a backup is
    # neither evidence nor a fault, and the server's rendered intent is judged (its running state
    # is the provisioning roles' testinfra evidence, compliance/sources/servers.py).
    for path, platform in ((main, device.platform), (frr, "frr")):
        if platform not in known or not (path.exists() or path.is_symlink()):
            continue
        try:
            cfg = configtext.read(path, platform)
        except inputs.InputFileError as e:
            refused.append(f"{path}: {e.why}")
            continue
        if path is frr or configtext.detect(cfg.text) == platform:
            found.append(cfg)
        elif platform == "linux":
            continue
        else:  # empty, an error the device printed, or another platform's dump
            refused.append(f"{path}: does not read as a {platform} config")
    return found, refused


def evaluate(
    estate: Estate, rules: tuple[Rule, ...], source: str, site: str | None = None
) -> tuple[list[Verdict], dict]:
    platforms = {p for r in rules for p in r.platforms}
    out: list[Verdict] = []
    read: dict = {"backup": 0, "rendered": 0, "unreadable": []}
    folder = backups(source)
    for d in estate.devices.values():
        if site and d.site != site:
            continue
        about = {"site": d.site, "device_class": device_class(d)}
        files: list[configtext.ConfigText] = []
        saved, refused = _backups(folder, d, platforms)
        # a backup that cannot be read is named in the run's sources: judging the intent in its
        # place must not pass silently for judging what the device runs
        read["unreadable"] += refused
        if saved:
            files += saved
            read["backup"] += 1
        else:
            try:
                intent = rendered(estate, d)
            except JinbaoError:
                # nothing renders a config for it (an appliance's firmware, SNMP only): the
                # device rules read configs, and this one has none to read
                continue
            for syntax, text in intent.items():
                if syntax in platforms:
                    files.append(configtext.classify(f"rendered:{d.name}.{syntax}.conf", text, syntax))
            read["rendered"] += bool(files)
        for cfg in files:
            out += [_own_collector(estate, d.name, v) for v in devicecheck.evaluate(cfg, rules, d.name, **about)]
    return out, read


# The estate's syslog collectors and NTP servers forward to each other; the only one of its kind
# (the lab's prov-mon1) has nobody to forward to, and its rendered config rightly names none.
_SERVES = (("DEV-NO-SYSLOG", "syslog", "syslog collector"), ("DEV-NO-NTP", "ntp", "NTP server"))


def _own_collector(estate: Estate, device: str, v):
    plane = estate.management_plane
    for rule, attr, what in _SERVES:
        servers = getattr(plane, attr, ()) if plane is not None else ()
        if v.rule == rule and v.status == "finding" and servers == (device,):
            note = f"{device} is the estate's only {what} (management.{attr}): it has no peer to send to"
            return v.about(status="not_applicable", findings=(), note=note)
    return v
