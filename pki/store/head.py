"""audit.head: the audit log's newest entry, signed by the issuing CA and kept beside ca.db, and whether the two agree.

Whoever can write the CA folder can put back an older ca.db (the revocation of a stolen key gone with it) or an older
audit.head. Each file is consistent with itself; only together do they show the rollback. So every transaction that
appends to the log checks, under the write lock, that the log ends where audit.head says, and refuses to act
otherwise.

A process may be killed between writing the head and committing (or between committing and writing it), so the head
is written in two steps: before the commit a *pending* record names the new entry and the entry the transaction
started from; after the commit it is rewritten as *final*. A pending head agrees with a log ending at either entry (a
killed writer, or one still between the two steps); a final head only with a log ending at its own entry. A ca.db
put back by even one transaction therefore meets a final head it is behind, and is refused.
"""

from __future__ import annotations

import fcntl
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .. import checks, files
from .schema import GENESIS

HEAD_FILE = "audit.head"
HEAD_LIMIT = 4096  # the record is about 400 bytes
FIX = (
    "Put back the newest ca.db (the one that goes with audit.head), or restore ca.db and audit.head together from "
    "one backup of the CA folder (the auditor's checkpoint then shows what was lost)"
)


def _body(seq: int, h: str, start: tuple[int, str] | None) -> bytes:
    # A final record signs what heads have always signed, so heads written by earlier code stay valid.
    text = f"jinbao audit head {seq} {h}"
    return (text + (f" pending from {start[0]} {start[1]}" if start else "")).encode()


@dataclass(frozen=True)
class Record:
    seq: int
    hash: str
    start: tuple[int, str] | None  # pending: the log's newest entry when the transaction began
    raw: bytes

    def agrees(self, tail: tuple[int, str]) -> bool:
        return tail == (self.seq, self.hash) or (self.start is not None and tail == self.start)


class Head:
    """The signed record of the log's newest entry, in the CA folder beside the database. `signer` verifies it
    (and signs it, for a writer)."""

    def __init__(self, ca_dir: Path, signer):
        self.path = Path(ca_dir) / HEAD_FILE
        self.signer = signer
        self._pending: bytes | None = None  # the record this process wrote before its commit, until finalized

    # -- writing (the store, holding the database's write lock) -------------------------------------------------
    def write_pending(self, seq: int, h: str, start: tuple[int, str]):
        """Before the commit: returns the function that puts the previous record back (for a failed commit)."""
        body = {"seq": seq, "hash": h, "from_seq": start[0], "from_hash": start[1]}
        data = json.dumps({**body, "sig": self.signer.sign(_body(seq, h, start)).hex()}).encode()
        with self._locked():
            undo = files.replace(self.path, data)
        self._pending = data
        return undo

    def finalize(self, seq: int, h: str) -> None:
        """After the commit: the pending record becomes final, unless another writer has replaced it since (it
        committed after this one: its record is the newer). Under a lock of its own, as this runs once the
        database's write lock is released."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        data = json.dumps({"seq": seq, "hash": h, "sig": self.signer.sign(_body(seq, h, None)).hex()}).encode()
        with self._locked():
            try:
                with open(self.path, "rb") as f:
                    if f.read(HEAD_LIMIT + 1) != pending:
                        return
            except OSError:
                return
            files.replace(self.path, data)

    @contextmanager
    def _locked(self):
        fd = os.open(
            self.path.with_name(".audit.head.lock"), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600
        )
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # released by the kernel if this process dies holding it
            yield
        finally:
            os.close(fd)

    # -- reading -------------------------------------------------------------------------------------------------
    def read(self) -> Record:
        """The record; OSError or ValueError when missing, damaged, out of range or not signed by the issuing CA."""
        with open(self.path, "rb") as f:
            data = f.read(HEAD_LIMIT + 1)
        head = checks.record(data, HEAD_FILE, HEAD_LIMIT)
        seq, h = checks.whole(head, "seq", HEAD_FILE), checks.hex_text(head, "hash", HEAD_FILE, 64)
        start = None
        if "from_seq" in head or "from_hash" in head:
            start = (checks.whole(head, "from_seq", HEAD_FILE), checks.hex_text(head, "from_hash", HEAD_FILE, 64))
        sig = bytes.fromhex(checks.hex_text(head, "sig", HEAD_FILE))
        if not self.signer.verify(sig, _body(seq, h, start)):
            raise ValueError(f"{HEAD_FILE} is not signed by the issuing CA")
        return Record(seq, h, start, data)

    def problems(self, tail: tuple[int, str] | None) -> list[str]:
        """Does the log, ending at `tail` ((seq, hash); None when empty), end where audit.head says? Exact only
        while holding the write lock (no writer between its two steps but a killed one). [] when they agree."""
        last = tail or (0, GENESIS)
        try:
            rec = self.read()
        except FileNotFoundError:
            if tail is None:
                return []  # a CA being created: nothing logged, nothing to anchor yet
            return [
                f"{HEAD_FILE} is missing, but ca.db's audit log reaches entry {last[0]}: nothing vouches that ca.db "
                f"is the newest. {FIX}"
            ]
        except (OSError, ValueError) as e:
            return [f"{HEAD_FILE} is damaged or not the CA's ({str(e)[:120]}): ca.db's log cannot be checked. {FIX}"]
        if rec.agrees(last):
            return []
        newest = rec.seq
        if newest > last[0] or (rec.start is not None and rec.start[0] > last[0]):
            return [
                f"ca.db is behind its audit log: ca.db's log ends at entry {last[0]}, but {HEAD_FILE} says the CA "
                f"wrote up to entry {newest}. ca.db was put back from an earlier copy (or its newest entries were "
                f"cut), so revocations and operators may be missing from it. {FIX}"
            ]
        if newest < last[0]:
            return [
                f"the audit log's head is behind ca.db: {HEAD_FILE} names entry {newest}, but ca.db's log reaches "
                f"entry {last[0]}. {HEAD_FILE} was put back from an earlier copy, or ca.db holds entries the CA did "
                f"not anchor. {FIX}"
            ]
        return [
            f"ca.db's newest audit entry {last[0]} is not the one {HEAD_FILE} names: entries were replaced behind "
            f"the CA's back. {FIX}"
        ]


def tail_of(db) -> tuple[int, str] | None:
    row = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    return (row[0], row[1]) if row else None
