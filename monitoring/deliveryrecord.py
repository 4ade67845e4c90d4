"""What alert delivery leaves for an auditor: which targets the last run used, each target's last
successful delivery, and what the dead-letter file holds since. `monitor posture --json` shows it.

`alerts-delivery.json`, beside the alert log, is written by the dispatcher (delivery.py): the
targets a run configured (also none: a log-only run) and, per target, the time and count of its
successful deliveries. A target is kept as scheme://host[:port] only: a webhook URL often carries
its secret in the path or query (and a token is never written at all), so the record and all
evidence drawn from it can be shown to anyone. Several processes (poller, trap and syslog
receivers) share the file, so each change is read-modify-write under an flock.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from jinbao.state import write_whole

RECORD = "alerts-delivery.json"
DEAD_LETTER = "alerts-undelivered.jsonl"
ALERT_LOG = "alerts.jsonl"


def bare_url(spec: str) -> str:
    """scheme://host[:port] of a target: no path, query or user part (where a webhook's secret lives)."""
    u = urlsplit(spec if "://" in spec else f"udp://{spec}")
    host = u.hostname or "?"
    host = f"[{host}]" if ":" in host else host
    return f"{u.scheme}://{host}{f':{u.port}' if u.port else ''}"


def shown_target(kind: str, spec: str | None) -> str:
    """A target as the record and the evidence name it: its kind and bare_url."""
    return f"{kind} {bare_url(spec)}" if spec else kind


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@contextlib.contextmanager
def _changing(path: Path) -> Iterator[dict]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.with_suffix(".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        doc = _read(path)
        yield doc
        write_whole(path, json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False))


def _read(path: Path) -> dict:
    try:
        doc = json.loads(path.read_text())
        return doc if isinstance(doc, dict) else {}
    except (OSError, ValueError):
        return {}


def configured(folder: Path, targets: list[str]) -> None:
    """A run set its targets (shown_target names; [] for log only)."""
    with _changing(folder / RECORD) as doc:
        doc["last_run"] = {"at": _now(), "targets": targets}


def delivered(folder: Path, target: str, count: int = 1) -> None:
    """count events reached target (a shown_target name) just now."""
    with _changing(folder / RECORD) as doc:
        t = doc.setdefault("targets", {}).setdefault(target, {"sent": 0})
        t["sent"] = int(t.get("sent", 0)) + count
        t["last_success"] = _now()


def summary(folder: Path) -> dict:
    """The evidence: whether there is any monitoring state, the alerts raised (count, newest),
    the last run's targets, and per target its last success and the undelivered events since."""
    rec = _read(folder / RECORD)
    raised, last_raise = 0, None
    with contextlib.suppress(OSError):
        for line in (folder / ALERT_LOG).read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError, AttributeError):
                e = json.loads(line)
                if e.get("event") == "raise":
                    raised += 1
                    last_raise = max(last_raise or "", str(e.get("at", "")))
    targets = {k: dict(v) for k, v in (rec.get("targets") or {}).items() if isinstance(v, dict)}
    for name in (rec.get("last_run") or {}).get("targets", []):
        targets.setdefault(name, {"sent": 0})
    for t in targets.values():
        t["undelivered"] = 0
    with contextlib.suppress(OSError):
        for line in (folder / DEAD_LETTER).read_text(encoding="utf-8").splitlines():
            try:
                d = json.loads(line)
                name = shown_target(str(d["target"]), d.get("to"))
            except (ValueError, KeyError, TypeError):
                continue
            # A queue overflow or a delivery bug (no URL) missed every target.
            for tname in [name] if d.get("to") else list(targets):
                t = targets.setdefault(tname, {"sent": 0, "undelivered": 0})
                if str(d.get("failed_at", "")) <= str(t.get("last_success", "")):
                    continue  # the target delivered again after this failure
                t["undelivered"] += 1
                at = str((d.get("event") or {}).get("at") or d.get("failed_at"))
                if "first_undelivered" not in t or at < t["first_undelivered"]:
                    t["first_undelivered"] = at
    state = (folder / RECORD).is_file() or (folder / ALERT_LOG).is_file() or any(folder.glob("*.json"))
    return {
        "state": state,
        "folder": str(folder),
        "alerts_raised": raised,
        "last_raise": last_raise,
        "last_run": rec.get("last_run"),
        "targets": targets,
    }
