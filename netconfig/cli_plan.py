"""`jinbao config plan` and `jinbao config drift`: the intent against what devices run, read-only.

Both are one task per device over `jinbao.result.run_task`: a device that does not answer is a
failed Result, named in the summary, and never stops the others. Exit codes: 0 every device
answered (changes or not), 1 some did not (named), 2 bad input, before anything is contacted.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from jinbao.console import err, finish, out, print_failures, shown
from jinbao.result import AggregatedResult, Result, run_task
from jinbao.target import estate_for, source_of

from .drift import DRIFTED, IN_SYNC, drift_device
from .plan import CHANGE, NOT_MANAGED, PENDING, UNCHANGED, plan_device
from .selection import Selection, select, selectors

UNREACHABLE = "unreachable"


def status(r: Result) -> str:
    if r.failed:
        return UNREACHABLE if "ConnectionFailed" in (r.exception or "") else "failed"
    return str((r.data or {}).get("status", ""))


def summary(agg: AggregatedResult) -> dict[str, list[str]]:
    """Device names by status, every status present."""
    by: dict[str, list[str]] = {}
    for host, r in sorted(agg.results.items()):
        by.setdefault(status(r), []).append(host)
    return by


def run(
    task: Callable[..., Result], chosen: Selection, workers: int, label: str, quiet: bool, **kw
) -> AggregatedResult:
    columns = (TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True, disable=quiet) as progress:
        bar = progress.add_task(label, total=len(chosen.targets))
        agg = run_task(
            task,
            chosen.targets,
            name=label,
            workers=workers,
            on_done=lambda _r: progress.advance(bar),
            estate=chosen.estate,
            **kw,
        )
    # A traceback is for debugging, not for the operator's JSON or table: keep the one-line why.
    for h, r in agg.results.items():
        if r.failed:
            agg.results[h] = Result(h, r.task, failed=True, exception=r.exception)
    return agg


def report(agg: AggregatedResult, label: str, order: tuple[str, ...], as_json: bool, note: str = "") -> None:
    by = summary(agg)
    if as_json:
        devices = {
            h: {"status": status(r), "diff": r.diff, "exception": r.exception, **(r.data or {})}
            for h, r in sorted(agg.results.items())
        }
        click.echo(json.dumps({"summary": by, "devices": devices, "note": note}, indent=2, default=str))
    else:
        for host, r in sorted(agg.results.items()):
            if r.diff:
                out.rule(f"[bold]{shown(host)}[/]", align="left")
                for line in r.diff.rstrip("\n").splitlines():
                    out.print(shown(line), soft_wrap=True)
        out.rule(label)
        for name in (*order, *(s for s in by if s not in order)):
            hosts = by.get(name, [])
            colour = "red" if name in (UNREACHABLE, "failed") else "yellow" if name in (CHANGE, DRIFTED) else "default"
            out.print(f"[{colour}]{len(hosts):4d} {name}[/]" + (f": {shown(', '.join(hosts))}" if hosts else ""))
        pending = sorted(h for h, r in agg.results.items() if (r.data or {}).get("pending") and not r.failed)
        if pending:
            out.print(f"[yellow]{len(pending):4d} awaiting confirmation[/]: {shown(', '.join(pending))}")
            out.print(f"     [dim]({PENDING})[/]")
        recorded = {h: r.data["explained"] for h, r in agg.results.items() if (r.data or {}).get("recorded")}
        for h, how in sorted(recorded.items()):
            out.print(f"     [dim]{shown(h)}: explained {shown(how)}[/]")
        if NOT_MANAGED in by:
            out.print("     [dim](not managed: no config driver for the platform, e.g. Linux servers; see docs)[/]")
        if note:
            out.print(f"     [dim]{shown(note)}[/]")
    print_failures(agg)


@click.command()
@selectors
@click.option("--json", "as_json", is_flag=True, help="The plan as JSON on stdout, for tooling.")
@click.pass_context
def plan(ctx, lab_id, spec, estate, sites, devices, roles, workers, as_json):
    """What applying the intent would change, per device. Nothing is changed.

    \b
    jinbao config plan --lab jb1a2b
    jinbao config plan --lab jb1a2b --site hefei --role wan_router --json
    """
    source = source_of(lab_id, spec) or "lab:"
    chosen = select(source, estate_for(ctx, source, estate), sites, devices, roles)
    agg = run(plan_device, chosen, workers, "plan", as_json)
    report(agg, "plan", (CHANGE, UNCHANGED, UNREACHABLE, NOT_MANAGED), as_json)
    finish(agg)


@click.command()
@selectors
@click.option("--json", "as_json", is_flag=True, help="The drift report as JSON on stdout, for tooling.")
@click.pass_context
def drift(ctx, lab_id, spec, estate, sites, devices, roles, workers, as_json):
    """Running configs against the intent: per device, the lines that would remove the drift.

    \b
    jinbao config drift --lab jb1a2b
    jinbao config drift --lab jb1a2b --device prov-wan1 --json
    """
    source = source_of(lab_id, spec) or "lab:"
    chosen = select(source, estate_for(ctx, source, estate), sites, devices, roles)
    agg = run(drift_device, chosen, workers, "drift", as_json)
    note = "a difference is drift when no recorded change explains it; `recorded` names the change that does"
    report(agg, "drift", (DRIFTED, IN_SYNC, UNREACHABLE, NOT_MANAGED), as_json, note)
    finish(agg)
