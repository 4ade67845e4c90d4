"""`jinbao monitor history | metrics | run | status`: what the polls leave behind, and the daemon."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from jinbao.console import err, out, shown
from jinbao.errors import JinbaoError
from jinbao.names import did_you_mean
from jinbao.target import source_of

from . import charts, daemon, poller
from .history import History, duration
from .samples import METRICS
from .selection import select
from .state import PollState, state_file

DOWN_KEYS = ("unreachable", "if_down")
SEVERITY_ORDER = {"critical": 0, "major": 1, "warning": 2}


def _say(text: str) -> None:
    # emoji off: a source such as `lab:loop:` or a device name must print as written.
    out.print(text, emoji=False)


def _source(lab_id: str | None, spec: str | None) -> str:
    source = source_of(lab_id, spec)
    if not source:
        raise click.UsageError("say which devices: --lab ID or --targets SOURCE:REF")
    return source


def _cycle(
    ctx, lab_id, spec, estate, devices, sites, timeout, retries, deadline, concurrency, engine="fast"
) -> daemon.Cycle:
    """What `monitor poll` selects, as a daemon.Cycle (bad input raises before any contact)."""
    source = _source(lab_id, spec)
    model, todo = select(ctx, source, estate, devices, sites)
    opt = poller.Options(timeout=timeout, retries=retries, deadline=deadline, concurrency=concurrency, engine=engine)
    return daemon.Cycle(todo, source, model, opt)


def _poll_options(f):
    opts = [
        click.option("--lab", "lab_id", help="Poll the nodes of this lab (the same as --targets lab:ID)."),
        click.option("--targets", "spec", help="Where the devices come from, e.g. lab:jb1a2b or estate:province."),
        click.option("--estate", help="The devices' estate (default: lab for a lab, else jinbao --estate)."),
        click.option("--device", "devices", multiple=True, help="Only this device (repeatable)."),
        click.option("--site", "sites", multiple=True, help="Only this site's devices (repeatable)."),
        click.option("--timeout", default=2.0, show_default=True, help="Seconds to wait for each SNMP answer."),
        click.option("--retries", default=1, show_default=True, help="Retries of an unanswered request."),
        click.option("--deadline", default=20.0, show_default=True, help="Seconds one device may take in all."),
        click.option("--concurrency", default=16, show_default=True, help="Devices polled at once."),
        click.option(
            "--engine", type=click.Choice(poller.ENGINES), default="fast", show_default=True, help=poller.ENGINE_HELP
        ),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


@click.command()
@_poll_options
@click.option("--interval", help="Time between polls (30s, 5m); default: monitoring.interval_s, else 60 s.")
@click.option("--listen", help="Serve Prometheus /metrics on HOST:PORT, e.g. 127.0.0.1:9661.")
@click.option("--polls", "max_polls", type=int, help="Stop after this many polls (default: until SIGTERM).")
@click.pass_context
def run(ctx, interval, listen, max_polls, **sel):
    """The daemon: poll every --interval, keep history and alerts, serve /metrics.

    One daemon per source (a second one refuses, naming the first's pid). SIGTERM or Ctrl-C
    stops it after the poll in flight. A device that does not answer costs only its deadline."""
    cycle = _cycle(ctx, **sel)
    if interval is None:  # the inventory says how often its estate is polled
        m = cycle.estate.monitoring
        interval = f"{m.interval_s if m else 60}s"
    seconds = duration(interval, "--interval")
    if cycle.opt.deadline > seconds:
        raise JinbaoError(
            f"--deadline {cycle.opt.deadline:g} s is longer than --interval {interval}: polls would overlap; "
            "shorten --deadline or lengthen --interval"
        )
    daemon.run(cycle, seconds, listen, max_polls)


@click.command()
@_poll_options
@click.pass_context
def metrics(ctx, **sel):
    """Poll once (history and alerts too) and print /metrics: Prometheus text format 0.0.4."""
    cycle = _cycle(ctx, **sel)
    cycle.run()
    sys.stdout.write(cycle.text)


@click.command()
@click.argument("device")
@click.option("--if", "iface", help="An interface (ifName) of the device; without it, the device's own metrics.")
@click.option("--metric", "metrics_", multiple=True, help=f"Only this metric (repeatable): {', '.join(METRICS)}.")
@click.option("--since", default="6h", show_default=True, help="How far back (e.g. 30m, 6h, 7d).")
@click.option("--width", default=60, show_default=True, help="Sparkline width in characters.")
@click.option("--png", "png_path", type=click.Path(dir_okay=False, path_type=Path), help="Write a PNG plot here.")
@click.option("--json", "as_json", is_flag=True, help="The points and their summary as JSON.")
def history(device, iface, metrics_, since, width, png_path, as_json):
    """A device's (or an interface's) history: sparkline with min/avg/max, a PNG, or JSON.

    The finest tier that reaches back --since is used: raw samples, then 5-minute, then hourly
    averages (with their min and max), per JINBAO_HISTORY_RETENTION."""
    span = duration(since, "--since")
    with History() as h:
        known = h.series()
        devices = sorted({d for d, _, _ in known})
        if device not in devices:
            hint = did_you_mean(device, devices) if devices else "nothing has been polled yet"
            raise JinbaoError(f"no history of {device!r}; {hint}")
        obj = iface or ""
        mine = [(o, m) for d, o, m in known if d == device]
        if iface and not any(o == iface for o, _ in mine):
            objects = sorted({o for o, _ in mine if o})
            raise JinbaoError(f"{device} has no history of interface {iface!r}; {did_you_mean(iface, objects)}")
        wanted = list(metrics_) or [m for o, m in mine if o == obj]
        for m in wanted:
            if (obj, m) not in mine:
                have = sorted({m2 for o, m2 in mine if o == obj})
                raise JinbaoError(f"{device} {iface or ''} has no metric {m!r}; {did_you_mean(m, have)}")
        got = {m: h.query(device, obj, m, span) for m in wanted}
    series = {m: pts for m, (_, pts) in got.items() if pts}
    if as_json:
        doc = {
            "device": device,
            "object": obj,
            "since_s": span,
            "series": {
                m: {
                    "tier_s": tier,
                    "summary": charts.summary(pts) if pts else None,
                    "points": [[p.ts, p.avg, p.min, p.max] for p in pts],
                }
                for m, (tier, pts) in got.items()
            },
        }
        click.echo(json.dumps(doc, indent=1))
    else:
        title = f"{device}{' ' + iface if iface else ''}, last {since}"
        _say(shown(title))
        pad = max(map(len, wanted))
        for m in wanted:
            tier, pts = got[m]
            if not pts:
                _say(f"  {m:<{pad}}  (no samples in the last {since})")
                continue
            s = charts.summary(pts)
            res = "raw" if tier == 0 else f"{tier // 60} min avg" if tier < 3600 else f"{tier // 3600} h avg"
            nums = "  ".join(f"{k} {charts.human(s[k], m)}" for k in ("min", "avg", "max", "last"))
            _say(f"  {m:<{pad}}  {charts.sparkline(charts.resample(pts, width))}  {nums}  ({len(pts)} {res})")
    if png_path:
        if not series:
            raise JinbaoError(f"nothing to plot: no samples of {device} in the last {since}")
        charts.png(png_path, f"{device}{' ' + iface if iface else ''}", series)
        err.print(f"wrote {png_path}")


@click.command()
@click.option("--lab", "lab_id", help="The lab whose polls to report (the same as --targets lab:ID).")
@click.option("--targets", "spec", help="The source whose polls to report, as given to poll/run.")
@click.option("--json", "as_json", is_flag=True, help="Open alerts and the last poll as JSON.")
def status(lab_id, spec, as_json):
    """What is down and hot now: the open alerts and the last poll. Exit 1 if anything is down
    (a device unreachable or an interface down), 0 if not."""
    source = _source(lab_id, spec)
    path = state_file(source)
    if not path.is_file():
        raise JinbaoError(f"{source} has never been polled here ({path} is missing): run jinbao monitor poll or run")
    state = PollState(path)
    with History() as h:
        last = (h.polls(source) or [None])[0]
    active = sorted(state.alerts.values(), key=lambda a: (SEVERITY_ORDER.get(a["severity"], 9), a["device"], a["key"]))
    down = [a for a in active if a["key"].split(":")[0] in DOWN_KEYS]
    pid = daemon.holder(source)
    if as_json:
        doc = {"source": source, "daemon_pid": pid, "last_poll": last, "down": down, "alerts": active}
        click.echo(json.dumps(doc, ensure_ascii=False, indent=1))
    else:
        if last:
            age = time.time() - last["at"]
            _say(
                f"{shown(source)}: last poll {age:.0f} s ago, {last['devices']} device(s), {last['failed']} failed"
                + (f"; daemon pid {pid}" if pid else "; no daemon running")
            )
        colour = {"critical": "red", "major": "yellow", "warning": "cyan"}
        for a in active:
            c = colour.get(a["severity"], "white")
            what = f"{shown(a['device'])} {shown(a['key'])}: {shown(a['message'])}"
            _say(f"[{c}]{a['severity']:<8}[/] {what} (since {a['since']})")
        _say(f"{len(down)} down, {len(active) - len(down)} other open alert(s)" if active else "nothing open")
    sys.exit(1 if down else 0)
