"""Drift: how a device's running config differs from the intent, as the lines that would fix it.

For FRR and nftables the remediation is the driver's own diff (frr-reload's lines to delete and
to add; nft's ruleset diff), as `plan` shows it. For IOS, VRP and Comware it is computed offline by
hier_config (`netconfig.checks.diff.remediation`) from the running config, read with one getter,
so a drift report never opens a candidate on those devices.

Drift versus change: a difference a recorded change explains (an apply in progress, or one not yet
in the inventory) is not drift. `recorded_change()` looks the device up in apply's change log
(`netconfig.changelog`): a difference on a device with an apply in progress is reported with
that change's id in `recorded`; every other difference is drift (`recorded: null`).
"""

from __future__ import annotations

from jinbao.model import Estate
from jinbao.redact import Redactor
from jinbao.result import Result
from jinbao.target import Target

from .changelog import open_change
from .checks.diff import dialect, remediation
from .drivers import driver_for, session
from .plan import driver_diff, intended, unmanaged

DRIFTED, IN_SYNC = "drifted", "in sync"
NO_CHANGE_LOG = "no apply in progress on it (see the change log)"


def recorded_change(host: str, diff: str) -> str | None:
    """The id of the recorded change that explains diff on host, or None if none does.

    From apply's append-only change log (`netconfig.changelog`): an apply that started on host
    and has not finished (in progress, or its jinbao died and the device's timer decides)
    explains any difference. A finished apply explains nothing: its device should match its
    intent again, so a difference after it is drift."""
    return open_change(host)


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
    recorded = recorded_change(target.name, diff) if diff else None
    data = {
        "status": DRIFTED if diff else IN_SYNC,
        "recorded": recorded,
        "explained": (f"by change {recorded}, in progress" if recorded else NO_CHANGE_LOG) if diff else "",
    }
    return Result(target.name, "drift", changed=bool(diff), diff=diff, data=data)
