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

import time
from collections.abc import Callable
from dataclasses import dataclass

from jinbao.errors import JinbaoError
from jinbao.model import Estate
from jinbao.redact import Redactor
from jinbao.result import AggregatedResult, Result, run_task
from jinbao.target import Target

from . import statecheck
from .drivers import config_driver_for, session
from .plan import CHANGE, intended
from .waves import waves

APPLIED, UNCHANGED, REVERTED, NOT_STARTED, FAILED = "applied", "unchanged", "reverted", "not started", "failed"


@dataclass(frozen=True)
class Options:
    revert_in: int = 120
    concurrency: int = 8
    rollback_wave: bool = False
    check_s: float = 60.0  # how long a wave's state may take to come right
    hold_s: float | None = None  # how long it must then hold; default two OSPF dead intervals


def commit(target: Target, estate: Estate, revert_in: int, planned: dict[str, str]) -> Result:
    """Load target's intended rendering as a replace candidate and commit it with a revert timer,
    only if it still changes what the operator was shown (planned): a device someone changed
    since the plan is left alone (the session discards the candidate)."""
    with session(config_driver_for(target)) as d:
        d.load_replace_candidate(config=intended(estate, target))  # type: ignore[attr-defined]
        now = Redactor.for_target(estate, target)(d.compare_config())  # type: ignore[attr-defined]
        if now != planned[target.name]:
            raise JinbaoError(f"{target.name}: its config changed since the plan; nothing committed, plan again")
        d.commit_config(revert_in=revert_in)  # type: ignore[attr-defined]
    return Result(target.name, "commit", changed=True)


def confirm(target: Target) -> Result:
    with session(config_driver_for(target)) as d:
        d.confirm_commit()  # type: ignore[attr-defined]
    return Result(target.name, "confirm")


def rollback(target: Target) -> Result:
    with session(config_driver_for(target)) as d:
        d.rollback()  # type: ignore[attr-defined]
    return Result(target.name, "rollback")


def _why(r: Result) -> str:
    return (r.exception or "failed").splitlines()[0]


class Run:
    """One apply: the plan's changed devices, wave by wave; results keyed by device."""

    def __init__(self, targets: list[Target], estate: Estate, plans: AggregatedResult, opts: Options, say=print):
        self.targets = {t.name: t for t in targets}
        self.estate, self.plans, self.opts, self.say = estate, plans, opts, say
        self.results = AggregatedResult("apply")
        self.timings: dict[str, dict[str, float]] = {}
        self._wave: dict[str, str] = {}
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
        stopped_by = ""
        for name, hosts in waves(self.estate, todo):
            self._wave.update(dict.fromkeys(hosts, name))
            if stopped_by:
                for h in hosts:
                    self._set(h, NOT_STARTED, f"not started: wave {stopped_by} failed its checks")
                continue
            if not self._one_wave(name, hosts, check):
                stopped_by = name
        return self.results

    def _one_wave(self, name: str, hosts: list[str], check) -> bool:
        """Apply one wave; False when its checks failed (no later wave may start)."""
        t0 = time.monotonic()
        self.say(f"wave {name}: {', '.join(hosts)}")
        before = statecheck.snapshot(self.routers, self.estate, workers=self.opts.concurrency)
        planned = {h: self.plans.results[h].diff for h in hosts}
        committed = self._parallel(commit, hosts, estate=self.estate, revert_in=self.opts.revert_in, planned=planned)
        ok = [h for h in hosts if not committed.results[h].failed]
        for h in hosts:
            self.timings[h] = {"commit_s": round(time.monotonic() - t0, 1)}
            if committed.results[h].failed:
                self._set(h, FAILED, exception=_why(committed.results[h]))
        if not ok:
            return True
        hold = self.opts.hold_s if self.opts.hold_s is not None else 2.0 * self.estate.ospf.dead_s
        problems = check(self.routers, before, set(ok), self.estate, deadline_s=self.opts.check_s, hold_s=hold)
        t_checked = time.monotonic()
        for h in ok:
            self.timings[h]["checked_s"] = round(t_checked - t0, 1)
        back = sorted(problems) if not self.opts.rollback_wave or not problems else ok
        rolled = self._parallel(rollback, back) if back else AggregatedResult("rollback")
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
        confirmed = self._parallel(confirm, keep) if keep else AggregatedResult("confirm")
        for h in keep:
            r = confirmed.results[h]
            if r.failed:
                self._set(h, FAILED, f"confirm failed, its timer reverts it: {_why(r)}")
            else:
                self._set(h, APPLIED)
            self.timings[h]["total_s"] = round(time.monotonic() - t0, 1)
        return not problems
