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
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from jinbao.console import out, shown

from . import alerts, trapmap
from .state import PollState, alert_log


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
