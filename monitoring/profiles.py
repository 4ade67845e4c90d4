"""Monitoring profiles: what to poll on each device class, kept as data in monitoring/profiles/.

A device's class comes from the core (jinbao.classes, by role); its profile says which MIB
groups apply (`collect`) and the class's default thresholds. CPU and memory (`health`) are read
from the MIB the core's platform table names for the device's platform, so a Huawei router and
an FRR router share a profile but not the MIB their CPU is read from.

`check` is registered under the core's `jinbao.checks` entry points: `jinbao inventory
validate` names every device whose class has no profile, or whose platform reports its health
in a MIB the poller does not read, and every profile file that is malformed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jinbao.checks import at
from jinbao.classes import device_class, device_classes

# The class's default limits share the inventory's type: both say the same names.
from jinbao.model import Device, Estate, Thresholds
from jinbao.platforms import PLATFORMS
from jinbao.problems import ProblemList
from jinbao.yamlsrc import Origin, YamlShapeError, parse

PROFILE_DIR = Path(__file__).parent / "profiles"
Collector = Literal["system", "interfaces", "health", "ospf", "ups", "sensors"]
# The health MIBs the poller knows how to read (monitoring/collect.py); the platform table says
# which one a platform's agent implements.
HEALTH_MIBS = ("HOST-RESOURCES-MIB", "CISCO-PROCESS-MIB", "HUAWEI-ENTITY-EXTENT-MIB", "HH3C-ENTITY-EXT-MIB")


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    # `class` in the YAML: the device class this profile is for (its file is named after it).
    class_: str = Field(alias="class")
    title: str
    mibs: tuple[str, ...]
    collect: tuple[Collector, ...]
    thresholds: Thresholds = Thresholds()


class ProfileError(Exception):
    """A profile file that cannot be used; carries where and why, as a validation problem does."""

    def __init__(self, origin: Origin, field: str, message: str, fix: str):
        super().__init__(f"{origin}: {field}: {message}")
        self.origin, self.field, self.message, self.fix = origin, field, message, fix


@dataclass(frozen=True)
class Profiles:
    by_class: dict[str, Profile]
    errors: tuple[ProfileError, ...]
    folder: Path


def profile_dir() -> Path:
    """monitoring/profiles, or $JINBAO_MONITORING_PROFILES (a site's own set, or a test's)."""
    return Path(os.environ.get("JINBAO_MONITORING_PROFILES") or PROFILE_DIR)


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _read(path: Path) -> Profile:
    shown = _shown(path)
    try:
        doc = parse(path.read_text(), shown)
    except yaml.YAMLError as e:
        line = e.problem_mark.line + 1 if getattr(e, "problem_mark", None) else 1  # type: ignore[attr-defined]
        raise ProfileError(Origin(shown, line), "(file)", f"not valid YAML: {e}", "fix the YAML syntax") from None
    except YamlShapeError as e:
        raise ProfileError(Origin(shown, e.line), "(file)", e.message, e.fix) from None
    if not isinstance(doc.data, dict):
        raise ProfileError(Origin(shown, 1), "(file)", "a profile is a mapping", "see another profile of this folder")
    try:
        prof = Profile.model_validate(doc.data)
    except ValidationError as e:
        first = e.errors()[0]
        loc = tuple(first["loc"])
        raise ProfileError(
            doc.pos.at(loc), ".".join(map(str, loc)), first["msg"], "see docs/monitoring.md for the fields"
        ) from None
    if prof.class_ != path.stem:
        raise ProfileError(
            doc.pos.at(("class",)), "class", f"the file {path.name} holds class {prof.class_!r}", f"name it {path.stem}"
        )
    return prof


@cache
def _load(folder: Path) -> Profiles:
    found, errors = {}, []
    for path in sorted(folder.glob("*.yml")):
        try:
            found[path.stem] = _read(path)
        except ProfileError as e:
            errors.append(e)
    return Profiles(found, tuple(errors), folder)


def load(folder: Path | None = None) -> Profiles:
    return _load((folder or profile_dir()).resolve())


def profile_of(device: Device, folder: Path | None = None) -> Profile | None:
    return load(folder).by_class.get(device_class(device))


def health_mib(device: Device) -> str:
    return PLATFORMS[device.platform].snmp_health_mib


def check(e: Estate, p: ProblemList, where) -> None:
    """Every device's class has a usable profile; every health MIB it needs can be read."""
    profs = load()
    for err in profs.errors:
        p.add(err.origin, err.field, err.message, err.fix, "monitoring")
    for name in sorted(set(profs.by_class) - set(device_classes())):
        p.add(
            Origin(_shown(profs.folder / f"{name}.yml"), 1),
            "class",
            f"monitoring profile for unknown device class {name!r}",
            f"name one of: {', '.join(device_classes())}",
            "monitoring",
        )
    broken = {err.origin.file for err in profs.errors}
    for d in e.devices.values():
        cls = device_class(d)
        origin = at(where.devices.get(d.name), d.origin, "role")
        prof = profs.by_class.get(cls)
        if prof is None:
            if _shown(profs.folder / f"{cls}.yml") in broken:
                continue  # the file is there, and its problem is reported
            p.add(
                origin,
                "role",
                f"{d.name} is a {cls} (role {d.role}), and monitoring has no profile for class {cls}",
                f"add {_shown(profs.folder)}/{cls}.yml saying what to poll on a {cls} (see docs/monitoring.md)",
                "monitoring",
            )
        elif "health" in prof.collect and health_mib(d) not in HEALTH_MIBS:
            p.add(
                at(where.devices.get(d.name), d.origin, "platform"),
                "platform",
                f"{d.name}'s platform {d.platform} reports CPU and memory in {health_mib(d)}, unknown to monitoring",
                f"teach monitoring/collect.py {health_mib(d)}, or drop health from {cls}.yml",
                "monitoring",
            )
