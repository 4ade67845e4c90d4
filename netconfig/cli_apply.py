"""`jinbao config apply`: the plan, a question, then the change in waves (see netconfig.apply).

Exit codes: 0 every changed device applied, verified and confirmed; 1 some device failed (each
named, with why); 2 bad input: unknown names, no `--confirm` for an estate other than `lab`, no
terminal to ask on and no `--yes`, or another apply running on the same devices. Nothing is
contacted before the input is known good, and nothing is changed before the change log holds
the plan. `config rollback` (netconfig.cli_rollback) runs the same way with other configs.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import click

from jinbao.console import err, finish, out, print_failures, shown
from jinbao.errors import JinbaoError
from jinbao.estate import load_estate
from jinbao.target import estate_for, source_of

from . import changelog
from .apply import APPLIED, NOT_STARTED, REVERTED, Options, Run
from .cli_plan import report, run, summary
from .live import LiveTable
from .plan import CHANGE, NOT_MANAGED, UNCHANGED, plan_device
from .selection import select, selectors
from .statecheck import Readers
from .waves import waves


def change_options(f):
    """The options apply and rollback share, on top of the selectors."""
    for option in reversed(
        [
            click.option("--yes", is_flag=True, help="Go ahead without asking (needed when there is no terminal)."),
            click.option("--concurrency", default=8, show_default=True, help="Devices of one wave changed at once."),
            click.option("--revert-in", default=120, show_default=True, help="Seconds until unconfirmed reverts."),
            click.option("--check-timeout", default=60, show_default=True, help="Seconds a wave's state may take."),
            click.option("--rollback-wave-on-failure", "rollback_wave", is_flag=True, help="A failure reverts all."),
            click.option("--confirm", "confirm_estate", help="The estate's name, required for any estate but lab."),
            click.option("--json", "as_json", is_flag=True, help="The outcome as JSON on stdout, for tooling."),
        ]
    ):  # fmt: skip
        f = option(f)
    return selectors(f)


@dataclass
class Change:
    """One run of apply or rollback, as the operator asked for it."""

    source: str
    intent: str
    sites: tuple = ()
    devices: tuple = ()
    roles: tuple = ()
    workers: int = 16
    yes: bool = False
    as_json: bool = False
    opts: Options = field(default_factory=Options)
    confirm_estate: str | None = None
    kind: str = "apply"
    of: str | None = None  # the change a rollback undoes


def carry_out(c: Change, wanted: Callable[[list[str]], dict[str, str]] | None = None, only: set[str] | None = None):
    """Plan, ask, record, run in waves, record, report; exits with the outcome's code. wanted(hosts)
    gives the configs to commit (default: the intent); only limits the devices (a rollback's)."""
    name = load_estate(c.intent).name  # checked before any target is looked up
    if name != "lab" and c.confirm_estate != name:
        raise click.UsageError(f"{c.kind} on estate {name!r} needs --confirm {name}")
    if c.opts.check_s + 10 > c.opts.revert_in:
        raise click.UsageError("--revert-in must exceed --check-timeout by at least 10 s")
    if not c.yes and not sys.stdin.isatty():
        raise click.UsageError(f"no terminal to ask on: pass --yes to {c.kind} without asking")
    chosen = select(c.source, c.intent, c.sites, c.devices, c.roles)
    if only is not None:
        chosen = replace(chosen, targets=[t for t in chosen.targets if t.name in only])
    # One session per device for the whole run: the plan's is used for the state reads and the
    # commit (its candidate too, see apply.commit); the run closes them, or this if it never starts.
    kept = Readers()
    with changelog.exclusive(c.source), contextlib.closing(kept):
        for gone in changelog.close_abandoned():
            err.print(f"change {gone} never finished; recorded as abandoned (its unconfirmed commits reverted)")
        configs = wanted([t.name for t in chosen.targets]) if wanted else None
        plans = run(plan_device, chosen, c.workers, "plan", c.as_json, config=configs, kept=kept)
        if not c.as_json:
            report(plans, "plan", (CHANGE, UNCHANGED, "unreachable", NOT_MANAGED), False)
        changed = [h for h, r in plans.results.items() if not r.failed and r.data.get("status") == CHANGE]
        if not changed:
            if c.as_json:
                click.echo(json.dumps({"id": None, "summary": summary(plans)}, indent=2))
            else:
                out.print(f"nothing to {c.kind}")
            finish(plans)
        order = waves(chosen.estate, changed)
        if not c.as_json:
            out.print("waves: " + "  →  ".join(f"{w} ({len(h)})" for w, h in order))
        if not c.yes and not click.confirm(f"{c.kind} on {len(changed)} device(s) of estate {name}?"):
            err.print("nothing was changed")
            sys.exit(1)
        _run(c, name, chosen, plans, changed, order, configs, kept)


def _run(c: Change, name, chosen, plans, changed, order, configs, kept: Readers) -> None:
    change = changelog.new_id()
    base = {"id": change, "who": changelog.who(), "estate": name, "source": c.source}
    started = {**base, "event": "started", "kind": c.kind, "of": c.of, "revert_in": c.opts.revert_in,
               "selection": {"sites": list(c.sites), "devices": list(c.devices), "roles": list(c.roles)},
               "devices": {h: plans.results[h].diff for h in sorted(changed)}}  # fmt: skip
    try:
        changelog.append(started)
    except OSError as e:
        raise JinbaoError(f"cannot write the change log {changelog.log_path()}: {e}; nothing was changed") from e
    t0 = time.monotonic()
    table = LiveTable({h: w for w, hosts in order for h in hosts}, enabled=not c.as_json)
    with table:
        say = (lambda s: None) if c.as_json else (lambda s: err.print(shown(s)))
        job = Run(chosen.targets, chosen.estate, plans, c.opts, say=say, change=change,
                  wanted=configs, on_status=table.update, readers=kept)  # fmt: skip
        agg = job.run()
    by: dict[str, list[str]] = {}
    for h, r in sorted(agg.results.items()):
        by.setdefault(r.data["status"], []).append(h)
    changelog.append({**base, "event": "finished", "seconds": round(time.monotonic() - t0, 1), "summary": by,
                      "devices": {h: {"status": r.data["status"], "why": r.why, "timings": job.timings.get(h, {})}
                                  for h, r in sorted(agg.results.items())}})  # fmt: skip
    if c.as_json:
        devices = {h: {**r.data, "diff": r.diff, "why": r.why, "timings": job.timings.get(h, {})}
                   for h, r in sorted(agg.results.items())}  # fmt: skip
        click.echo(json.dumps({"id": change, "kind": c.kind, "summary": by, "devices": devices}, indent=2, default=str))
    else:
        out.rule(f"{c.kind} {change}")
        for s in (APPLIED, REVERTED, "unreachable", "failed", NOT_STARTED, UNCHANGED, NOT_MANAGED):
            if by.get(s):
                colour = "green" if s == APPLIED else "red" if s in (REVERTED, "failed", "unreachable") else "default"
                out.print(f"[{colour}]{len(by[s]):4d} {s}[/]: {shown(', '.join(by[s]))}")
        for h, t in sorted(job.timings.items()):
            checked = f", state checked after {t['checked_s']}s" if "checked_s" in t else ""
            done = f"committed after {t.get('commit_s')}s{checked}, done after {t.get('total_s')}s"
            out.print(f"     [dim]{shown(h)}: {done}[/]")
    print_failures(agg)
    finish(agg)


@click.command()
@change_options
@click.pass_context
def apply(ctx, lab_id, spec, estate, sites, devices, roles, workers, yes, concurrency, revert_in, check_timeout,
          rollback_wave, confirm_estate, as_json):  # fmt: skip
    """Apply the intent: province core first, then cities, then counties, each wave checked.

    \b
    jinbao config apply --lab jb1a2b
    jinbao config apply --targets estate:province --confirm province --yes
    """
    source = source_of(lab_id, spec) or "lab:"
    opts = Options(revert_in=revert_in, concurrency=concurrency, rollback_wave=rollback_wave, check_s=check_timeout)
    carry_out(Change(source, estate_for(ctx, source, estate), sites, devices, roles, workers, yes, as_json, opts,
                     confirm_estate))  # fmt: skip
