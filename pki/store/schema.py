"""The CA database's tables, the audit log's append-only triggers, and how an entry is hashed."""

from __future__ import annotations

import hashlib
import json

SCHEMA = """
CREATE TABLE IF NOT EXISTS certs (
  serial TEXT PRIMARY KEY,            -- hex, lower case
  profile TEXT NOT NULL,
  subject TEXT NOT NULL,
  device TEXT, site TEXT,
  not_before REAL NOT NULL, not_after REAL NOT NULL,
  fingerprint TEXT NOT NULL UNIQUE,   -- sha256 of the DER
  pem TEXT NOT NULL,
  key_sha256 TEXT,                    -- sha256 of the SubjectPublicKeyInfo: every key check is a lookup
  issued_by TEXT NOT NULL,
  revoked_at REAL, revoke_reason TEXT,
  renewed_from TEXT
);
CREATE INDEX IF NOT EXISTS certs_not_after ON certs(not_after);
CREATE INDEX IF NOT EXISTS certs_key ON certs(key_sha256);
-- what seal.py digests, in its order, without a pass over every certificate
CREATE INDEX IF NOT EXISTS certs_revoked ON certs(serial) WHERE revoked_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS certs_own ON certs(serial) WHERE profile IN ('operator', 'ocsp_signer');
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

# A CA database made before certs carried key_sha256 (at most 2026-12-01) gains the column and its index the first
# time the CA writes to it; migrations.py fills the column from each certificate's PEM.
KEY_COLUMN = "ALTER TABLE certs ADD COLUMN key_sha256 TEXT"
KEY_INDEX = "CREATE INDEX IF NOT EXISTS certs_key ON certs(key_sha256)"


# One encoder, made once: json.dumps with these options builds a new one per call, a third of the time the CA
# spends rehashing its whole log before each change (transactions.py).
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def entry_hash(prev: str, seq: int, ts: float, actor: str, action: str, detail: str) -> str:
    body = _ENCODE([prev, seq, round(ts, 6), actor, action, detail])
    return hashlib.sha256(body.encode()).hexdigest()


AUDIT_TRIGGERS = ("audit_no_update", "audit_no_delete")
# The triggers' text as SQLite keeps it, whitespace collapsed: one with a WHEN clause or no RAISE does not count.
TRIGGER_SQL = {
    t: f"CREATE TRIGGER {t} BEFORE {t.split('_')[-1].upper()} ON audit BEGIN SELECT RAISE(ABORT, "
    "'the audit log is append-only'); END"
    for t in AUDIT_TRIGGERS
}
