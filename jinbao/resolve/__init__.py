"""Expand the compact YAML (templates, counts, for_each) into the explicit estate model.

Order matters and is fixed so the same YAML always yields the same addresses:
sites → OSPF areas → site blocks → zones and loopback pools → devices → links → the rest.
Problems that stop an item from being built (an unknown template, a link to a device that does
not exist, a block that cannot fit) are reported here; checks that need the finished estate
live in checks/.

Each problem points at the line that set the value at fault: a device made from a template
points into the template, a full management block at `management.block`, an impossible prefix
at wherever that prefix was written. Problems met once per site or device from one such line
are folded into one by ProblemList.folded().
"""

from __future__ import annotations

from ..loader import RawEstateFiles
from ..model import Estate
from ..problems import ProblemList
from .build import build_estate
from .devices import address_devices, build_devices
from .links import build_links
from .sites import build_sites, carve_sites
from .state import State, Where

__all__ = ["Where", "resolve"]

# The stages, in the order that makes the same YAML always give the same addresses.
STAGES = (build_sites, carve_sites, build_devices, address_devices, build_links)


def resolve(raw: RawEstateFiles) -> tuple[Estate, ProblemList, Where]:
    """Build the explicit estate. Returns it with the problems met and where each item was
    written; callers decide to go on."""
    r = State(raw)
    for stage in STAGES:
        stage(r)
    return build_estate(r), r.p, r.where
