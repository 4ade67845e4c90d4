"""What is recorded: certificates, revocations, operators and the audit log, in one SQLite file.

Every change and its audit entry are written in one transaction (BEGIN IMMEDIATE), so several
issuing processes serialise cleanly, a serial is never reused (UNIQUE), and the log never
misses an operation that happened. The audit table refuses UPDATE and DELETE; its entries are
hash-chained and each is signed by the issuing CA, so editing the file behind the CA's back
shows up in `jinbao pki audit verify`.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS certs (
  serial TEXT PRIMARY KEY,            -- hex, lower case
  profile TEXT NOT NULL,
  subject TEXT NOT NULL,
  device TEXT, site TEXT,
  not_before REAL NOT NULL, not_after REAL NOT NULL,
  fingerprint TEXT NOT NULL UNIQUE,   -- sha256 of the DER
  pem TEXT NOT NULL,
  issued_by TEXT NOT NULL,
  revoked_at REAL, revoke_reason TEXT,
  renewed_from TEXT
);
CREATE INDEX IF NOT EXISTS certs_not_after ON certs(not_after);
CREATE TABLE IF NOT EXISTS operators (
  name TEXT PRIMARY KEY,
  role TEXT NOT NULL CHECK (role IN ('ca_admin', 'officer', 'auditor')),
  serial TEXT NOT NULL REFERENCES certs(serial)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY,
  ts REAL NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  detail TEXT NOT NULL,
  prev TEXT NOT NULL,
  hash TEXT NOT NULL,
  sig BLOB NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""

GENESIS = "0" * 64


def entry_hash(prev: str, seq: int, ts: float, actor: str, action: str, detail: str) -> str:
    body = json.dumps([prev, seq, round(ts, 6), actor, action, detail], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


class Store:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.db = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA busy_timeout=60000")

    def create(self) -> None:
        self.db.executescript(SCHEMA)

    @contextmanager
    def transaction(self):
        """One writer at a time across processes; everything inside lands or nothing does."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- audit -----------------------------------------------------------------------------
    def audit(self, db, actor: str, action: str, detail: dict, sign) -> None:
        """Append an entry; call inside transaction(). sign(bytes) -> signature by the issuing CA."""
        row = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (row["seq"] + 1, row["hash"]) if row else (1, GENESIS)
        ts = time.time()
        text = json.dumps(detail, ensure_ascii=False, sort_keys=True)
        h = entry_hash(prev, seq, ts, actor, action, text)
        db.execute("INSERT INTO audit (seq, ts, actor, action, detail, prev, hash, sig) VALUES (?,?,?,?,?,?,?,?)",
                   (seq, ts, actor, action, text, prev, h, sign(bytes.fromhex(h))))

    def audit_entries(self):
        return self.db.execute("SELECT * FROM audit ORDER BY seq").fetchall()

    # -- certificates -------------------------------------------------------------------------
    def cert(self, serial: str):
        return self.db.execute("SELECT * FROM certs WHERE serial = ?", (serial.lower(),)).fetchone()

    def certs(self, where: str = "1", args: tuple = ()):
        return self.db.execute(f"SELECT * FROM certs WHERE {where} ORDER BY not_after", args).fetchall()

    def revoked(self):
        return self.db.execute("SELECT serial, revoked_at, revoke_reason FROM certs WHERE revoked_at IS NOT NULL "
                               "ORDER BY revoked_at").fetchall()

    def next_crl_number(self, db) -> int:
        row = db.execute("SELECT value FROM meta WHERE key = 'crl_number'").fetchone()
        n = int(row["value"]) + 1 if row else 1
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('crl_number', ?)", (str(n),))
        return n


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)
