"""Which devices a multi-device config command works on: a target source, narrowed by the estate.

The source (`--lab ID` or `--targets SPEC`) says how to reach devices; the estate says what they
should run, and which site and role each has. Every name given is checked against both before any
device is contacted, so a typo is bad input (exit 2), never a half-run.
"""

from __future__ import annotations

from dataclasses import dataclass

import click

from jinbao.errors import JinbaoError
from jinbao.estate import load_estate
from jinbao.model import Estate
from jinbao.names import did_you_mean
from jinbao.target import Target, targets


@dataclass(frozen=True)
class Selection:
    source: str
    estate: Estate
    targets: list[Target]


def select(
    source: str,
    estate_name: str,
    sites: tuple[str, ...] = (),
    devices: tuple[str, ...] = (),
    roles: tuple[str, ...] = (),
) -> Selection:
    """The source's targets that are devices of the estate and match every filter given."""
    estate = load_estate(estate_name)
    found = targets(source)
    for s in sites:
        if s not in estate.sites:
            raise JinbaoError(f"no site {s!r} in estate {estate.name}; {did_you_mean(s, estate.sites)}")
    known_roles = {d.role for d in estate.devices.values()}
    for r in roles:
        if r not in known_roles:
            raise JinbaoError(
                f"no device has role {r!r} in estate {estate.name}; roles: {', '.join(sorted(known_roles))}"
            )
    for d in devices:
        if d not in found:
            raise JinbaoError(f"{source} has no device {d!r}; {did_you_mean(d, found)}")
    chosen = [
        t
        for name, t in sorted(found.items())
        if (not devices or name in devices)
        and (not sites or (name in estate.devices and estate.devices[name].site in sites))
        and (not roles or (name in estate.devices and estate.devices[name].role in roles))
    ]
    if not chosen:
        raise JinbaoError(f"no device of {source} matches the selection")
    return Selection(source, estate, chosen)


def selectors(f):
    """The options every multi-device config command shares (plan, drift, backup)."""
    for option in reversed(
        [
            click.option("--lab", "lab_id", help="The nodes of this lab (the same as --targets lab:ID)."),
            click.option("--targets", "spec", help="Where the devices come from, e.g. lab:jb1a2b."),
            click.option("--estate", help="The intent's estate (default: lab for a lab, else jinbao --estate)."),
            click.option("--site", "sites", multiple=True, help="Only this site's devices (repeatable)."),
            click.option("--device", "devices", multiple=True, help="Only this device (repeatable)."),
            click.option("--role", "roles", multiple=True, help="Only devices of this role (repeatable)."),
            click.option("--workers", default=16, show_default=True, help="Devices worked on at once."),
        ]
    ):
        f = option(f)
    return f
