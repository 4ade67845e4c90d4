"""`jinbao config apply`: the plan, a question, then the change in waves (see netconfig.apply).

Exit codes: 0 every changed device applied, verified and confirmed; 1 some device failed (each
named, with why); 2 bad input: unknown names, no `--confirm` for an estate other than `lab`, or
no terminal to ask on and no `--yes`. Nothing is contacted before the input is known good, and
nothing is changed before the change log holds the plan.
"""

from __future__ import annotations

import json
import sys
import time

import click

from jinbao.console import err, finish, out, print_failures, shown
from jinbao.errors import JinbaoError
from jinbao.estate import load_estate

from . import changelog
from .apply import APPLIED, NOT_STARTED, REVERTED, Options, Run
from .cli_plan import report, run, summary
from .plan import CHANGE, NOT_MANAGED, UNCHANGED, plan_device
from .selection import estate_for, select, selectors, source_of
from .waves import waves


@click.command()
@selectors
@click.option("--yes", is_flag=True, help="Apply without asking (needed when there is no terminal).")
@click.option("--concurrency", default=8, show_default=True, help="Devices of one wave changed at once.")
@click.option("--revert-in", default=120, show_default=True, help="Seconds before an unconfirmed commit reverts.")
@click.option("--check-timeout", default=60, show_default=True, help="Seconds a wave's state may take to settle.")
@click.option(
    "--rollback-wave-on-failure", "rollback_wave", is_flag=True, help="A failed check rolls back its whole wave."
)
@click.option("--confirm", "confirm_estate", help="The estate's name, required for any estate but lab.")
@click.option("--json", "as_json", is_flag=True, help="The outcome as JSON on stdout, for tooling.")
@click.pass_context
def apply(ctx, lab_id, spec, estate, sites, devices, roles, workers, yes, concurrency, revert_in, check_timeout,
          rollback_wave, confirm_estate, as_json):  # fmt: skip
    """Apply the intent: province core first, then cities, then counties, each wave checked.

    \b
    jinbao config apply --lab jb1a2b
    jinbao config apply --targets ssh:prod.yml --estate province --confirm province --yes
    """
    source = source_of(lab_id, spec)
    intent = estate_for(ctx, source, estate)
    name = load_estate(intent).name  # checked before any target is looked up
    if name != "lab" and confirm_estate != name:
        raise click.UsageError(f"applying to estate {name!r} needs --confirm {name}")
    if check_timeout + 10 > revert_in:
        raise click.UsageError("--revert-in must exceed --check-timeout by at least 10 s")
    if not yes and not sys.stdin.isatty():
        raise click.UsageError("no terminal to ask on: pass --yes to apply without asking")
    chosen = select(source, intent, sites, devices, roles)
    plans = run(plan_device, chosen, workers, "plan", as_json)
    if not as_json:
        report(plans, "plan", (CHANGE, UNCHANGED, "unreachable", NOT_MANAGED), False)
    changed = [h for h, r in plans.results.items() if not r.failed and r.data.get("status") == CHANGE]
    if not changed:
        if as_json:
            click.echo(json.dumps({"id": None, "summary": summary(plans)}, indent=2))
        else:
            out.print("nothing to apply")
        finish(plans)
    order = waves(chosen.estate, changed)
    if not as_json:
        out.print("waves: " + "  →  ".join(f"{w} ({len(h)})" for w, h in order))
    if not yes and not click.confirm(f"apply to {len(changed)} device(s) of estate {name}?"):
        err.print("nothing was changed")
        sys.exit(1)
    change = changelog.new_id()
    base = {"id": change, "who": changelog.who(), "estate": name, "source": source}
    selection = {"sites": list(sites), "devices": list(devices), "roles": list(roles)}
    try:
        changelog.append({**base, "event": "started", "selection": selection,
                          "devices": {h: plans.results[h].diff for h in sorted(changed)}})  # fmt: skip
    except OSError as e:
        raise JinbaoError(f"cannot write the change log {changelog.log_path()}: {e}; nothing was changed") from e
    t0 = time.monotonic()
    opts = Options(revert_in=revert_in, concurrency=concurrency, rollback_wave=rollback_wave, check_s=check_timeout)
    job = Run(chosen.targets, chosen.estate, plans, opts, say=lambda s: None if as_json else err.print(shown(s)))
    agg = job.run()
    by: dict[str, list[str]] = {}
    for h, r in sorted(agg.results.items()):
        by.setdefault(r.data["status"], []).append(h)
    changelog.append({**base, "event": "finished", "seconds": round(time.monotonic() - t0, 1), "summary": by,
                      "devices": {h: {"status": r.data["status"], "why": r.why, "timings": job.timings.get(h, {})}
                                  for h, r in sorted(agg.results.items())}})  # fmt: skip
    if as_json:
        devices = {h: {**r.data, "diff": r.diff, "why": r.why} for h, r in sorted(agg.results.items())}
        click.echo(json.dumps({"id": change, "summary": by, "devices": devices}, indent=2, default=str))
    else:
        out.rule(f"apply {change}")
        for s in (APPLIED, REVERTED, "unreachable", "failed", NOT_STARTED, UNCHANGED, NOT_MANAGED):
            if by.get(s):
                colour = "green" if s == APPLIED else "red" if s in (REVERTED, "failed", "unreachable") else "default"
                out.print(f"[{colour}]{len(by[s]):4d} {s}[/]: {shown(', '.join(by[s]))}")
    print_failures(agg)
    finish(agg)
