"""What labs share on the machine itself: a lock, and the host folders they need to exist.

Two host folders must exist for a lab to run, and every lab on the machine shares them, whatever
its JINBAO_LAB_ROOT:
- /etc/netns, where `ip netns exec` finds each node's /etc overlay;
- /var/tmp/frr, the mount point of each FRR node's private tmpfs. FRR writes a folder there per
  daemon start (a crash log buffer, path fixed at build time) and never removes it when killed;
  the tmpfs keeps those folders inside the node, where they vanish with it.

A folder a lab had to make carries a marker file, and whichever lab goes down *last* on the
machine (no lab namespace left) removes it if nothing else was put in it. A per-lab flag failed
that way: the maker could not remove it while another lab ran, and the other lab did not know to.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path

from .record import LAB_ROOT

ETC_NETNS = Path("/etc/netns")
FRR_TMP = Path("/var/tmp/frr")
HOST_DIRS = (ETC_NETNS, FRR_TMP)
MARKER = ".made-by-jinbao-lab"
# Locked for the steps where labs create or remove what they share. /var/tmp exists before any
# lab and after the last, whatever JINBAO_LAB_ROOT says: a lock file of our own would itself be
# left on the machine.
LOCK_DIR = Path("/var/tmp")
LAB_NETNS = re.compile(r"^jb[a-z0-9]{2,12}-")


@contextmanager
def machine_lock():
    """Serialise the steps where labs create or remove what they share."""
    fd = os.open(LOCK_DIR, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _make(d: Path) -> None:
    d.mkdir()
    (d / MARKER).touch()


def ensure_host_dirs() -> None:
    """Create the shared host folders that are missing, each with its marker. Hold machine_lock."""
    if not LAB_ROOT.exists():
        _make(LAB_ROOT)
    for d in HOST_DIRS:
        if not d.exists():
            _make(d)
            if d == FRR_TMP:  # as FRR makes it: its crash logs are the frr user's only
                shutil.chown(d, "frr", "frr")
                d.chmod(0o700)


def lab_namespaces() -> list[str]:
    """Every lab's namespaces on the machine, whatever lab root made them."""
    netns = Path("/run/netns")
    return sorted(p.name for p in netns.iterdir() if LAB_NETNS.match(p.name)) if netns.is_dir() else []


def _remove_if_only_marker(d: Path) -> None:
    if d.is_dir() and not d.is_symlink() and [p.name for p in d.iterdir()] == [MARKER]:
        (d / MARKER).unlink()
        d.rmdir()


def release_host_dirs() -> None:
    """After a lab's own things are gone: the last lab out removes the shared folders a lab made
    (only if nothing else was put there), and its lab root if no lab is left in it. Hold machine_lock."""
    if not lab_namespaces():
        for d in HOST_DIRS:
            _remove_if_only_marker(d)
    _remove_if_only_marker(LAB_ROOT)
