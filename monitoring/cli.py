"""`jinbao monitor …`: poll devices over SNMP per their class's profile, and alert on what is wrong.

Exit codes are the CLI's: 0 every device answered, 1 some could not be polled (each is named,
with why), 2 bad input (an unknown device, a missing secret) before any device is contacted.
"""

from __future__ import annotations

import json

import click
from rich.table import Table

from jinbao.console import err, finish, out, print_failures, shown
from jinbao.result import AggregatedResult, Result
from jinbao.target import source_of

from . import alerts, poller, thresholds
from .cli_store import history, metrics, run, status
from .history import History
from .selection import select
from .state import PollState, alert_log, state_file


@click.group()
def cli():
    """Monitoring: poll devices over SNMP per their class's profile, raise and clear alerts."""


cli.name = "monitor"
for _command in (history, metrics, run, status):
    cli.add_command(_command)


def _fmt(x: float | None, unit: str = "%") -> str:
    return "—" if x is None else f"{x:.0f}{unit}"


def _uptime(s: float | None) -> str:
    if s is None:
        return "—"
    return f"{s / 86400:.1f} d" if s >= 86400 else f"{s / 3600:.1f} h" if s >= 3600 else f"{s:.0f} s"


def _extra(d: dict) -> str:
    parts = []
    if d.get("ospf"):
        o = d["ospf"]
        full = sum(1 for n in o["neighbours"] if n["state"] == "full")
        parts.append(f"ospf {full}/{len(o['neighbours'])} full" if o["exposed"] else "ospf not exposed")
    if d.get("ups"):
        u = d["ups"]
        src = "ON BATTERY" if u["on_battery"] else u["output_source"]
        parts.append(f"ups {src}, battery {u['battery']}, {_fmt(u['runtime_min'], ' min')}, load {_fmt(u['load_pct'])}")
    if d.get("sensors"):
        s = d["sensors"]
        parts.append(f"{_fmt(s['temperature_c'], ' °C')}, {_fmt(s['humidity_pct'], ' %RH')}")
    if d.get("system", {}).get("rebooted"):
        parts.append("REBOOTED")
    return "; ".join(parts)


def _row(r: Result) -> list[str]:
    d = r.data or {}
    if r.failed:
        return [shown(r.host), d.get("class", "?"), f"[red]{d.get('status', 'error')}[/]", "", "", "", "", "", "", ""]
    ifs = d.get("interfaces", [])
    watched = [i for i in ifs if i["admin"] == "up"]
    up = sum(1 for i in watched if i["oper"] == "up")
    utils = [i["utilisation_pct"] for i in ifs if i.get("utilisation_pct") is not None]
    h = d.get("health") or {}
    disks = [x["used_pct"] for x in h.get("disks", []) if x.get("used_pct") is not None]
    return [
        shown(r.host),
        d["class"],
        "[green]ok[/]",
        _uptime(d.get("system", {}).get("uptime_s")),
        f"{up}/{len(watched)}" if ifs else "—",
        _fmt(max(utils)) if utils else "—",
        _fmt(h.get("cpu_pct")),
        _fmt(h.get("memory_pct")),
        _fmt(max(disks)) if disks else "—",
        shown(_extra(d)),
    ]


def _table(agg: AggregatedResult, events: list[dict]) -> None:
    t = Table(title=f"SNMP poll of {len(agg.results)} device(s)", title_justify="left")
    for c in ("device", "class", "status", "uptime", "ifs up", "max util", "cpu", "mem", "disk", "more"):
        t.add_column(c)
    for _, r in sorted(agg.results.items()):
        t.add_row(*_row(r))
    out.print(t)
    for e in events:
        colour = "red" if e["event"] == "raise" else "green"
        out.print(
            f"[{colour}]{e['event']}[/] {e['severity']} {shown(e['device'])} {shown(e['key'])}: {shown(e['message'])}"
        )


@cli.command()
@click.option("--lab", "lab_id", help="Poll the nodes of this lab (the same as --targets lab:ID).")
@click.option("--targets", "spec", help="Where the devices come from, e.g. lab:jb1a2b.")
@click.option("--estate", help="The estate the devices belong to (default: lab for a lab, else jinbao --estate).")
@click.option("--device", "devices", multiple=True, help="Only this device (repeatable).")
@click.option("--site", "sites", multiple=True, help="Only this site's devices (repeatable).")
@click.option("--timeout", default=2.0, show_default=True, help="Seconds to wait for each SNMP answer.")
@click.option("--retries", default=1, show_default=True, help="Retries of an unanswered request.")
@click.option("--deadline", default=20.0, show_default=True, help="Seconds one device may take in all.")
@click.option("--concurrency", default=16, show_default=True, help="Devices polled at once.")
@click.option("--engine", type=click.Choice(poller.ENGINES), default="fast", show_default=True, help=poller.ENGINE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Every result and alert event as JSON on stdout.")
@click.pass_context
def poll(ctx, lab_id, spec, estate, devices, sites, timeout, retries, deadline, concurrency, engine, as_json):
    """Poll every device once: status, uptime, interfaces, load, and what its class adds.

    Rates (bps, utilisation, error counts) need the previous poll's counters, kept in the state
    folder, so the first poll of a device shows them as —. Alerts raised or cleared by this
    poll are printed and appended to the alert log."""
    source = source_of(lab_id, spec) or "lab:"
    model, todo = select(ctx, source, estate, devices, sites)
    state = PollState(state_file(source))
    opt = poller.Options(timeout=timeout, retries=retries, deadline=deadline, concurrency=concurrency, engine=engine)
    agg = poller.poll(todo, state, opt)
    events = alerts.evaluate(agg, thresholds.for_jobs(model, todo), state.alerts)
    state.save()
    alerts.deliver(events, alert_log())
    with History() as h:  # every poll feeds the history, and rolls it up, daemon or not
        h.record(agg, source)
        h.maintain()
    if as_json:
        doc = {
            "source": source,
            "results": {h: r.as_dict() for h, r in sorted(agg.results.items())},
            "alerts": events,
            "active": sorted(state.alerts.values(), key=lambda a: (a["device"], a["key"])),
        }
        click.echo(json.dumps(doc, ensure_ascii=False, indent=1, default=str))
    else:
        _table(agg, events)
    if agg.failed:
        print_failures(agg)
        err.print(f"[red]{len(agg.failed_hosts)} of {len(agg.results)} device(s) could not be polled.[/]")
    finish(agg)


from .cli_posture import posture_cmd  # noqa: E402  (registered after the group exists)
from .cli_sim import sim_cmd  # noqa: E402
from .cli_syslog import syslog_cmd  # noqa: E402  (the syslog receiver lives in its own module)
from .cli_traps import traps  # noqa: E402  (the trap receiver lives in its own module)

cli.add_command(traps)
cli.add_command(syslog_cmd)
cli.add_command(posture_cmd)
cli.add_command(sim_cmd)
