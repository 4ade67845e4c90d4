"""A read-only view of the CA database for the OCSP responder, which answers from it but never writes."""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

from . import seal, settings
from .head import Head, tail_of


@dataclass
class Snapshot:
    problems: list  # what is wrong with the seal; the rest is not to be believed while any remain
    revoked: dict  # serial -> (revoked_at, revoke_reason)
    ocsp_signer: str | None  # the serial of the signer the CA records as in use
    issuing_revoked: dict | None = None  # the root's revocation of the issuing CA: {serial, revoked_at, reason}
    config: dict | None = None  # ca.yml's settings as the CA recorded them (settings.py); None before they were


class Reader:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._conn = None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30, check_same_thread=False)
        return self._conn

    def version(self) -> int:
        """Changes with every commit by another connection (PRAGMA data_version)."""
        return self._db().execute("PRAGMA data_version").fetchone()[0]

    def snapshot(self, verify) -> Snapshot:
        """The seal's verdict (and audit.head's), the revocations and the signer in use, from one read transaction.

        A ca.db put back from an earlier copy has the revocations since then erased: its log ends before the entry
        audit.head names (head.py). Without the write lock, a writer may commit and rewrite the head between this
        snapshot and reading the file, so a snapshot that disagrees with the head is taken again a few times before
        the disagreement counts."""
        db = self._db()
        head = Head(self.path.parent, SimpleNamespace(verify=verify))
        for attempt in range(5):
            db.execute("BEGIN")
            try:
                rolled = head.problems(tail_of(db))
                if rolled and attempt < 4:
                    time.sleep(0.05 * (attempt + 1))
                    continue
                problems = rolled + seal.check(db, verify).problems
                revoked = {
                    r[0]: (r[1], r[2])
                    for r in db.execute(
                        "SELECT serial, revoked_at, revoke_reason FROM certs WHERE revoked_at IS NOT NULL"
                    )
                }
                in_use = db.execute("SELECT value FROM meta WHERE key = 'ocsp_signer'").fetchone()
                issuing = db.execute("SELECT value FROM meta WHERE key = 'issuing_revoked'").fetchone()
                config = settings.sealed(db)
            finally:
                db.execute("COMMIT")
            break
        else:  # pragma: no cover (the last attempt always breaks)
            raise AssertionError
        return Snapshot(
            problems, revoked, in_use[0] if in_use else None, json.loads(issuing[0]) if issuing else None, config
        )

    def known(self, serial: str) -> bool:
        """Whether the CA issued a certificate with this serial (hex, lower case)."""
        return self._db().execute("SELECT 1 FROM certs WHERE serial = ?", (serial,)).fetchone() is not None
