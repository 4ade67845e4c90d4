"""The CA database's connection and transactions.

Every change and its audit entry are written in one transaction (BEGIN IMMEDIATE), so several
issuing processes serialise cleanly, a serial is never reused (UNIQUE), and the log never
misses an operation that happened. A transaction checks the CA's seal over the tables before its
body runs and seals what it changed before it commits (seal.py).
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

from .. import clock, faults
from ..errors import PkiError, Tampered
from . import migrate, seal, settings
from .audit_log import log_problems
from .head import tail_of
from .schema import GENESIS, SCHEMA


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


class Transactions:
    """The connection, one-writer transactions, and the seal checked before and written after each."""

    def __init__(self, path: Path, head=None, signer=None, config: dict | None = None):
        """head (head.Head), if given, records the log's newest entry outside the database: written pending just
        before each commit that appended to the log and final after it, and checked against the log under the write
        lock before anything is done (a ca.db or audit.head put back alone stops the CA).
        signer (the issuing CA), if given, seals the tables at the end of every transaction that changed them
        (seal.py) and checks the seal at the start of each. config: ca.yml's settings as parsed, which a
        transaction that acts (intact) refuses to act on unless they are what the CA recorded (settings.py)."""
        self.path = Path(path)
        self.config = config
        self.head = head
        self.signer = signer
        self._head = None
        self._undo = None
        self._after = None
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
    def transaction(self, intact: bool = False, migrate_schema: bool = True, settings_checked: bool = True):
        """One writer at a time across processes and threads; everything inside lands or nothing does, on disk
        too: what the body staged through on_abort() is taken back if the commit does not happen, and what it
        hands to after_commit() is published only once the commit has happened.

        intact: refuse (Tampered) unless the tables are as the CA sealed them, checked under the write lock, so
        nothing the CA signs is built on an edited row, nor on an edited ca.yml (settings_checked=False: the one
        transaction that adopts it). migrate_schema=False: a transaction only for reading under the lock ('audit
        verify', perhaps without the issuing key) leaves an older database as it found it."""
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            self._head, self._undo, self._after = None, [], []
            try:
                start = tail_of(self.db) or (0, GENESIS)
                if migrate_schema:
                    migrate.key_column(self.db)
                before = self._check() if self.signer else None
                if before is not None and (rolled := self._head_problems()):
                    # ca.db and audit.head disagree: one of them was put back. Nothing is appended, not even a
                    # refusal, or the log would go on from a state the CA may never have been in.
                    before = seal.Check(
                        rolled + before.problems, before.vouched, None, before.version, rolled + before.log
                    )
                if intact and before and before.problems:
                    raise Tampered(before.problems)
                if intact and before is not None:
                    self._clock_not_set_back()
                if intact and before is not None and self.config is not None and settings_checked:
                    self._settings(migrate_schema)
                if migrate_schema:
                    migrate.fill_keys(self.db)
                yield self.db
                if self._head and before is not None and before.log:
                    raise Tampered(before.log)  # an entry appended to an edited log would vouch for the edit
                sealed = self._seal(before) if before is not None else None
                if self._head and self.head:
                    try:
                        self._undo.append(self.head.write_pending(*self._head, start))
                    except PkiError as e:
                        raise PkiError(f"the audit log's head: {e}; nothing was recorded or published") from None
                faults.point("before_commit")
                self.db.execute("COMMIT")
                faults.point("after_commit")
                if sealed is not None:
                    self._verified = (self._version(), sealed)
                committed = self._head
            except BaseException:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                    # the watch tables may have been created in this very transaction: gone with it
                    self._watching = False
                for undo in reversed(self._undo):
                    # best effort: the caller sees the error that stopped the commit
                    with suppress(OSError, PkiError):
                        undo()
                raise
            finally:
                after, self._head, self._undo, self._after = self._after, None, None, None
            if committed and self.head:
                # best effort: a head left pending still agrees with the committed log, and the next writer replaces it
                with suppress(OSError, PkiError):
                    self.head.finalize(*committed)
            for publish in after:
                publish()

    def _clock_not_set_back(self) -> None:
        """Refuse to act while this machine's clock reads earlier than the log's newest entry: whatever the CA signed
        now (a certificate's validity, a CRL's dates, a revocation's time) would be dated before what it has already
        done, and a clock set back to before a revocation issues certificates that look older than it."""
        row = self.db.execute("SELECT ts FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        now = utc(clock.timestamp())
        if row is not None and isinstance(row[0], (int, float)) and now < utc(row[0]) - clock.CLOCK_SKEW:
            raise PkiError(
                f"this machine's clock reads {now.replace(microsecond=0).isoformat()}, but the CA's newest audit "
                "entry was written at "
                f"{utc(row[0]).replace(microsecond=0).isoformat()}: the clock was set back. The CA signs nothing "
                "dated before what it has already done; set the clock right (NTP) and retry"
            )

    def _settings(self, migrate_schema: bool) -> None:
        """Refuse unless ca.yml says what the CA recorded; a database that has no record yet (made before settings
        were sealed) records ca.yml's as they stand, once they agree with what the CA logged at init, and logs it."""
        if problems := settings.problems(self.db, self.config):
            raise Tampered(problems)
        if not migrate_schema or settings.sealed(self.db) is not None:
            return
        if wrong := settings.signed_by_ca(self.db, self.config):
            raise Tampered(
                [
                    "ca.yml is not the configuration this CA was created with (" + "; ".join(wrong) + "): it was "
                    "edited outside the CA. Put the original values back"
                ]
            )
        settings.record(self.db, self.config)
        self.append_audit(
            self.db, "init", "config", {"settings": self.config, "recorded": "ca.yml as found"}, self.signer.sign
        )

    def on_abort(self, undo) -> None:
        """Inside transaction(): run undo() if this transaction does not commit (a file published too early)."""
        self._undo.append(undo)

    def after_commit(self, publish) -> None:
        """Inside transaction(): run publish() once this transaction has committed, still holding the thread lock.
        A process killed in between leaves what publish() would have done to the next one (crl.settle)."""
        self._after.append(publish)

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
            and self._verified[1] is not None
            and self._verified[0] == version
            and not self.db.execute("SELECT 1 FROM temp.touched LIMIT 1").fetchone()
        ):
            return seal.Check([], digests=self._verified[1])
        checked = seal.check(self.db, self.signer.verify)
        if log := log_problems(self.db, self.signer.verify):
            # the seal is bound to the log's newest entry: nothing it vouches for is carried past an edited log
            checked = seal.Check(log + checked.problems, log=log)
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
            seal.write(self.db, self.signer.sign, tail[0], tail[1], before.vouched, before.version)
            return None
        digests = {**before.digests, **seal.digests(self.db, only=changed)}
        seal.write(self.db, self.signer.sign, tail[0], tail[1], digests)
        return digests

    def seal_problems(self, settings_checked: bool = True) -> list[str]:
        """What is wrong with the seal over the tables, or between ca.db and audit.head, read in one snapshot; []
        when they are as the CA left them. A disagreement with audit.head is checked again under the write lock:
        without it, another writer may commit and rewrite the head between this snapshot and reading the file."""
        with self._lock:
            for begin in ("BEGIN", "BEGIN IMMEDIATE"):
                self.db.execute(begin)
                try:
                    found = self._check().problems
                    if settings_checked:
                        found += settings.problems(self.db, self.config)
                    rolled = self._head_problems()
                finally:
                    self.db.execute("COMMIT")
                if not rolled:
                    return found
            return rolled + found

    def _head_problems(self) -> list[str]:
        """Whether ca.db's log ends where audit.head says (head.py), inside the current transaction."""
        return self.head.problems(tail_of(self.db)) if self.head else []

    def check_seal(self, db, verify) -> list[str]:
        """seal.check in full, inside the caller's transaction: what 'audit verify' reports, never a cached answer."""
        return seal.check(db, verify).problems
