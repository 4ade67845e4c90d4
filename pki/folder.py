"""Who else can change the CA folder: the CA acts only on files that no one but it (or root) can write.

The seal, the signed head and the sealed settings catch an edit after the fact; a folder anyone may write invites
one (a ca.db swapped, audit.head deleted, a certificate replaced), and a file owned by another account is that
account's to rewrite. So, as ssh's StrictModes does for ~/.ssh and the CA does for its profiles, the CA folder, its
sub-folders and the files it decides on must be owned by the account running the CA (or root) and writable by no
one else; its keys, certificates, ca.yml and ca.db must be the files themselves, not symlinks to somewhere else.
(The root's key is exempt: it is encrypted and may live on offline media, linked in for a ceremony.)
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

FOLDERS = (".", "root", "issuing", "ocsp", "crl")
FILES = ("ca.yml", "ca.db", "ca.db-wal", "ca.db-shm", "audit.head", "chain.pem")
OWN_FILES = (
    "ca.yml",
    "ca.db",
    "root/root.crt",
    "issuing/issuing.crt",
    "issuing/issuing.key",
    "ocsp/ocsp.crt",
    "ocsp/ocsp.key",
)


def problems(ca_dir: Path) -> list[str]:
    """Each path of the CA folder that someone else could change, with the command that closes it."""
    ca_dir = Path(ca_dir)
    out = []
    me = os.geteuid()
    for name in dict.fromkeys((*FOLDERS, *FILES, *OWN_FILES)):
        p = ca_dir / name
        try:
            st = os.lstat(p)
        except OSError:
            continue  # absent: whatever needs it says so
        shown = p if name != "." else ca_dir
        if stat.S_ISLNK(st.st_mode):
            if name in OWN_FILES:
                out.append(
                    f"{shown} is a symlink: the CA acts only on its own files in its folder. Replace the link with "
                    "the file it points to"
                )
            continue
        if st.st_mode & 0o002:
            out.append(f"{shown} is writable by anyone (mode {st.st_mode & 0o777:04o}): run 'chmod o-w {shown}'")
        if st.st_uid not in (me, 0):
            out.append(
                f"{shown} is owned by uid {st.st_uid}, not by the account running the CA (uid {me}) or root: that "
                f"account can rewrite it. Run 'chown {me} {shown}'"
            )
    return out


def message(found: list[str]) -> str:
    return (
        "the CA folder can be changed by others: "
        + "; ".join(found[:6])
        + (f"; and {len(found) - 6} more" if len(found) > 6 else "")
        + ". The CA does nothing until it is closed; then an auditor runs 'jinbao pki audit verify' to see whether "
        "anything was changed"
    )
