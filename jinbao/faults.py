"""Faults a drill injects into a target source, without importing the domain that owns it.

A DR drill measures RTO from the moment a fault lands, so it applies the fault in its own
process rather than through a CLI whose Python start (seen: 12 s on a busy 2-core machine) would
blur that moment. The lab registers a function under the `jinbao.faults` entry-point group, as it
does for targets; `inject("lab:<id>", "link", "a", "b")` reaches it by name.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points

from .errors import JinbaoError

FAULT_SOURCES = "jinbao.faults"

# (ref, kind, *names) -> when the fault took effect (time.time()); kind is "link" or "node".
FaultInjector = Callable[..., float]


def inject(spec: str, kind: str, *names: str) -> float:
    """Apply one fault (`link A B` dropped, `node N` stopped) to source spec (`lab:<id>`).

    A source that cannot inject faults is bad input (JinbaoError, exit 2)."""
    source, sep, ref = spec.partition(":")
    injectors = {ep.name: ep.load() for ep in entry_points(group=FAULT_SOURCES)}
    if not sep or source not in injectors:
        known = ", ".join(f"{k}:<ref>" for k in sorted(injectors)) or "none installed"
        raise JinbaoError(f"{spec!r} takes no injected faults; sources that do: {known}")
    return injectors[source](ref, kind, *names)
