"""What labs share on the machine itself: a lock, and the host folders they need to exist.

Two host folders must exist for a lab to run, and labs share them:
- /etc/netns, where `ip netns exec` finds each node's /etc overlay;
- /var/tmp/frr, the mount point of each FRR node's private tmpfs. FRR writes a folder there per
  daemon start (a crash log buffer, path fixed at build time) and never removes it when killed;
  the tmpfs keeps those folders inside the node, where they vanish with it.

If a lab has to make one of them, it is listed in LAB_ROOT/host-made.json, and whichever lab
goes down *last* removes it (if empty), whichever lab made it. A per-lab flag failed that way:
the maker could not remove it while another lab ran, and the other lab did not know to.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

from .record import LAB_ROOT, LabError

ETC_NETNS = Path("/etc/netns")
FRR_TMP = Path("/var/tmp/frr")
HOST_DIRS = (ETC_NETNS, FRR_TMP)
_MADE = "host-made.json"


@contextmanager
def machine_lock():
    """Serialise the steps where labs create or remove what they share.

    The lock is taken on LAB_ROOT's parent folder, which exists before any lab and after the
    last: a lock file of our own would itself be left on the machine.
    """
    parent = LAB_ROOT.parent
    if not parent.is_dir():
        raise LabError(f"{parent} does not exist; set JINBAO_LAB_ROOT to a folder inside an existing one")
    fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _made_file() -> Path:
    return LAB_ROOT / _MADE


def _made() -> list[str]:
    try:
        return json.loads(_made_file().read_text())
    except (OSError, ValueError):
        return []


def _write_made(made: list[str]) -> None:
    tmp = _made_file().with_suffix(".tmp")
    tmp.write_text(json.dumps(sorted(set(made))))
    tmp.replace(_made_file())


def ensure_host_dirs() -> None:
    """Create the shared host folders that are missing, recording each first. Hold machine_lock."""
    made = _made()
    if not LAB_ROOT.exists():
        LAB_ROOT.mkdir()
        made.append(str(LAB_ROOT))
        _write_made(made)
    for d in HOST_DIRS:
        if not d.exists():
            made.append(str(d))
            _write_made(made)
            d.mkdir()
            if d == FRR_TMP:  # as FRR makes it: its crash logs are the frr user's only
                shutil.chown(d, "frr", "frr")
                d.chmod(0o700)


def release_host_dirs() -> None:
    """After a lab's own files are gone: if no other lab remains, remove what labs made on the
    host (only if empty: something else may have started using it), then LAB_ROOT. Hold machine_lock."""
    if not LAB_ROOT.is_dir() or any(p.name.startswith("jb") for p in LAB_ROOT.iterdir()):
        return
    made = _made()
    for d in map(Path, made):
        if d != LAB_ROOT and d.is_dir() and not d.is_symlink() and not any(d.iterdir()):
            d.rmdir()
    _made_file().unlink(missing_ok=True)
    if str(LAB_ROOT) in made and not any(LAB_ROOT.iterdir()):
        LAB_ROOT.rmdir()
