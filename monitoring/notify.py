"""What the notification receivers (`monitor traps`, `monitor syslog`) share: their record log,
the alert table they change, and the expiry of momentary alerts.

Both change the same alert table as the poller (the state file of the target source), read
afresh for each change, since the poller or the other receiver may have written it since; every
raise and clear goes to the alert log and on to the webhook and syslog (alerts.deliver).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from jinbao.console import err, out, shown
from jinbao.errors import JinbaoError
from jinbao.estate import load_estate
from jinbao.target import estate_for, source_of, targets

from . import alerts, trapmap
from .state import PollState, alert_log


def listener_options(port: int, port_help: str) -> Callable:
    """The options `monitor traps` and `monitor syslog` share: whose senders, where to listen, and
    where alerts go beyond the log."""
    options = [
        click.option("--lab", "lab_id", help="Senders are the nodes of this lab (the same as --targets lab:ID)."),
        click.option(
            "--targets", "spec", help="Where the senders' addresses (and secrets) come from, e.g. lab:jb1a2b."
        ),
        click.option(
            "--estate", help="The estate the senders belong to (default: lab for a lab, else jinbao --estate)."
        ),
        click.option("--listen", default="127.0.0.1", show_default=True, help="Address to listen on."),
        click.option("--port", default=port, show_default=True, help=port_help),
        click.option("--netns", help="Listen inside this network namespace (e.g. the lab's monitoring node)."),
        click.option(
            "--sender",
            "extra",
            multiple=True,
            help="DEVICE=ADDRESS: this device sends from ADDRESS too (NAT, a relay).",
        ),
        click.option("--webhook", help="POST every alert event as JSON here (also JINBAO_ALERT_WEBHOOK)."),
        click.option(
            "--webhook-token",
            help="Bearer token for the webhook: a secret reference (also JINBAO_ALERT_WEBHOOK_TOKEN).",
        ),
        click.option(
            "--syslog",
            help="Send every alert event to this RFC 5424 collector, udp://HOST:PORT or tcp://… "
            "(also JINBAO_ALERT_SYSLOG).",
        ),
    ]

    def wrap(f: Callable) -> Callable:
        for option in reversed(options):
            f = option(f)
        return f

    return wrap


def senders_of(ctx: click.Context, lab_id: str | None, spec: str | None, estate: str | None):
    """A listener's source (None: the estate's own addresses), estate and the source's targets."""
    source = source_of(lab_id, spec)
    model = load_estate(estate_for(ctx, source, estate))
    return source, model, (targets(source) if source else {})


def extra_senders(extra: tuple[str, ...], estate) -> list[tuple[str, str]]:
    """--sender DEVICE=ADDRESS pairs, each naming a device of the estate."""
    out_ = []
    for pair in extra:
        dev, sep, addr = pair.partition("=")
        if not sep or dev not in estate.devices:
            raise JinbaoError(f"--sender {pair!r}: give DEVICE=ADDRESS with a device of estate {estate.name}")
        out_.append((dev, addr))
    return out_


def addresses(estate, found: dict) -> dict[str, str]:
    """Device by the address it sends from: each device of the estate the targets name (the
    target's address), else every device of the estate (its mgmt_ip)."""
    out_: dict[str, str] = {}
    for name, d in sorted(estate.devices.items()):
        t = found.get(name)
        address = t.host if t is not None else (str(d.mgmt_ip) if getattr(d, "mgmt_ip", None) else None)
        if address:
            out_[address] = name
    return out_


class Book:
    """A receiver's outputs: `log` (one JSON object a line per record and per alert event; also
    on stdout with as_json), and the alert table in `state`, whose alerts it marks `source`."""

    def __init__(self, state: Path, log: Path, source: str, as_json: bool, hold: float):
        self.state, self.log, self.source, self.as_json, self.hold = state, log, source, as_json, hold

    def emit(self, doc: dict, line: str) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("a", encoding="utf-8") as f:
            f.write(json.dumps(doc, ensure_ascii=False, default=str) + "\n")
        if self.as_json:
            click.echo(json.dumps(doc, ensure_ascii=False, default=str))
            sys.stdout.flush()
        else:
            out.print(line)

    def events(self, evs: list[dict]) -> None:
        alerts.deliver(evs, alert_log())
        for e in evs:
            colour = "red" if e["event"] == "raise" else "green"
            what = f"{e['severity']} {shown(e['device'])} {shown(e['key'])}: {shown(e['message'])}"
            self.emit({"alert": e}, f"[{colour}]{e['event']}[/] {what}")

    def apply(self, device: str, changes: Callable[[PollState], list[trapmap.Change]], at: str) -> list[dict]:
        """Apply what `changes` (given the fresh state) asks for to device's alerts; the events."""
        st = PollState(self.state)
        evs = trapmap.apply(device, changes(st), st.alerts, at, self.source)
        if evs:
            st.save()
            self.events(evs)
        return evs

    def expire(self) -> None:
        """Clear this receiver's momentary alerts (trapmap.MOMENTARY) raised `hold` seconds ago."""
        st = PollState(self.state)
        now = datetime.now(UTC)
        old = [
            k
            for k, a in st.alerts.items()
            if a.get("source") == self.source
            and a["key"] in trapmap.MOMENTARY
            and datetime.fromisoformat(a["since"]) + timedelta(seconds=self.hold) <= now
        ]
        if not old:
            return
        at = now.isoformat(timespec="seconds")
        evs = [{"at": at, "event": "clear", **st.alerts.pop(k)} for k in old]
        st.save()
        self.events(evs)


async def serve(stop: asyncio.Event, tick: Callable[[], None], every: float) -> None:
    """Run until stop is set, calling tick (momentary alert expiry) every `every` seconds."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
        tick()


Opened = tuple[Callable[[], None], str]  # how to close the listener, and what it listens on


def run_until_stopped(opened: Callable[[], Awaitable[Opened]], book: Book, stop: asyncio.Event, dispatcher) -> None:
    """Listen until SIGINT, SIGTERM or `stop` (--count), expiring momentary alerts meanwhile,
    then deliver what is still queued. `opened` binds the listener inside the loop (a transport
    binds to the running loop) and says what it listens on."""

    async def main() -> None:
        close, said = await opened()
        err.print(said)
        sys.stderr.flush()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await serve(stop, book.expire, min(book.hold, 5.0))
        finally:
            close()

    try:
        asyncio.run(main())
    finally:
        if dispatcher is not None:
            dispatcher.flush(15.0)
