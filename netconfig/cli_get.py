"""`jinbao config get`: read devices through their drivers, many at once.

Each device is one task of `jinbao.result.run_task`, so one device that does not answer is a
failed Result, named in the summary, and never stops the others. Exit codes are the CLI's: 0 all
answered, 1 some failed, 2 bad input (an unknown device or site), before anything is contacted.
"""

from __future__ import annotations

import difflib
import json

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from jinbao.console import err, finish, out, print_failures, shown
from jinbao.errors import JinbaoError
from jinbao.redact import redact
from jinbao.result import AggregatedResult, Result
from jinbao.target import Target, targets

from .drivers import driver_for, session
from .drivers.base import DriverError
from .drivers.base import destination as checked_destination

WHAT = ("facts", "interfaces", "ospf", "config", "routes")


def read(target: Target, what: str, destination: str | None = None) -> Result:
    """One device's getter, as a Result (the task run_task gives each target)."""
    with session(driver_for(target)) as d:
        if what == "facts":
            data = d.get_facts()
        elif what == "interfaces":
            data = d.get_interfaces()
        elif what == "ospf":
            data = d.get_ospf_neighbors()
        elif what == "config":
            # Shown redacted: a running config holds the device's keys and password hashes.
            data = redact(d.get_config("running")["running"])
        else:
            data = d.get_route_to(destination or "0.0.0.0")
    return Result(target.name, f"get {what}", data=data)


def _did_you_mean(unknown: list[str], found: dict) -> str:
    """A misspelt reading (`ospff`) lands among the device names; say what was probably meant."""
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, [*WHAT, *found], n=1, cutoff=0.75)
        if close:
            kind = "reading" if close[0] in WHAT else "device"
            hints.append(f"{name!r}: did you mean the {kind} {close[0]!r}?")
    return f" ({'; '.join(hints)})" if hints else ""


def _select(source: str, devices: tuple[str, ...], all_: bool, site: str | None, estate: str) -> list[Target]:
    found = targets(source)
    if site:
        from jinbao.estate import load_estate

        model = load_estate(estate)
        if site not in model.sites:
            raise JinbaoError(f"estate {estate!r} has no site {site!r}; it has: {', '.join(sorted(model.sites))}")
        devices = (*devices, *(n for n, d in model.devices.items() if d.site == site and n in found))
    unknown = [d for d in devices if d not in found]
    if unknown:
        raise JinbaoError(
            f"{source} has no device {', '.join(map(repr, unknown))}{_did_you_mean(unknown, found)}; "
            f"it has: {', '.join(sorted(found))}"
        )
    if all_:
        return list(found.values())
    if not devices:
        raise JinbaoError("name at least one DEVICE, or use --all or --site")
    return [found[d] for d in dict.fromkeys(devices)]


def _summary(what: str, r: Result) -> str:
    d = r.data
    if what == "facts":
        return f"{d['vendor']} · {d['os_version']} · up {d['uptime'] / 86400:.1f} d · {len(d['interface_list'])} ifs"
    if what == "interfaces":
        up = sum(1 for i in d.values() if i["is_up"])
        return f"{up}/{len(d)} up: " + ", ".join(
            f"{n} {' '.join(i['ipv4'])}" for n, i in sorted(d.items()) if i["ipv4"]
        )
    if what == "ospf":
        return ", ".join(f"{n['router_id']}@{n['interface']} {n['state']}" for n in d) or "no neighbours"
    if what == "config":
        return f"{len(d.splitlines())} lines"
    return "; ".join(
        f"{p} via {e['next_hop'] or 'connected'} {e['outgoing_interface']} ({e['protocol']})"
        for p, es in d.items()
        for e in es
    )


def _table(agg: AggregatedResult, what: str) -> Table:
    t = Table(title=f"config get {what}", show_lines=False)
    t.add_column("device", style="bold")
    t.add_column("", width=1)
    t.add_column(what)
    for host, r in sorted(agg.results.items()):
        if r.failed:
            t.add_row(shown(host), "[red]✗[/]", f"[red]{shown(r.why)}[/]")
        else:
            t.add_row(shown(host), "[green]✓[/]", shown(_summary(what, r)))
    return t


@click.command()
@click.argument("args", nargs=-1)
@click.option("--lab", "lab_id", help="Read the nodes of this lab (the same as --targets lab:ID).")
@click.option("--targets", "source", help="Where the devices come from, e.g. lab:jb1a2b.")
@click.option("--all", "all_", is_flag=True, help="Every device of the source.")
@click.option("--site", help="Every device of this site (looked up in --estate).")
@click.option("--estate", default="lab", show_default=True, help="Estate that --site refers to.")
@click.option("--to", "destination", help="For routes: the destination address (default 0.0.0.0).")
@click.option("--workers", default=16, show_default=True, help="Devices read at once.")
@click.option("--json", "as_json", is_flag=True, help="Every result as JSON on stdout.")
def get(args, lab_id, source, all_, site, estate, destination, workers, as_json):
    """Read DEVICE… : facts, interfaces, ospf, config or routes (default facts).

    \b
    jinbao config get --lab jb1a2b prov-wan1 chuzhou-wan1 ospf
    jinbao config get --lab jb1a2b --all facts --json
    """
    what = "facts"
    if args and args[-1] in WHAT:
        what, args = args[-1], args[:-1]
    if lab_id and source:
        raise click.UsageError("give --lab or --targets, not both")
    source = source or f"lab:{lab_id or ''}"
    if destination is not None:  # bad input is refused before any device is contacted
        try:
            destination = checked_destination(destination)
        except DriverError as e:
            raise click.BadParameter(str(e), param_hint="--to") from None
    chosen = _select(source, tuple(args), all_, site, estate)

    columns = (TextColumn("[bold]get {task.fields[what]}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True, disable=as_json) as progress:
        bar = progress.add_task("get", total=len(chosen), what=what)
        agg = _run(chosen, what, destination, workers, lambda _r: progress.advance(bar))
    if as_json:
        click.echo(json.dumps({h: r.as_dict() for h, r in sorted(agg.results.items())}, indent=2, default=str))
    elif len(chosen) == 1 and not agg.failed and what == "config":
        click.echo(next(iter(agg.results.values())).data, nl=False)
    else:
        out.print(_table(agg, what))
    print_failures(agg)
    finish(agg)


def _run(chosen, what, destination, workers, on_done) -> AggregatedResult:
    from jinbao.result import run_task

    agg = run_task(
        read, chosen, name=f"get {what}", workers=workers, on_done=on_done, what=what, destination=destination
    )
    # A traceback is for debugging, not for the operator's JSON or table: keep the one-line why.
    for h, r in agg.results.items():
        if r.failed:
            agg.results[h] = Result(h, r.task, failed=True, exception=r.exception)
    return agg
