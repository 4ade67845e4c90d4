"""Rendered configs as a seam: the core offers `rendered(estate, device)`, a domain supplies it.

netconfig owns the templates; the lab configures its nodes with what they render. Neither may
import the other, so netconfig registers its renderer under the `jinbao.renderers` entry-point
group (as command groups and target sources are registered) and the lab asks the core.

A renderer takes (estate, device) and returns the device's files by syntax (`{"frr": …,
"nftables": …}`: a Linux firewall's ruleset and the FRR config of its routing daemon), or None
when it has no templates for the device's platform. Secrets in the text are markers
(jinbao.secrets.marker), resolved only on the way to a device.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from importlib.metadata import entry_points

from .errors import JinbaoError
from .model import Device, Estate

RENDERERS = "jinbao.renderers"

Renderer = Callable[[Estate, Device], Mapping[str, str] | None]


@cache
def _renderers() -> dict[str, Renderer]:
    # Built once from installed entry points: a plain dict, not a mutable registry.
    return {ep.name: ep.load() for ep in entry_points(group=RENDERERS)}


def rendered(estate: Estate, device: Device) -> Mapping[str, str]:
    """The device's intended config files by syntax, from the first renderer that knows its platform.

    A platform no installed renderer knows is bad input (JinbaoError, exit 2)."""
    for renderer in _renderers().values():
        files = renderer(estate, device)
        if files is not None:
            return files
    known = ", ".join(sorted(_renderers())) or "none installed"
    raise JinbaoError(f"no renderer has templates for {device.name}'s platform {device.platform} (renderers: {known})")
