"""Nornir-style results: a task's failure is data, not an exception that stops the run.

Every domain (config pushes, SNMP polls, certificate deployment, drill steps) returns these.
Only the CLI turns them into exit codes and tables.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Result:
    """What one task did on one target."""

    host: str
    task: str
    changed: bool = False
    failed: bool = False
    diff: str = ""
    data: Any = None
    exception: str | None = None
    # Why a target that answered is still not as intended (a check's findings), one line each.
    problems: tuple[str, ...] = ()

    @property
    def why(self) -> str:
        """One line on why this target failed, for summaries."""
        return "; ".join(self.problems) or self.exception or ""

    def as_dict(self) -> dict:
        return {
            "host": self.host,
            "task": self.task,
            "changed": self.changed,
            "failed": self.failed,
            "diff": self.diff,
            "data": self.data,
            "exception": self.exception,
            "problems": list(self.problems),
        }


@dataclass
class AggregatedResult:
    """Results of one task over many targets, keyed by host."""

    task: str
    results: dict[str, Result] = field(default_factory=dict)

    def add(self, result: Result) -> None:
        self.results[result.host] = result

    @property
    def failed_hosts(self) -> dict[str, Result]:
        return {h: r for h, r in self.results.items() if r.failed}

    @property
    def failed(self) -> bool:
        return any(r.failed for r in self.results.values())

    @property
    def changed(self) -> bool:
        return any(r.changed for r in self.results.values())

    def exit_code(self) -> int:
        """0 when every target succeeded, 1 when some failed (2 is for bad input, before any run)."""
        return 1 if self.failed else 0


def host_of(target: Any) -> str:
    """The name a target is reported under: a Target or Device's name, or a plain string."""
    return target if isinstance(target, str) else str(target.name)


def run_task(
    task: Callable[..., Any],
    targets: Iterable[Any],
    *,
    name: str | None = None,
    workers: int = 16,
    on_done: Callable[[Result], None] | None = None,
    **kwargs,
) -> AggregatedResult:
    """Run task(target, **kwargs) on every target in a bounded thread pool.

    As Nornir's tasks get the host, a task gets the target itself (a Target, a Device, or a
    name), never just a name to look up again; options such as dry_run travel in kwargs.
    The task returns a Result, or plain data (taken as success). An exception becomes a failed
    Result for that target only; the others carry on. on_done is called as each target
    finishes, for progress bars.
    """
    task_name = name or str(getattr(task, "__name__", "task"))
    agg = AggregatedResult(task_name)

    def one(target: Any) -> Result:
        host = host_of(target)
        try:
            out = task(target, **kwargs)
            res = out if isinstance(out, Result) else Result(host, task_name, data=out)
        except Exception as e:
            res = Result(
                host, task_name, failed=True, exception=f"{type(e).__name__}: {e}", data=traceback.format_exc(limit=3)
            )
        if on_done:
            on_done(res)
        return res

    todo = list(targets)
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(todo) or 1))) as pool:
        for res in pool.map(one, todo):
            agg.results[res.host] = res
    return agg
