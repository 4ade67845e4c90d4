"""Apply's change log: one JSON line per event, appended and fsynced, never rewritten.

Each apply writes a `started` line (who, when, estate, selection, the redacted per-device plan)
before it touches any device, and a `finished` line with the same id (per-device result and
timings) at the end. A change with a `started` line and no `finished` one is in progress, or
its jinbao died mid-way: `open_change()` finds it, and drift reports the difference as that
change rather than as drift (`netconfig.drift.recorded_change`).

Where: `$JINBAO_STATE_DIR/changes.jsonl`, else `${XDG_STATE_HOME:-~/.local/state}/jinbao/changes.jsonl`
(the folder backups use).
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def state_dir() -> Path:
    """jinbao's state folder, as `netconfig.backup.default_dir` chooses it."""
    state = os.environ.get("JINBAO_STATE_DIR")
    return Path(state) if state else Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local/state") / "jinbao"


def log_path() -> Path:
    return state_dir() / "changes.jsonl"


def who() -> str:
    """The person behind the run: the sudoer when run with sudo, else the login user."""
    return os.environ.get("SUDO_USER") or os.environ.get("USER") or "unknown"


def new_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + secrets.token_hex(3)


def append(record: dict[str, Any], path: Path | None = None) -> None:
    """Append one record as a JSON line and fsync it: on disk before any device is touched."""
    path = path or log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"at": datetime.now(UTC).isoformat(timespec="seconds"), **record}, default=str) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # two applies at once never interleave a line
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def records(path: Path | None = None) -> list[dict[str, Any]]:
    """Every record, oldest first; a torn last line (a crash mid-write) is skipped."""
    path = path or log_path()
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def open_change(host: str, path: Path | None = None) -> str | None:
    """The id of the latest change that started on host and has not finished, or None."""
    started: dict[str, dict] = {}
    for r in records(path):
        if r.get("event") == "started":
            started[r["id"]] = r
        elif r.get("event") == "finished":
            started.pop(r.get("id", ""), None)
    for r in reversed(list(started.values())):
        if host in (r.get("devices") or {}):
            return str(r["id"])
    return None
