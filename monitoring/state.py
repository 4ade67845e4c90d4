"""What the poller remembers between polls: counters (for rates), sysUpTime (for reboots), the
cached static interface columns, and the active alerts.

One JSON file per target source (`lab:jb1a2b` → `lab_jb1a2b.json`) under
`$JINBAO_STATE_DIR/monitoring/`, else `${XDG_STATE_HOME:-~/.local/state}/jinbao/monitoring/`, as
netconfig keeps its change log. Written whole to a temporary file and renamed, so a poller
killed mid-write leaves the previous state, never half of one. It holds no secret.
"""

from __future__ import annotations

import json
from pathlib import Path

from jinbao.state import safe_name, write_whole
from jinbao.state import state_dir as core_state_dir


def state_dir() -> Path:
    return core_state_dir("monitoring")


def state_file(source: str) -> Path:
    return state_dir() / (safe_name(source, "_") + ".json")


def alert_log() -> Path:
    """The alert log: one JSON object per raise or clear, appended (JSONL)."""
    return state_dir() / "alerts.jsonl"


class PollState:
    """Per-device memory ({device: {...}}) and active alerts, loaded from and saved to one file."""

    def __init__(self, path: Path | None = None):
        self.path = path
        self.devices: dict[str, dict] = {}
        self.alerts: dict[str, dict] = {}
        if path is not None and path.is_file():
            try:
                data = json.loads(path.read_text())
                self.devices, self.alerts = dict(data.get("devices", {})), dict(data.get("alerts", {}))
            except (ValueError, AttributeError):
                # A state file that does not parse costs one poll without rates, nothing more.
                self.devices, self.alerts = {}, {}

    def device(self, name: str) -> dict:
        return self.devices.setdefault(name, {})

    def save(self) -> None:
        if self.path is None:
            return
        write_whole(self.path, json.dumps({"devices": self.devices, "alerts": self.alerts}, indent=1, sort_keys=True))
