"""A read-only view of the CA database for the OCSP responder, which answers from it but never writes."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from . import seal


@dataclass
class Snapshot:
    problems: list  # what is wrong with the seal; the rest is not to be believed while any remain
    revoked: dict  # serial -> (revoked_at, revoke_reason)
    ocsp_signer: str | None  # the serial of the signer the CA records as in use
    issuing_revoked: dict | None = None  # the root's revocation of the issuing CA: {serial, revoked_at, reason}


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
        """The seal's verdict, the revocations and the signer in use, from one read transaction."""
        db = self._db()
        db.execute("BEGIN")
        try:
            problems = seal.check(db, verify).problems
            revoked = {
                r[0]: (r[1], r[2])
                for r in db.execute("SELECT serial, revoked_at, revoke_reason FROM certs WHERE revoked_at IS NOT NULL")
            }
            in_use = db.execute("SELECT value FROM meta WHERE key = 'ocsp_signer'").fetchone()
            issuing = db.execute("SELECT value FROM meta WHERE key = 'issuing_revoked'").fetchone()
        finally:
            db.execute("COMMIT")
        return Snapshot(problems, revoked, in_use[0] if in_use else None, json.loads(issuing[0]) if issuing else None)

    def known(self, serial: str) -> bool:
        """Whether the CA issued a certificate with this serial (hex, lower case)."""
        return self._db().execute("SELECT 1 FROM certs WHERE serial = ?", (serial,)).fetchone() is not None
