"""A device named like a group Ansible gets from the estate (`all`, `dr`, `sites`: the others carry
an underscore, which a host name cannot).

Ansible reads a pattern as a group's name before a host's: `jinbao provision` selecting the
device `dr` (its --limit file names hosts) would converge every host of the group dr instead."""

from __future__ import annotations

from ..ansible_inventory import group_names
from ..model import Estate
from ..problems import ProblemList
from . import at


def check(e: Estate, p: ProblemList, where) -> None:
    groups = group_names(e)
    for d in e.devices.values():
        if d.name in groups:
            p.add(
                at(where.devices.get(d.name), d.origin, "name"),
                "name",
                f"device {d.name} has the name of a group Ansible gets from the estate, and Ansible reads the "
                f"name as the group: provisioning {d.name} alone would run on every host of group {d.name}",
                f"rename the device (for example {d.name}-1); reserved for groups: "
                + ", ".join(sorted(g for g in groups if "_" not in g)),
                "design",
            )
