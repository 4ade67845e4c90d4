"""Folders of SSH master sockets that runs keep in /tmp, and the sweep of those killed runs left.

ssh builds a master's socket path from its folder and refuses one of 108 bytes or more, so runs
(provisioning, verify, DR drills) keep their masters in short per-run folders in /tmp rather than
under a state or lab folder. A run ends its masters and removes its folder; a run killed with -9
cannot, and its folder, with socket files nothing answers any more, would stay for good. Each
new run sweeps those first.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import stat
import time
from pathlib import Path

RUNS_IN = Path("/tmp")
# Older than any run's first connection takes; a killed run's masters end on their own after
# ControlPersist (60 s).
STALE_AFTER_S = 600


def sweep(prefix: str, runs_in: Path = RUNS_IN, stale_after_s: float = STALE_AFTER_S) -> None:
    """Remove this account's folders runs_in/prefix* that are old and in which no master listens."""
    now = time.time()
    for d in runs_in.glob(f"{prefix}*"):
        with contextlib.suppress(OSError):
            st = d.lstat()
            mine = stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid()
            if mine and now - st.st_mtime > stale_after_s and not any(answers(p) for p in d.iterdir()):
                shutil.rmtree(d)


def answers(path: Path) -> bool:
    """A socket some process still accepts on (the master of a run going on)."""
    if not path.is_socket():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        try:
            s.connect(str(path))
        except OSError:  # ECONNREFUSED: the file outlived its process
            return False
    return True
