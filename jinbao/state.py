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
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import JinbaoError


def state_dir(*parts: str) -> Path:
    base = os.environ.get("JINBAO_STATE_DIR")
    root = Path(base) if base else Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local/state") / "jinbao"
    return root.joinpath(*parts)


def write_whole(path: Path, data: str | bytes, mode: int | None = None) -> None:
    """Write data to path through a temporary file in the same folder and a rename.

    The temporary name is random, created with O_EXCL|O_NOFOLLOW, and does not end in the final
    suffix: two writers never share it, a reader globbing `*.json` never sees it, and a symlink
    planted at it (or a FIFO) is never followed or opened. The rename replaces a symlink at path
    itself rather than what it points to, but `check_writable` refuses one before anything is
    written. mode None keeps the umask's default; else the file is exactly that mode from its first
    byte."""
    check_writable(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = data.encode("utf-8") if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(
        tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666 if mode is None else mode
    )
    try:
        if mode is not None:
            os.fchmod(fd, mode)  # the umask may have taken bits away, never added them: exact
        with os.fdopen(fd, "wb") as f:
            f.write(body)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def check_writable(path: Path) -> None:
    """Refuse a destination that exists and is not a regular file: writing through a symlink would
    overwrite what it points to, a FIFO would hang the writer, a directory cannot be replaced."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except NotADirectoryError:
        raise JinbaoError(f"{path}: a part of its folder is a file, not a folder; choose another folder") from None
    if not stat.S_ISREG(st.st_mode):
        raise JinbaoError(f"{path} is {_kind(st.st_mode)}, not a regular file; remove it or choose another folder")


def _kind(m: int) -> str:
    if stat.S_ISLNK(m):
        return "a symlink"
    if stat.S_ISDIR(m):
        return "a directory"
    if stat.S_ISFIFO(m):
        return "a FIFO"
    if stat.S_ISSOCK(m):
        return "a socket"
    return "a device"


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
