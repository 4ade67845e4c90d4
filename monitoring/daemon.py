"""`jinbao monitor run`: poll at an interval, keep the history and the alerts, serve /metrics.

One poll cycle is what `monitor poll` does (poll, alerts, state) plus the history and the
exposition; the daemon repeats it. What it promises:
- one daemon per source: a lock file (`<source>.lock`, flock, holding its pid) makes a second
  one refuse, naming the first's pid; the lock dies with the process, so a killed daemon never
  leaves a stale lock behind;
- a dead, slow or garbage-answering agent costs only its own deadline (the poller's isolation),
  and a cycle that fails as a whole (a full disk, a bug) is logged and the next one runs;
- SIGTERM or SIGINT ends it after the poll in flight (at most one device deadline), with the
  state saved and the HTTP server shut down; it exits 0.
"""

from __future__ import annotations

import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from jinbao.errors import JinbaoError
from jinbao.model import Estate
from jinbao.result import AggregatedResult
from jinbao.state import exclusive, holder_pid
from jinbao.state import holder as lock_holder

from . import alerts, exposition, poller, thresholds
from .history import History
from .state import PollState, alert_log, state_file


def lock_file(source: str) -> Path:
    return state_file(source).with_suffix(".lock")


def holder(source: str) -> int | None:
    """The pid of the daemon running on source, or None."""
    return holder_pid(lock_holder(lock_file(source)))


def only_one(source: str):
    """Hold the source's lock for the daemon's life; refuse if another process holds it."""
    path = lock_file(source)
    return exclusive(
        path,
        f"another `jinbao monitor run` ({{holder}}) is already polling {source} (lock {path}); "
        "stop it first (kill -TERM its pid) or poll another source",
    )


@dataclass
class Cycle:
    """One poll of a source and everything that follows from it."""

    todo: list[poller.Job]
    source: str
    estate: Estate
    opt: poller.Options
    history: Path | None = None
    polls: int = 0
    text: str = ""
    devices: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        state = PollState(state_file(self.source))
        self.devices = {j.device.name: j.device for j in self.todo}
        self.text = exposition.render(None, state.devices, state.alerts, self.devices, None, 0)

    def run(self) -> tuple[AggregatedResult, list[dict]]:
        # Read afresh each cycle: a `monitor poll` in between may have saved alerts or counters.
        state = PollState(state_file(self.source))
        agg = poller.poll(self.todo, state, self.opt)
        events = alerts.evaluate(agg, thresholds.for_jobs(self.estate, self.todo), state.alerts)
        state.save()
        alerts.deliver(events, alert_log())
        with History(self.history) as h:
            h.record(agg, self.source)
            h.maintain()
        self.polls += 1
        self.text = exposition.render(agg, state.devices, state.alerts, self.devices, time.time(), self.polls)
        return agg, events


def serve(listen: str, page: Callable[[], str]) -> ThreadingHTTPServer:
    """An HTTP server on HOST:PORT answering GET /metrics with page(), in a daemon thread."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        raise JinbaoError(f"--listen {listen!r}: give HOST:PORT, e.g. 127.0.0.1:9661")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] != "/metrics":
                self.send_error(404, "jinbao serves /metrics only")
                return
            body = page().encode()
            self.send_response(200)
            self.send_header("Content-Type", exposition.CONTENT_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:  # scrapes every 15 s would drown the daemon's own log
            pass

    class Server(ThreadingHTTPServer):
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET  # [::1]:9661

    try:
        server = Server((host.strip("[]") or "127.0.0.1", int(port)), Handler)
    except OSError as e:
        raise JinbaoError(f"--listen {listen}: cannot listen there ({e.strerror}); pick a free port") from None
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server


def run(
    cycle: Cycle,
    interval: float,
    listen: str | None = None,
    max_polls: int | None = None,
    log: Callable[[str], None] = lambda m: print(m, file=sys.stderr, flush=True),
) -> int:
    """Poll every `interval` seconds until SIGTERM/SIGINT (or max_polls); returns polls made."""
    stop = threading.Event()

    def on_signal(signum, _frame) -> None:
        log(f"monitor run: {signal.Signals(signum).name}, stopping after the poll in flight")
        stop.set()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    server = None
    try:
        with only_one(cycle.source):
            if listen:
                server = serve(listen, lambda: cycle.text)
                log(f"monitor run: serving http://{listen}/metrics (port {server.server_address[1]})")
            log(f"monitor run: polling {len(cycle.todo)} device(s) of {cycle.source} every {interval:g} s")
            while not stop.is_set():
                started = time.monotonic()
                try:
                    agg, events = cycle.run()
                    log(
                        f"monitor run: poll {cycle.polls}: {len(agg.results)} device(s), "
                        f"{len(agg.failed_hosts)} failed, {time.monotonic() - started:.1f} s"
                    )
                    for e in events:
                        log(f"monitor run: {e['event']} {e['severity']} {e['device']} {e['key']}: {e['message']}")
                except Exception as e:
                    # One bad cycle (a full disk, a locked database past its timeout) is logged;
                    # the next one may well succeed, and the daemon is what watches the estate.
                    log(f"monitor run: poll failed: {type(e).__name__}: {e}\n{traceback.format_exc(limit=4)}")
                if max_polls is not None and cycle.polls >= max_polls:
                    break
                stop.wait(max(0.0, interval - (time.monotonic() - started)))
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        for s, h in old.items():
            signal.signal(s, h)
    log(f"monitor run: stopped after {cycle.polls} poll(s)")
    return cycle.polls
