"""What applying the intent would change on one device, computed by the device's own driver.

`plan_device` loads the intended rendering as a replace candidate and returns the driver's
`compare_config()`; the session discards the candidate on the way out, so nothing changes.

Which rendering a driver takes: the one named after the device's platform. An FRR router's
`frr`, a firewall's `nftables` (its routing daemon's `frr` rendering is read, not written, for
now), a vendor router's own CLI. A Linux server has no config driver (its config is Ansible's):
it is reported as not managed, never as a failure.
"""

from __future__ import annotations

import contextlib

from jinbao.errors import JinbaoError
from jinbao.model import Estate
from jinbao.redact import Redactor
from jinbao.rendering import rendered
from jinbao.result import Result
from jinbao.target import Target

from .drivers import NotSupported, config_driver_for, session
from .drivers.confirm import ShellLifecycle
from .statecheck import Readers

CHANGE, UNCHANGED, NOT_MANAGED = "to change", "unchanged", "not managed"


def intended(estate: Estate, target: Target) -> str:
    """The rendering target's config driver takes, secrets as `<secret REF>` markers."""
    files = rendered(estate, estate.devices[target.name])
    if target.platform not in files:
        have = ", ".join(sorted(files)) or "nothing"
        raise JinbaoError(f"{target.name}: no {target.platform} rendering (rendered: {have})")
    return files[target.platform]


def unmanaged(target: Target, estate: Estate, task: str) -> Result | None:
    """A Result saying why jinbao does not manage target's config, or None when it does."""
    if target.name not in estate.devices:
        why = f"not a device of estate {estate.name}"
    else:
        try:
            config_driver_for(target)
            return None
        except NotSupported as e:
            why = str(e)
    return Result(target.name, task, data={"status": NOT_MANAGED, "why": why})


def driver_diff(target: Target, estate: Estate, redact: Redactor, config: str | None = None) -> tuple[str, bool]:
    """The driver's diff from target's running config to config (default: the intent), and
    whether a commit awaits confirmation on it (its revert timer runs). Nothing is changed."""
    with session(config_driver_for(target)) as d:
        d.load_replace_candidate(config=intended(estate, target) if config is None else config)  # type: ignore[attr-defined]
        # The driver masks the secrets it sent; redacting again also covers any it did not send.
        diff = redact(d.compare_config())  # type: ignore[attr-defined]
        return diff, bool(d.has_pending_commit())  # type: ignore[attr-defined]


def kept_diff(target: Target, config: str, redact: Redactor, kept: Readers) -> tuple[str, bool] | None:
    """driver_diff for an apply, in a session it keeps (kept): a candidate that changes something
    stays loaded on the device, with the running config read just after it was diffed, so the
    commit can use it as it is if the device still runs that config (netconfig.apply.commit).
    None for a driver whose candidate is more than a file of its own on the device (a vendor
    CLI's configuration session): that one is planned in a session of its own, as by plan."""
    d = config_driver_for(target)
    if not isinstance(d, ShellLifecycle):
        return None
    d.open()
    try:
        d.load_replace_candidate(config=config)
        raw = d.compare_config()
        pending = bool(d.has_pending_commit())
        seen = (config, d.get_config("running")["running"]) if raw else None
        if not raw:
            d.discard_config()
    except BaseException:
        with contextlib.suppress(Exception):
            d.discard_config()
        d.close()
        raise
    kept.keep(target, d, seen)
    return redact(raw), pending


PENDING = "a commit awaits confirmation on it: its own timer reverts it unless an apply confirms it"


def plan_device(
    target: Target, estate: Estate, config: dict[str, str] | None = None, kept: Readers | None = None
) -> Result:
    """One device's plan: the lines applying the intent (or config[device], for a rollback) would
    change (a task for run_task). A device whose last commit awaits confirmation says so: what
    it runs now is not yet what it keeps. kept: an apply's sessions, which the plan's are kept in."""
    skipped = unmanaged(target, estate, "plan")
    if skipped:
        return skipped
    redact = Redactor.for_target(estate, target)
    wanted = (config or {}).get(target.name)
    got = None
    if kept is not None:
        got = kept_diff(target, intended(estate, target) if wanted is None else wanted, redact, kept)
    diff, pending = got if got is not None else driver_diff(target, estate, redact, wanted)
    data: dict = {"status": CHANGE if diff else UNCHANGED}
    if pending:
        data["pending"] = PENDING
    return Result(target.name, "plan", changed=bool(diff), diff=diff, data=data)
