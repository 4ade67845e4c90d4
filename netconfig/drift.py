"""Drift: how a device's running config differs from the intent, as the lines that would fix it.

For FRR and nftables the remediation is the driver's own diff (frr-reload's lines to delete and
to add; nft's ruleset diff), as `plan` shows it. For IOS, VRP and Comware it is computed offline by
hier_config (`netconfig.checks.diff.remediation`) from the running config, read with one getter,
so a drift report never opens a candidate on those devices.

Drift versus change: a difference a recorded change explains is not drift. `recorded_change()`
looks the device up in apply's change log (`netconfig.changelog`):
- an apply or rollback in progress on it (its revert window still open) explains any difference;
- a finished change explains the difference when the device still runs exactly what that change
  left (the digest its `after` event recorded): a rollback the inventory was not yet edited to
  match, or an apply made from another copy of the inventory.
Every other difference is drift nobody recorded (`recorded: null`): a hand edit, or a change
made outside jinbao.
"""

from __future__ import annotations

from jinbao.model import Estate
from jinbao.redact import Redactor
from jinbao.result import Result
from jinbao.target import Target

from . import changelog
from .checks.diff import dialect, remediation
from .drivers import driver_for, session
from .plan import driver_diff, intended, unmanaged

DRIFTED, IN_SYNC = "drifted", "in sync"
NO_CHANGE_LOG = "no recorded change explains it (see the change log)"


def recorded_change(host: str, running: str) -> tuple[str, str] | None:
    """(change id, how it explains the difference) for the recorded change that explains host's
    difference from the intent, or None: an open change on host, else the latest change whose
    confirmed result on host is exactly running (redacted)."""
    opened = changelog.open_change(host)
    if opened:
        return opened, f"by change {opened}, in progress"
    left = changelog.left_by(host, changelog.digest(running))
    if left:
        kind = f"rollback of {left['of']}" if left.get("kind") == "rollback" else "apply"
        by = f"{kind} by {left.get('who')} at {left.get('at')}"
        return str(left["id"]), f"by change {left['id']} ({by}), which left exactly this config"
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
    with session(driver_for(target)) as d:
        running = redact(d.get_config("running")["running"])
    if _offline(target.platform):
        lines = remediation(target.platform, running, intended(estate, target))
        diff = lines + "\n" if lines else ""
    else:
        diff, _ = driver_diff(target, estate, redact)
    found = recorded_change(target.name, running) if diff else None
    data = {
        "status": DRIFTED if diff else IN_SYNC,
        "recorded": found[0] if found else None,
        "explained": (found[1] if found else NO_CHANGE_LOG) if diff else "",
    }
    return Result(target.name, "drift", changed=bool(diff), diff=diff, data=data)
