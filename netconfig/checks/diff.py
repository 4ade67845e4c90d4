"""Remediation between two configs of one platform, computed by hier_config: the lines to send
so that a device running `running` ends up with `intended`. The plan shows it; the drivers
push it."""

from __future__ import annotations

import importlib

from hier_config import WorkflowRemediation

from netconfig.checks.loader import Dialect, hierarchy


def dialect(platform: str) -> Dialect:
    """The dialect of a vendor platform (`cisco_ios`, `huawei_vrp`, `h3c_comware`).

    Each platform's module holds its own; a platform without one has no vendor CLI to diff.
    """
    try:
        module = importlib.import_module(f"netconfig.checks.{platform}")
    except ModuleNotFoundError:
        raise ValueError(f"no vendor CLI checks for platform {platform!r}") from None
    found = getattr(module, "DIALECT", None)
    if not isinstance(found, Dialect):
        raise ValueError(f"no vendor CLI checks for platform {platform!r}")
    return found


def remediation(platform: str, running: str, intended: str) -> str:
    """The commands that take `running` to `intended`, in the platform's own syntax.

    Negations use the platform's prefix (`undo` on VRP/Comware, `no` on IOS), and each section is
    closed the way the platform closes it (`quit` / `exit`), so the text can be sent as it is.
    Empty when the two configs agree.
    """
    d = dialect(platform)
    workflow = WorkflowRemediation(hierarchy(d, running), hierarchy(d, intended))
    return "\n".join(workflow.remediation_config.lines(sectional_exiting=True))


def rollback(platform: str, running: str, intended: str) -> str:
    """The commands that undo `remediation(platform, running, intended)` once it was applied."""
    d = dialect(platform)
    workflow = WorkflowRemediation(hierarchy(d, running), hierarchy(d, intended))
    return "\n".join(workflow.rollback_config.lines(sectional_exiting=True))


def unified(platform: str, running: str, intended: str) -> str:
    """What differs, as hier_config's +/- lines under their sections (a driver's compare_config)."""
    d = dialect(platform)
    return "\n".join(hierarchy(d, running).unified_diff(hierarchy(d, intended)))
