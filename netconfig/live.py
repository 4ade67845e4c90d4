"""The live per-device table of an apply or rollback: each device's wave and where it is.

On a terminal it redraws in place (rich's Live) on stderr, so `--json` on stdout stays clean; off
a terminal (CI, a cron log) each change of a device's status is one line, so the log reads as
the run went.
"""

from __future__ import annotations

import threading
import time

from rich.live import Live
from rich.table import Table

from jinbao.console import err, shown

COLOURS = {"applied": "green", "unchanged": "dim", "reverted": "red", "failed": "red", "unreachable": "red"}


class LiveTable:
    def __init__(self, hosts: dict[str, str], enabled: bool = True):
        """hosts: device → its wave."""
        self.waves = hosts
        self.status = dict.fromkeys(hosts, "waiting")
        self.since = dict.fromkeys(hosts, time.monotonic())
        self.enabled = enabled
        self._lock = threading.Lock()
        self._live: Live | None = None

    def _table(self) -> Table:
        t = Table(box=None, pad_edge=False, header_style="bold")
        for col in ("device", "wave", "status", "for"):
            t.add_column(col)
        now = time.monotonic()
        for h in sorted(self.status, key=lambda h: (list(self.waves.values()).index(self.waves[h]), h)):
            s = self.status[h]
            colour = COLOURS.get(s, "yellow")
            t.add_row(shown(h), shown(self.waves[h]), f"[{colour}]{shown(s)}[/]", f"{now - self.since[h]:.0f}s")
        return t

    def update(self, host: str, status: str) -> None:
        if host not in self.status or not self.enabled:
            return
        with self._lock:
            self.status[host], self.since[host] = status, time.monotonic()
            if self._live is not None:
                self._live.update(self._table())
            else:
                err.print(f"  {shown(host)}: {shown(status)}")

    def __enter__(self) -> LiveTable:
        if self.enabled and err.is_terminal:
            self._live = Live(self._table(), console=err, refresh_per_second=4, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)
            self._live = None
