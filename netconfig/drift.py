"""Drift: how a device's running config differs from the intent, as the lines that would fix it.

For FRR and nftables the remediation is the driver's own diff (frr-reload's lines to delete and
to add; nft's ruleset diff), as `plan` shows it. For IOS, VRP and Comware it is computed offline by
hier_config (`netconfig.checks.diff.remediation`) from the running config, read with one getter,
so a drift report never opens a candidate on those devices.

Drift versus change: a difference a recorded change explains (an apply in progress, or one not yet
in the inventory) is not drift. That needs apply's change log, which does not exist yet, so every
difference is reported with `recorded: null` ("unknown: no change log yet"). The seam is
`recorded_change()`: once the log exists it looks the device and its diff up there.
"""

from __future__ import annotations

from jinbao.model import Estate
from jinbao.redact import Redactor
from jinbao.result import Result
from jinbao.target import Target

from .checks.diff import dialect, remediation
from .drivers import driver_for, session
from .plan import driver_diff, intended, unmanaged

DRIFTED, IN_SYNC = "drifted", "in sync"
NO_CHANGE_LOG = "unknown: no change log yet"


def recorded_change(host: str, diff: str) -> str | None:
    """The id of the recorded change that explains diff on host, or None if none does.

    Seam for apply's append-only change log (issue 10). Until it exists nothing is recorded, so
    this returns None and the report says it cannot tell recorded change from drift."""
    return None


def _offline(platform: str) -> bool:
    try:
        dialect(platform)
        return True
    except ValueError:
        return False


def drift_device(target: Target, estate: Estate) -> Result:
    """One device's drift (a task for run_task): the remediation lines, "" when in sync."""
    skipped = unmanaged(target, estate, "drift")
    if skipped:
        return skipped
    redact = Redactor.for_target(estate, target)
    if _offline(target.platform):
        with session(driver_for(target)) as d:
            running = redact(d.get_config("running")["running"])
        lines = remediation(target.platform, running, intended(estate, target))
        diff = lines + "\n" if lines else ""
    else:
        diff = driver_diff(target, estate, redact)
    data = {
        "status": DRIFTED if diff else IN_SYNC,
        "recorded": recorded_change(target.name, diff) if diff else None,
        "explained": NO_CHANGE_LOG if diff else "",
    }
    return Result(target.name, "drift", changed=bool(diff), diff=diff, data=data)
