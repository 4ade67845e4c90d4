"""Where jinbao keeps what it remembers, and how one run keeps another off the same work.

The state folder is `$JINBAO_STATE_DIR`, else `${XDG_STATE_HOME:-~/.local/state}/jinbao`: change
log and backups (netconfig), poll state and history (monitoring), drill reports (dr). Every
domain asks here, so pointing one variable at a folder moves all of it (tests do).

`write_whole(path, text)` is how a kept file is written: a reader (or the next run, after a
kill -9 midway) sees the old file or the new one, never half of one.

`exclusive(path)` is the one lock: an flock on a file that holds its owner ("pid N, by USER").
The kernel drops an flock with its process, so a run killed with SIGKILL never leaves a stale
lock behind, and a second run is refused at once naming the first instead of waiting on it.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import JinbaoError


def state_dir(*parts: str) -> Path:
    base = os.environ.get("JINBAO_STATE_DIR")
    root = Path(base) if base else Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local/state") / "jinbao"
    return root.joinpath(*parts)


def write_whole(path: Path, text: str) -> None:
    """Write text to path through a temporary file in the same folder and a rename. The temporary
    name is the writer's own (pid) and does not end in the final suffix, so two writers never
    share it and a reader globbing `*.json` never sees it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def safe_name(text: str, repl: str = "-") -> str:
    """A source or device name made safe as one file name (`lab:jb1` → `lab-jb1`)."""
    return re.sub(r"[^A-Za-z0-9._-]", repl, text)


def who() -> str:
    """The person behind the run: the sudoer when run with sudo, else the login user."""
    # The account itself when neither is set (cron, systemd): never "unknown" in an audit trail.
    return os.environ.get("SUDO_USER") or os.environ.get("USER") or pwd.getpwuid(os.getuid()).pw_name


class Busy(JinbaoError):
    """Another process holds the lock; `holder` is what it wrote ("pid N, by USER")."""

    def __init__(self, message: str, holder: str):
        super().__init__(message)
        self.holder = holder


def holder(path: Path) -> str | None:
    """Who holds path's lock now, or None when nobody does."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown"
        return None
    finally:
        os.close(fd)


def holder_pid(text: str | None) -> int | None:
    m = re.match(r"pid (\d+)", text or "")
    return int(m.group(1)) if m else None


@contextmanager
def exclusive(path: Path, busy: str) -> Iterator[None]:
    """Hold path's lock for the block. If another process holds it, raise Busy with the message
    `busy` formatted with {holder} ("pid N, by USER"), before anything is done."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            held = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown"
            raise Busy(busy.format(holder=held), held) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, by {who()}".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the flock
