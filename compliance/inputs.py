"""Reading a file `jinbao audit` was handed: a regular file of bounded size, or a clear refusal.

Every file compliance reads (config dumps, rules, waivers, kept audit and verify runs, drill
reports) comes through here, because `open()` on a FIFO blocks until a writer appears and a read
of /dev/zero never ends. The file is stat'ed, then opened without blocking and stat'ed again
through its descriptor (the name may have been swapped in between), then read up to the cap.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from jinbao.errors import JinbaoError

MAX_BYTES_ENV = "JINBAO_AUDIT_MAX_BYTES"
# A province device's whole config is well under 2 MiB and a kept run of the province about 3 MiB;
# 64 MiB leaves room for a national estate while keeping one file from filling the memory.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


class InputFileError(JinbaoError):
    """A file that cannot be read as input; str() names the file, what is wrong and the fix."""

    def __init__(self, path: Path | str, why: str, fix: str):
        self.path, self.why, self.fix = str(path), why, fix
        super().__init__(f"{path}: {why}; {fix}")


def max_bytes() -> int:
    raw = os.environ.get(MAX_BYTES_ENV, "")
    try:
        value = int(raw) if raw else DEFAULT_MAX_BYTES
    except ValueError:
        raise JinbaoError(f"{MAX_BYTES_ENV}={raw!r} is not a number of bytes; set it to e.g. 134217728") from None
    return value if value > 0 else DEFAULT_MAX_BYTES


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _check(path: Path | str, st: os.stat_result, cap: int) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise InputFileError(
            path, f"is {_kind(st.st_mode)}, not a regular file", "save the content to a file and pass that"
        )
    if st.st_size > cap:
        raise InputFileError(path, f"is {st.st_size:,} bytes, over the {cap:,}-byte cap", _raise_it(cap))


def _raise_it(cap: int) -> str:
    return f"check it is the file you meant, or raise the cap with {MAX_BYTES_ENV}={cap * 2}"


def read_bytes(path: Path) -> bytes:
    """The file's bytes; InputFileError if it is missing, not a regular file, or over the cap."""
    cap = max_bytes()
    try:
        _check(path, os.stat(path), cap)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except InputFileError:
        raise
    except OSError as e:
        raise InputFileError(path, f"cannot read: {e.strerror}", "check the path and its permissions") from None
    try:
        _check(path, os.fstat(fd), cap)
        chunks, got = [], 0
        while got <= cap:
            chunk = os.read(fd, min(1 << 20, cap + 1 - got))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        if got > cap:  # grew while being read
            raise InputFileError(path, f"grew past the {cap:,}-byte cap while being read", _raise_it(cap))
        return b"".join(chunks)
    except OSError as e:
        raise InputFileError(path, f"cannot read: {e.strerror}", "check the path and its permissions") from None
    finally:
        os.close(fd)


def read_text(path: Path) -> str:
    """The file as UTF-8 text; InputFileError as read_bytes, or when it is not UTF-8."""
    data = read_bytes(path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise InputFileError(path, f"is not UTF-8 text (line {line}, byte {e.start})", "save it as UTF-8") from None
