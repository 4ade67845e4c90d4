"""Apply the intent in waves, each one committed with an on-device revert timer, checked, confirmed.

Per wave (`netconfig.waves`): snapshot the routing state of every router of the selection
(`netconfig.statecheck`), then on each changed device of the wave, in parallel: load the intended
rendering as a replace candidate, check it still makes the change the plan showed, and
`commit_config(revert_in=S)`, which starts a timer ON the
device that restores its previous config unless confirmed. Then poll the state until it holds.

- The wave verifies: every device of it is confirmed; the next wave starts.
- A device's check fails: it is rolled back at once (quicker than its timer, and the adjacency it
  broke comes back sooner); if the rollback itself cannot reach it, its timer reverts it. The
  other devices of the wave are confirmed (their own checks passed), or rolled back too with
  `rollback_wave`. No later wave starts: the change broke something.
- A device jinbao cannot reach (plan, commit) is a failure of that device only; its wave and
  later waves go on, since nothing was changed on it. If jinbao loses a device after its commit,
  the device's timer reverts it.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from jinbao.errors import JinbaoError
from jinbao.killpoints import kill_at
from jinbao.model import Estate
from jinbao.redact import Redactor
from jinbao.result import AggregatedResult, Result, run_task
from jinbao.target import Target

from . import changelog, statecheck
from .drivers import config_driver_for, session
from .plan import CHANGE, intended
from .waves import waves

# Tests kill a run here (jinbao/killpoints.py): committed:WAVE, once WAVE's commits are made, unconfirmed.
FAULT_ENV = "JINBAO_NETCONFIG_FAULT"
# Seconds kept free at the end of a wave's revert window for its confirms to land.
CONFIRM_MARGIN_S = 15

APPLIED, UNCHANGED, REVERTED, NOT_STARTED, FAILED = "applied", "unchanged", "reverted", "not started", "failed"


@dataclass(frozen=True)
class Options:
    revert_in: int = 120
    concurrency: int = 8
    rollback_wave: bool = False
    check_s: float = 60.0  # how long a wave's state may take to come right
    hold_s: float | None = None  # how long it must then hold; default two OSPF dead intervals


def commit(target: Target, estate: Estate, revert_in: int, planned: dict[str, str],
           wanted: dict[str, str] | None = None, change: str | None = None,
           kept: statecheck.Readers | None = None) -> Result:  # fmt: skip
    """Load target's wanted config as a replace candidate and commit it with a revert timer, only
    if it still changes what the operator was shown (planned): a device someone changed since the
    plan is left alone (the session discards the candidate). Its running config is recorded in
    the change log (redacted) before the commit, so `config rollback` can bring it back.

    kept: the apply's sessions. The plan's session is used, and so is its candidate when the
    device still runs, byte for byte, the config that candidate was diffed against: the same
    candidate on the same config is the same diff, so loading and checking it again (frr-reload
    --test on FRR, 0.3-0.5 s of the node's CPU) would only repeat the plan. Otherwise the
    candidate is loaded and compared again, as without kept. A kept session that fails before
    anything is sent is replaced by a fresh login; the session is kept for the polls after."""
    redact = Redactor.for_target(estate, target)
    config = wanted[target.name] if wanted else intended(estate, target)
    if kept is None:
        with session(config_driver_for(target)) as fresh:
            _commit(fresh, target, config, None, redact, revert_in, planned, change)
        return Result(target.name, "commit", changed=True)
    d, loaded = kept.take(target.name)
    running = None
    if d is not None:
        try:
            running = d.get_config("running")["running"]
        except Exception:
            d.close()
            d = None
    if d is None:
        d, loaded, running = config_driver_for(target), None, None
        d.open()
    try:
        seen = loaded[1] if loaded is not None and loaded[0] == config else None
        _commit(d, target, config, seen, redact, revert_in, planned, change, running)
    except BaseException:
        # the commit's own error is the one to report, not a discard on a session that died with it
        with contextlib.suppress(Exception):
            d.discard_config()  # type: ignore[attr-defined]
        d.close()
        raise
    kept.keep(target, d)
    return Result(target.name, "commit", changed=True)


def _commit(d, target: Target, config: str, seen: str | None, redact: Redactor, revert_in: int,
            planned: dict[str, str], change: str | None, running: str | None = None) -> None:  # fmt: skip
    """commit's work in an open session d; seen: the running config d's loaded candidate was
    diffed against (None: nothing usable is loaded)."""
    if running is None:
        running = d.get_config("running")["running"]
    if seen is None or running != seen:
        d.load_replace_candidate(config=config)
        now = redact(d.compare_config())
        if now != planned[target.name]:
            raise JinbaoError(f"{target.name}: its config changed since the plan; nothing committed, plan again")
    if change:
        changelog.append({"id": change, "event": "before", "device": target.name, "config": redact(running)})
    d.commit_config(revert_in=revert_in)


def confirm(target: Target, estate: Estate, change: str | None = None) -> Result:
    """Stop target's revert timer, then record what it runs now (the digest `drift` recognises)."""
    with session(config_driver_for(target)) as d:
        d.confirm_commit()  # type: ignore[attr-defined]
        if change:
            running = Redactor.for_target(estate, target)(d.get_config("running")["running"])
            after = {"id": change, "event": "after", "device": target.name, "digest": changelog.digest(running)}
            changelog.append(after)
    return Result(target.name, "confirm")


def rollback(target: Target) -> Result:
    with session(config_driver_for(target)) as d:
        d.rollback()  # type: ignore[attr-defined]
    return Result(target.name, "rollback")


def _why(r: Result) -> str:
    return (r.exception or "failed").splitlines()[0]


class Run:
    """One apply: the plan's changed devices, wave by wave; results keyed by device."""

    def __init__(self, targets: list[Target], estate: Estate, plans: AggregatedResult, opts: Options, say=print,
                 change: str | None = None, wanted: dict[str, str] | None = None,
                 on_status: Callable[[str, str], None] = lambda host, status: None,
                 readers: statecheck.Readers | None = None):  # fmt: skip
        """wanted: the config to commit per device (default: its intended rendering); change: the
        change log id to record `before`/`after` under; on_status(host, status) as a device moves;
        readers: the sessions the plan kept (see statecheck.Readers), closed when the run ends."""
        self.targets = {t.name: t for t in targets}
        self.estate, self.plans, self.opts, self.say = estate, plans, opts, say
        self.change, self.on_status = change, on_status
        self.wanted = wanted
        # Devices committed and neither confirmed nor rolled back yet: what an interrupted run
        # rolls back at once, rather than leave to their timers.
        self._unconfirmed: set[str] = set()
        self._settled: dict = {}
        self._lock = threading.Lock()
        self.results = AggregatedResult("apply")
        self.timings: dict[str, dict[str, float]] = {}
        self._wave: dict[str, str] = {}
        self.readers = readers or statecheck.Readers()
        # Routers whose state is checked: every device jinbao manages that answered the plan.
        self.routers = [
            self.targets[h]
            for h, r in sorted(plans.results.items())
            if not r.failed and r.data.get("status") != "not managed"
        ]

    def _set(self, host: str, status: str, *problems: str, exception: str | None = None) -> None:
        plan = self.plans.results[host]
        failed = status not in (APPLIED, UNCHANGED, "not managed")
        if status == FAILED and "ConnectionFailed" in (exception or ""):
            status = "unreachable"
        self.on_status(host, status)
        self.results.add(
            Result(host, "apply", changed=status == APPLIED, failed=failed, diff=plan.diff,
                   data={"status": status, "wave": self._wave.get(host, "")}, exception=exception, problems=problems)
        )  # fmt: skip

    def _parallel(self, task: Callable[..., Result], hosts: list[str], **kw) -> AggregatedResult:
        return run_task(task, [self.targets[h] for h in hosts], workers=self.opts.concurrency, **kw)

    def run(self, check: Callable[..., dict[str, list[str]]] = statecheck.verify) -> AggregatedResult:
        for host, plan in self.plans.results.items():
            if plan.failed:
                self._set(host, FAILED, exception=_why(plan))
            elif plan.data.get("status") != CHANGE:
                self._set(host, str(plan.data.get("status", UNCHANGED)))
        todo = [h for h, p in self.plans.results.items() if not p.failed and p.data.get("status") == CHANGE]
        try:
            self._waves(todo, check)
        except KeyboardInterrupt:
            self._interrupted(todo)
        finally:
            self.readers.close()
        return self.results

    def _waves(self, todo: list[str], check) -> None:
        stopped_by = ""
        for name, hosts in waves(self.estate, todo):
            self._wave.update(dict.fromkeys(hosts, name))
            if stopped_by:
                for h in hosts:
                    self._set(h, NOT_STARTED, f"not started: wave {stopped_by} failed its checks")
                continue
            if not self._one_wave(name, hosts, check):
                stopped_by = name

    def _interrupted(self, todo: list[str]) -> None:
        """Ctrl-C: roll back the wave in flight now (its devices' timers would, later), and name
        every device the run did not finish. A second Ctrl-C leaves the rest to the timers."""
        self.say("interrupted: rolling back the commits not yet confirmed")
        back = sorted(self._unconfirmed)
        try:
            rolled = self._parallel(rollback, back) if back else AggregatedResult("rollback")
        except KeyboardInterrupt:
            rolled = AggregatedResult("rollback")
        for h in back:
            r = rolled.results.get(h)
            how = "rolled back" if r and not r.failed else f"its timer reverts it within {self.opts.revert_in}s"
            self._set(h, REVERTED, f"interrupted: {how}")
        for h in todo:
            if h not in self.results.results:
                self._set(h, NOT_STARTED, "not started: the run was interrupted")

    def _commit(self, target: Target, **kw) -> Result:
        r = commit(target, **kw)
        with self._lock:
            self._unconfirmed.add(target.name)
        return r

    def _one_wave(self, name: str, hosts: list[str], check) -> bool:
        """Apply one wave; False when its checks failed (no later wave may start)."""
        t0 = time.monotonic()
        self.say(f"wave {name}: {', '.join(hosts)}")
        for h in hosts:
            self.on_status(h, "reading state")
        # The state a verified wave ended in is the next wave's starting state: nothing changed
        # between them but confirms, so it is not read again (a 55-router read costs ~12 s).
        before = self._settled or statecheck.snapshot(
            self.routers, self.estate, workers=self.opts.concurrency, readers=self.readers
        )
        self._settled = {}
        self.say(f"wave {name}: state before: {statecheck.describe(before)}")
        planned = {h: self.plans.results[h].diff for h in hosts}
        for h in hosts:
            self.on_status(h, "committing")
        kw = {"estate": self.estate, "revert_in": self.opts.revert_in, "wanted": self.wanted, "change": self.change,
              "kept": self.readers}  # fmt: skip
        t_commits = time.monotonic()
        committed = self._parallel(self._commit, hosts, planned=planned, **kw)
        kill_at(FAULT_ENV, f"committed:{name}")
        ok = [h for h in hosts if not committed.results[h].failed]
        for h in hosts:
            self.timings[h] = {"commit_s": round(time.monotonic() - t0, 1)}
            if committed.results[h].failed:
                self._set(h, FAILED, exception=_why(committed.results[h]))
        if not ok:
            return True
        for h in ok:
            self.on_status(h, "checking state")
        hold = self.opts.hold_s if self.opts.hold_s is not None else 2.0 * self.estate.ospf.dead_s
        # The first commit's timer started when the wave's commits did: the check and the confirms
        # must fit in what is left of its window, or every device reverts under jinbao's feet.
        left = self.opts.revert_in - (time.monotonic() - t_commits) - CONFIRM_MARGIN_S
        if left < hold:
            took = time.monotonic() - t_commits
            why = (f"the wave's commits took {took:.0f}s of the {self.opts.revert_in}s revert window, too little "
                   "left to verify it before the first timer fires; raise --revert-in")  # fmt: skip
            problems = {h: [why] for h in ok}
        else:
            seen: list[dict] = []

            def read(targets: list[Target], estate: Estate) -> dict:
                seen.append(statecheck.snapshot(targets, estate, workers=self.opts.concurrency, readers=self.readers))
                return seen[-1]

            problems = check(self.routers, before, set(ok), self.estate, deadline_s=min(self.opts.check_s, left - hold),
                             hold_s=hold, read=read)  # fmt: skip
            if not problems and seen and seen[-1].keys() == before.keys():
                self._settled = seen[-1]
        t_checked = time.monotonic()
        if problems:
            self.say(f"wave {name}: state check FAILED on {', '.join(sorted(problems))}")
        else:
            self.say(f"wave {name}: state check passed: nothing lost, and it held {hold:.0f}s")
        for h in ok:
            self.timings[h]["checked_s"] = round(t_checked - t0, 1)
        back = sorted(problems) if not self.opts.rollback_wave or not problems else ok
        rolled = self._parallel(rollback, back) if back else AggregatedResult("rollback")
        self._unconfirmed -= set(back)
        for h in back:
            r = rolled.results[h]
            how = (
                "rolled back"
                if not r.failed
                else f"rollback failed ({_why(r)}); its timer reverts it within {self.opts.revert_in}s"
            )
            why = problems.get(h) or ["rolled back with its wave (--rollback-wave-on-failure)"]
            self._set(h, REVERTED, *why, how)
            self.timings[h]["total_s"] = round(time.monotonic() - t0, 1)
        keep = [h for h in ok if h not in back]
        confirmed = AggregatedResult("confirm")
        if keep:
            confirmed = self._parallel(confirm, keep, estate=self.estate, change=self.change)
        self._unconfirmed -= set(keep)
        for h in keep:
            r = confirmed.results[h]
            if r.failed:
                self._set(h, FAILED, f"confirm failed, its timer reverts it: {_why(r)}")
            else:
                self._set(h, APPLIED)
            self.timings[h]["total_s"] = round(time.monotonic() - t0, 1)
        return not problems
