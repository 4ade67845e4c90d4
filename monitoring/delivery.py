"""Alert delivery beyond the log: a webhook (HTTP POST of JSON) and syslog (RFC 5424, UDP or TCP).

Every raise and clear, from the poller or from a trap, goes through alerts.deliver(), which writes
the JSONL log and hands the events to the Dispatcher configured here. Targets come from the
command line or the environment, so every command that raises alerts delivers them the same way:

    JINBAO_ALERT_WEBHOOK=https://noc.example/hook        (POST, Content-Type: application/json)
    JINBAO_ALERT_WEBHOOK_TOKEN=env:NOC_TOKEN              (a secret *reference*; sent as Bearer)
    JINBAO_ALERT_SYSLOG=udp://10.91.0.20:514              (or tcp://host:port)

Delivery runs on one background thread with a bounded queue: a webhook that is down costs that
thread its timeouts and retries, never the poller or the trap receiver. An event that cannot be
delivered after its retries (or that finds the queue full) is appended to the dead-letter file
`alerts-undelivered.jsonl` beside the alert log, with the target (scheme://host[:port] only) and
why, and nothing is lost silently. The token is resolved when the dispatcher starts and never
written anywhere.

Each run's targets and each successful delivery are recorded (deliveryrecord.py, the evidence
`monitor posture` shows an auditor), with the target as scheme://host[:port] only.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import queue
import socket
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from jinbao.errors import JinbaoError
from jinbao.secrets import resolve

from . import deliveryrecord

# RFC 5424 severities by alert severity; a clear is a notice (5).
SYSLOG_SEVERITY = {"critical": 2, "major": 3, "warning": 4, "minor": 4, "info": 6}
FACILITY_LOCAL0 = 16
APP_NAME = "jinbao"
ENTERPRISE = "32473"  # RFC 5612's documentation enterprise number, for the structured data id


@dataclass(frozen=True)
class Targets:
    """Where alerts go besides the log. The token is a reference, resolved by Dispatcher."""

    webhook: str | None = None
    webhook_token_ref: str | None = None
    syslog: str | None = None  # udp://host:port or tcp://host:port
    timeout: float = 3.0
    retries: int = 2
    hostname: str = field(default_factory=socket.gethostname)

    @classmethod
    def from_env(cls, **given: str | None) -> Targets:
        """Targets from explicit values (a CLI option), else from JINBAO_ALERT_* variables."""
        env = os.environ.get
        return cls(
            webhook=given.get("webhook") or env("JINBAO_ALERT_WEBHOOK") or None,
            webhook_token_ref=given.get("webhook_token_ref") or env("JINBAO_ALERT_WEBHOOK_TOKEN") or None,
            syslog=given.get("syslog") or env("JINBAO_ALERT_SYSLOG") or None,
        )

    def check(self) -> None:
        """Bad input before anything is sent: a URL or collector that cannot be used (exit 2)."""
        if self.webhook and urlsplit(self.webhook).scheme not in ("http", "https"):
            raise JinbaoError(f"alert webhook {self.webhook!r}: use an http:// or https:// URL")
        if self.webhook_token_ref and not self.webhook:
            raise JinbaoError("an alert webhook token was given without a webhook URL")
        if self.syslog:
            syslog_address(self.syslog)


def syslog_address(spec: str) -> tuple[str, str, int]:
    """('udp'|'tcp', host, port) of a collector spec such as udp://10.91.0.20:514."""
    u = urlsplit(spec if "://" in spec else f"udp://{spec}")
    if u.scheme not in ("udp", "tcp") or not u.hostname:
        raise JinbaoError(f"syslog collector {spec!r}: use udp://HOST[:PORT] or tcp://HOST[:PORT]")
    return u.scheme, u.hostname, u.port or 514


def rfc5424(event: dict, hostname: str) -> bytes:
    """One alert event as an RFC 5424 message: PRI, version 1, UTC time, host, app, msgid, SD, MSG.

    The MSGID says raise or clear; the structured data carries the alert's identity, so a
    collector can deduplicate without parsing the free text."""
    sev = 5 if event.get("event") == "clear" else SYSLOG_SEVERITY.get(str(event.get("severity")), 4)
    pri = FACILITY_LOCAL0 * 8 + sev
    ts = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    params = {k: event.get(k) for k in ("device", "key", "severity", "source") if event.get(k) is not None}
    sd = "[alert@" + ENTERPRISE + "".join(f' {k}="{_sd_escape(str(v))}"' for k, v in params.items()) + "]"
    msg = f"{event.get('event', '?')} {event.get('device', '?')} {event.get('key', '?')}: {event.get('message', '')}"
    header = f"<{pri}>1 {ts} {_token(hostname)} {APP_NAME} {os.getpid()} {event.get('event', '-')} {sd} "
    return header.encode("utf-8") + b"\xef\xbb\xbf" + msg.encode("utf-8")  # BOM: MSG is UTF-8


def _sd_escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def _token(v: str) -> str:
    # HOSTNAME is PRINTUSASCII without spaces, at most 255; anything else becomes the nil value.
    v = "".join(c for c in v if 33 <= ord(c) <= 126)[:255]
    return v or "-"


class Dispatcher:
    """One background sender for the configured targets; send() never waits on the network."""

    def __init__(self, targets: Targets, dead_letter: Path, max_queue: int = 10_000):
        targets.check()
        self.targets = targets
        self.dead_letter = dead_letter
        self._token = resolve(targets.webhook_token_ref) if targets.webhook_token_ref else None
        self._q: queue.Queue[dict | None] = queue.Queue(max_queue)
        self._lock = threading.Lock()
        self._tcp: socket.socket | None = None
        self.sent = {"webhook": 0, "syslog": 0}
        self.failed = {"webhook": 0, "syslog": 0}
        self._thread = threading.Thread(target=self._run, name="alert-delivery", daemon=True)
        self._thread.start()

    def send(self, events: list[dict]) -> None:
        for e in events:
            try:
                self._q.put_nowait(e)
            except queue.Full:
                self._dead(e, "queue", "the delivery queue is full: the targets are slower than the alerts")

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait (bounded) until every queued event was delivered or dead-lettered."""
        end = time.monotonic() + timeout
        while self._q.unfinished_tasks and time.monotonic() < end:
            time.sleep(0.02)
        return not self._q.unfinished_tasks

    def _run(self) -> None:
        while True:
            e = self._q.get()
            try:
                if e is not None:
                    self._one(e)
            except Exception as x:  # a delivery bug must never end the thread and block the queue
                self._dead(e or {}, "delivery", f"{type(x).__name__}: {x}")
            finally:
                self._q.task_done()

    def _one(self, e: dict) -> None:
        t = self.targets
        if t.webhook:
            self._with_retries("webhook", e, lambda: self._post(e))
        if t.syslog:
            self._with_retries("syslog", e, lambda: self._syslog(e))

    def _with_retries(self, kind: str, e: dict, attempt) -> None:
        why = ""
        for n in range(self.targets.retries + 1):
            try:
                attempt()
                self.sent[kind] += 1
                with contextlib.suppress(OSError):  # the record is evidence; delivery matters more
                    deliveryrecord.delivered(self.dead_letter.parent, self.shown(kind))
                return
            except (OSError, urllib.error.URLError, ValueError) as x:
                why = _why(x)
                if n < self.targets.retries:
                    time.sleep(min(0.5 * 2**n, 5.0))
        self.failed[kind] += 1
        self._dead(e, kind, f"{why} (after {self.targets.retries + 1} attempts)")

    def _post(self, e: dict) -> None:
        assert self.targets.webhook
        req = urllib.request.Request(
            self.targets.webhook,
            data=json.dumps(e, ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": "application/json", "User-Agent": "jinbao-alerts"},
            method="POST",
        )
        if self._token:
            req.add_header("Authorization", f"Bearer {self._token}")
        with urllib.request.urlopen(req, timeout=self.targets.timeout) as r:
            if not 200 <= r.status < 300:
                raise ValueError(f"HTTP {r.status}")

    def _syslog(self, e: dict) -> None:
        assert self.targets.syslog
        proto, host, port = syslog_address(self.targets.syslog)
        data = rfc5424(e, self.targets.hostname)
        if proto == "udp":
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.sendto(data, (host, port))
            return
        # RFC 6587 octet counting over one kept connection, reopened after a failure.
        try:
            if self._tcp is None:
                self._tcp = socket.create_connection((host, port), timeout=self.targets.timeout)
            self._tcp.sendall(f"{len(data)} ".encode() + data)
        except OSError:
            if self._tcp is not None:
                self._tcp.close()
            self._tcp = None
            raise

    def shown(self, kind: str) -> str:
        """The target of kind as the delivery record names it (no path, query or token)."""
        return deliveryrecord.shown_target(kind, {"webhook": self.targets.webhook, "syslog": self.targets.syslog}[kind])

    def _dead(self, e: dict, kind: str, why: str) -> None:
        target = {"webhook": self.targets.webhook, "syslog": self.targets.syslog}.get(kind)
        to = deliveryrecord.bare_url(target) if target else None  # a webhook URL's path may hold its secret
        rec: dict[str, object] = {"failed_at": datetime.now(UTC).isoformat(timespec="seconds"), "target": kind}
        rec |= {"to": to, "why": why, "event": e}
        with self._lock:
            self.dead_letter.parent.mkdir(parents=True, exist_ok=True)
            with self.dead_letter.open("a", encoding="utf-8") as f:
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")


def _why(x: Exception) -> str:
    if isinstance(x, urllib.error.HTTPError):
        return f"HTTP {x.code} {x.reason}"
    if isinstance(x, urllib.error.URLError):
        return f"{x.reason}"
    return f"{type(x).__name__}: {x}"


class _Process:
    """The process's one dispatcher, set by the command that runs (or from the environment)."""

    configured = False
    noted = False
    current: Dispatcher | None = None


def configure(targets: Targets | None, dead_letter: Path) -> Dispatcher | None:
    """Set the process's dispatcher (None: log only). Called once by a command before alerts flow."""
    _Process.configured = True
    _Process.current = Dispatcher(targets, dead_letter) if targets and (targets.webhook or targets.syslog) else None
    d = _Process.current
    with contextlib.suppress(OSError):
        deliveryrecord.configured(
            dead_letter.parent, [d.shown(k) for k in ("webhook", "syslog") if getattr(d.targets, k)] if d else []
        )
    return d


def current(dead_letter: Path) -> Dispatcher | None:
    """The dispatcher, made from the environment on first use when no command configured one."""
    if not _Process.configured:
        d = configure(Targets.from_env(), dead_letter)
        if d is not None:
            # A one-shot command (monitor poll) waits, bounded, for its alerts to leave.
            atexit.register(d.flush, 15.0)
    return _Process.current


def note(dead_letter: Path) -> None:
    """Record the environment's targets for a run that raised nothing (so started no dispatcher):
    a quiet poll still shows the auditor where its alerts would have gone."""
    if _Process.configured or _Process.noted:
        return
    _Process.noted = True
    t = Targets.from_env()
    names = [deliveryrecord.shown_target(k, v) for k, v in (("webhook", t.webhook), ("syslog", t.syslog)) if v]
    with contextlib.suppress(OSError):
        deliveryrecord.configured(dead_letter.parent, names)
