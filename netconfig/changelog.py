"""Apply's change log: one JSON line per event, appended and fsynced, never rewritten.

Events of one change, all with its id:
- `started`: who, when, estate, selection, kind (apply or rollback, and of which change), the
  revert window, and the redacted per-device plan; written before any device is touched.
- `before`: one per device, just before its commit: its running config, redacted (secrets as
  `<secret REF>` markers, which `config rollback` resolves again on the way back in).
- `after`: one per confirmed device: the digest of its redacted running config once confirmed, so
  drift can tell "this is what change X left" from a difference nobody recorded.
- `finished`: per-device result and timings.

A change with no `finished` line is in progress, or its jinbao died mid-way. It stays open for
its revert window after its last event: by then every commit of it that was not confirmed has
been reverted by the device's own timer. Later, the next apply writes an `abandoned` line for it
(`close_abandoned`), so the log says it ended and how; the next plan says what each device runs.

Where: `$JINBAO_STATE_DIR/changes.jsonl`, else `${XDG_STATE_HOME:-~/.local/state}/jinbao/changes.jsonl`
(the folder backups use).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from jinbao import state
from jinbao.errors import JinbaoError
from jinbao.state import safe_name, state_dir, who  # noqa: F401  (who: the change log's author field)


class ChangeInProgress(JinbaoError):
    """Another apply holds the source; nothing was contacted."""


def log_path() -> Path:
    return state_dir() / "changes.jsonl"


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


# After a change's revert window, allow this long for a timer that fired to finish reverting.
GRACE_S = 60


def digest(config: str) -> str:
    """What `after` records of a config: enough to recognise it, nothing to read back."""
    return hashlib.sha256(config.encode()).hexdigest()[:16]


def _when(r: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(r["at"])


def unfinished(path: Path | None = None, now: datetime | None = None) -> tuple[list[dict], list[dict]]:
    """(open, abandoned) `started` records with no `finished` or `abandoned` line: open while its
    revert window (from its last event) lasts, abandoned after it."""
    now = now or datetime.now(UTC)
    started: dict[str, dict] = {}
    last: dict[str, datetime] = {}
    for r in records(path):
        rid = r.get("id", "")
        if r.get("event") == "started":
            started[rid] = r
        elif r.get("event") in ("finished", "abandoned"):
            started.pop(rid, None)
        if rid in started and "at" in r:
            last[rid] = _when(r)
    opened, abandoned = [], []
    for rid, r in started.items():
        window = timedelta(seconds=int(r.get("revert_in") or 0) + GRACE_S)
        (opened if now < last[rid] + window else abandoned).append(r)
    return opened, abandoned


def open_change(host: str, path: Path | None = None) -> str | None:
    """The id of the latest open change (see `unfinished`) that involves host, or None."""
    opened, _ = unfinished(path)
    for r in reversed(opened):
        if host in (r.get("devices") or {}):
            return str(r["id"])
    return None


def close_abandoned(path: Path | None = None) -> list[str]:
    """Write an `abandoned` line for every change whose jinbao died before finishing and whose
    revert window has passed; their ids."""
    _, abandoned = unfinished(path)
    for r in abandoned:
        why = "its run stopped before finishing; every commit of it left unconfirmed was reverted by its device's timer"
        append({"id": r["id"], "event": "abandoned", "why": why}, path)
    return [str(r["id"]) for r in abandoned]


def change(change_id: str | None, source: str, path: Path | None = None) -> dict[str, Any]:
    """One change, all its events folded: started's fields plus `before` (device → config),
    `after` (device → digest) and `status` (device → final status). change_id None: the latest
    change of source that finished. KeyError when there is none."""
    events = records(path)
    if change_id is None:
        finished = {r.get("id") for r in events if r.get("event") == "finished"}
        done = [
            r["id"] for r in events if r.get("event") == "started" and r.get("source") == source and r["id"] in finished
        ]
        if not done:
            raise KeyError(f"no finished change of {source} in {path or log_path()}")
        change_id = done[-1]
    found: dict[str, Any] = {}
    for r in events:
        if r.get("id") != change_id:
            continue
        ev = r.get("event")
        if ev == "started":
            found.update(r, before={}, after={}, status={})
        elif found and ev == "before":
            found["before"][r["device"]] = r["config"]
        elif found and ev == "after":
            found["after"][r["device"]] = r["digest"]
        elif found and ev == "finished":
            found["status"] = {h: d.get("status") for h, d in (r.get("devices") or {}).items()}
            found["finished"] = r["at"]
        elif found and ev == "abandoned":
            found["abandoned"] = r["at"]
    if not found:
        raise KeyError(f"no change {change_id} in {path or log_path()}")
    return found


def left_by(host: str, config_digest: str, path: Path | None = None) -> dict[str, Any] | None:
    """The latest change whose confirmed result on host was exactly this config, or None."""
    hit = None
    for r in records(path):
        if r.get("event") == "after" and r.get("device") == host and r.get("digest") == config_digest:
            hit = r
    if hit is None:
        return None
    starts = [r for r in records(path) if r.get("event") == "started" and r.get("id") == hit["id"]]
    return starts[-1] if starts else None


@contextmanager
def exclusive(source: str) -> Iterator[None]:
    """One apply or rollback per source at a time (from this state folder): a second one is
    refused at once, before it plans, instead of racing the first for the same devices."""
    lock = state_dir() / f"apply-{safe_name(source)}.lock"
    try:
        with state.exclusive(lock, f"another apply or rollback is running on {source} ({{holder}}); wait for it"):
            yield
    except state.Busy as e:
        raise ChangeInProgress(str(e)) from None
