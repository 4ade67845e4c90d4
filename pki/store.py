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
import threading
import time
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

from . import seal
from .errors import PkiError, Tampered

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


def entry_hash(prev: str, seq: int, ts: float, actor: str, action: str, detail: str) -> str:
    body = json.dumps([prev, seq, round(ts, 6), actor, action, detail], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


AUDIT_TRIGGERS = ("audit_no_update", "audit_no_delete")
# The triggers' text as SQLite keeps it, whitespace collapsed: one with a WHEN clause or no RAISE does not count.
_TRIGGER_SQL = {
    t: f"CREATE TRIGGER {t} BEFORE {t.split('_')[-1].upper()} ON audit BEGIN SELECT RAISE(ABORT, "
    "'the audit log is append-only'); END"
    for t in AUDIT_TRIGGERS
}


class Store:
    def __init__(self, path: Path, head=None, signer=None):
        """head (audit.Head), if given, records the log's newest entry outside the database: written inside
        every transaction that appended to the log, just before it commits, and read before appending.
        signer (the issuing CA), if given, seals the tables at the end of every transaction that changed them
        (seal.py) and checks the seal at the start of each."""
        self.path = Path(path)
        self.head = head
        self.signer = signer
        self._head = None
        self._undo = None
        self._verified = None  # (PRAGMA data_version, digests) of tables last found or left as sealed
        self._watching = False
        # One connection, shareable by threads: a transaction holds it until it commits or rolls back.
        self._lock = threading.RLock()
        self.db = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA busy_timeout=60000")

    def create(self) -> None:
        self.db.executescript(SCHEMA)

    def check(self) -> None:
        """Raise sqlite3.DatabaseError unless this is a CA database (an empty or foreign SQLite file is not)."""
        have = {r["name"] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if missing := {"certs", "operators", "meta", "audit"} - have:
            raise sqlite3.DatabaseError(f"no table {', '.join(sorted(missing))}")

    @contextmanager
    def transaction(self, intact: bool = False):
        """One writer at a time across processes and threads; everything inside lands or nothing does, on disk
        too: what the body published through on_abort() is put back if the commit does not happen.

        intact: refuse (Tampered) unless the tables are as the CA sealed them, checked under the write lock, so
        nothing the CA signs is built on an edited row."""
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            self._head, self._undo = None, []
            try:
                before = self._check() if self.signer else None
                if intact and before and before.problems:
                    raise Tampered(before.problems)
                yield self.db
                sealed = self._seal(before) if before is not None else None
                if self._head and self.head:
                    try:
                        self._undo.append(self.head.write(*self._head))
                    except PkiError as e:
                        raise PkiError(f"the audit log's head: {e}; nothing was recorded or published") from None
                self.db.execute("COMMIT")
                if sealed is not None:
                    self._verified = (self._version(), sealed)
            except BaseException:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                for undo in reversed(self._undo):
                    # best effort: the caller sees the error that stopped the commit
                    with suppress(OSError, PkiError):
                        undo()
                raise
            finally:
                self._head, self._undo = None, None

    def on_abort(self, undo) -> None:
        """Inside transaction(): run undo() if this transaction does not commit (a file published too early)."""
        self._undo.append(undo)

    def _version(self) -> int:
        return self.db.execute("PRAGMA data_version").fetchone()[0]

    def _check(self) -> seal.Check:
        """seal.check, skipped when no other connection has committed since this one last found or left the tables
        as sealed (PRAGMA data_version changes with every commit by anyone else: the sqlite3 shell included), and
        this one changed nothing sealed outside a transaction (the temp triggers would have noted it)."""
        if not self._watching:
            for statement in seal.WATCH:
                self.db.execute(statement)
            self._watching = True
        version = self._version()
        if (
            self._verified
            and self._verified[0] == version
            and not self.db.execute("SELECT 1 FROM temp.touched LIMIT 1").fetchone()
        ):
            return seal.Check([], digests=self._verified[1])
        checked = seal.check(self.db, self.signer.verify)
        self._verified = (version, checked.digests) if not checked.problems else None
        return checked

    def _seal(self, before: seal.Check) -> dict | None:
        """Seal what this transaction left (the digests sealed), or carry the last seal forward past an edit."""
        changed = seal.touched(self.db)
        if not (self._head or changed):
            return before.digests  # nothing sealed changed, and the log's newest entry is the same
        if before.problems and before.vouched is None:
            return None  # nothing the CA signed to carry forward: the seal stays broken for 'audit verify' to show
        tail = self._head or tuple(
            self.db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone() or (0, GENESIS)
        )
        if before.problems:
            seal.write(self.db, self.signer.sign, tail[0], tail[1], before.vouched)
            return None
        digests = {**before.digests, **seal.digests(self.db, only=changed)}
        seal.write(self.db, self.signer.sign, tail[0], tail[1], digests)
        return digests

    def seal_problems(self) -> list[str]:
        """What is wrong with the seal over the tables, read in one snapshot; [] when they are as the CA left them."""
        with self._lock:
            self.db.execute("BEGIN")
            try:
                return self._check().problems
            finally:
                self.db.execute("COMMIT")

    # -- audit -----------------------------------------------------------------------------
    def audit(self, db, actor: str, action: str, detail: dict, sign) -> None:
        """Append an entry; call inside transaction(). sign(bytes) -> signature by the issuing CA."""
        row = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (row["seq"] + 1, row["hash"]) if row else (1, GENESIS)
        if self.head and self._head is None and row:
            # First entry of this transaction: never reuse the number of an entry cut from the tail, and if the
            # head record itself is lost, skip one number, so either way 'audit verify' finds the gap.
            anchored = self.head.seq()
            seq = max(seq, anchored + 1 if anchored is not None else seq + 1)
        ts = time.time()
        text = json.dumps(detail, ensure_ascii=False, sort_keys=True)
        h = entry_hash(prev, seq, ts, actor, action, text)
        db.execute(
            "INSERT INTO audit (seq, ts, actor, action, detail, prev, hash, sig) VALUES (?,?,?,?,?,?,?,?)",
            (seq, ts, actor, action, text, prev, h, sign(bytes.fromhex(h))),
        )
        self._head = (seq, h)

    def audit_entries(self):
        return self.db.execute("SELECT * FROM audit ORDER BY seq").fetchall()

    def missing_triggers(self) -> list[str]:
        """The append-only triggers someone has dropped (or replaced with ones that no longer refuse)."""
        have = {
            r["name"]: " ".join((r["sql"] or "").split())
            for r in self.db.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit'"
            )
        }
        return [t for t in AUDIT_TRIGGERS if have.get(t) != _TRIGGER_SQL[t]]

    # -- operators ------------------------------------------------------------------------------
    def operator(self, serial: str):
        return self.db.execute("SELECT name, role, serial FROM operators WHERE serial = ?", (serial,)).fetchone()

    def operator_named(self, db, name: str):
        """Names are unique regardless of case: 'Alice' is 'alice'."""
        return db.execute("SELECT name FROM operators WHERE name = ? COLLATE NOCASE", (name,)).fetchone()

    def credentials(self, db, serial: str) -> list[str]:
        """An operator credential and every one it was renewed from, newest first."""
        out = []
        while serial and serial not in out:
            out.append(serial)
            row = db.execute(
                "SELECT renewed_from FROM certs WHERE serial = ? AND profile = 'operator'", (serial,)
            ).fetchone()
            serial = row["renewed_from"] if row else None
        return out

    def operator_by_name(self, db, name: str):
        return db.execute("SELECT name, role, serial FROM operators WHERE name = ? COLLATE NOCASE", (name,)).fetchone()

    def replace_credential(self, db, old_serial: str, new_serial: str) -> bool:
        """Point an operator at a renewed credential; False when it no longer holds old_serial."""
        return db.execute("UPDATE operators SET serial = ? WHERE serial = ?", (new_serial, old_serial)).rowcount == 1

    def active_admins(self, db, now: float) -> list[str]:
        return [
            r["serial"]
            for r in db.execute(
                "SELECT c.serial FROM operators o JOIN certs c ON c.serial = o.serial WHERE o.role = 'ca_admin' "
                "AND c.revoked_at IS NULL AND c.not_before <= ? AND c.not_after > ?",
                (now, now),
            )
        ]

    # -- certificates -------------------------------------------------------------------------
    def cert(self, serial: str):
        return self.db.execute("SELECT * FROM certs WHERE serial = ?", (serial.lower(),)).fetchone()

    def certs(self, where: str = "1", args: tuple = ()):
        return self.db.execute(f"SELECT * FROM certs WHERE {where} ORDER BY not_after", args).fetchall()

    def revoked(self):
        return self.db.execute(
            "SELECT serial, revoked_at, revoke_reason FROM certs WHERE revoked_at IS NOT NULL ORDER BY revoked_at"
        ).fetchall()

    def revoke(self, db, serial: str, reason: str, ts: float) -> bool:
        """Mark a certificate revoked unless it already is; False when another revocation got there first."""
        return (
            db.execute(
                "UPDATE certs SET revoked_at = ?, revoke_reason = ? WHERE serial = ? AND revoked_at IS NULL",
                (ts, reason, serial),
            ).rowcount
            == 1
        )

    def next_crl_number(self, db, at_least: int = 1) -> int:
        """The next CRL number: above the last one recorded and at least `at_least` (above the one published)."""
        row = db.execute("SELECT value FROM meta WHERE key = 'crl_number'").fetchone()
        n = max(int(row["value"]) + 1 if row else 1, at_least)
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('crl_number', ?)", (str(n),))
        return n


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)
