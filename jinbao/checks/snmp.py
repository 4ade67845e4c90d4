"""Names the `monitoring:` section points at: the sites and devices it sets thresholds for."""

from __future__ import annotations

from ..model import Estate
from ..names import did_you_mean
from ..problems import ProblemList


def references(e: Estate, p: ProblemList, where) -> None:
    """The sites and devices the `monitoring:` section sets thresholds for exist."""
    m = e.monitoring
    if m is None:
        return
    for kind, names, known in (("sites", m.sites, e.sites), ("devices", m.devices, e.devices)):
        for n in names:
            if n not in known:
                p.add(
                    m.origins.get(f"{kind}.{n}", m.origin),
                    f"monitoring.{kind}.{n}",
                    f"thresholds for {kind[:-1]} {n!r}, which is not a {kind[:-1]} of estate {e.name}",
                    did_you_mean(n, known, f"name one of the estate's {kind}"),
                    "reference",
                )
