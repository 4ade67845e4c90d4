"""What is recorded about certificates and operators, and the counters the CA keeps: named reads and writes.

Methods that take `db` run inside the caller's transaction (Store.transaction); the others read on their own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from . import settings

# No ORDER BY: SQLite would walk the primary key in order to skip a sort, a pass over every certificate, instead of
# looking the key up in certs_key (tests/pki/test_pki_keys_and_crash.py checks the plan).
WITH_KEY = (
    "SELECT c.serial, c.profile, c.subject, c.device, c.not_after, c.revoked_at, c.revoke_reason, c.pem, "
    "o.name AS operator FROM certs c LEFT JOIN operators o ON o.serial = c.serial WHERE c.key_sha256 = ?"
)


def issuing_revoked_value(serial, at, reason) -> str:
    return json.dumps({"serial": serial, "revoked_at": at, "reason": reason}, sort_keys=True)


@dataclass
class Tables:
    """The rows 'audit verify' replays the log against (replay.py)."""

    certs: dict  # serial -> row (serial, profile, fingerprint, revoked_at, revoke_reason, renewed_from)
    operators: dict  # name -> (role, serial)
    meta: dict  # crl_number, crl_next_update, root_crl_number, ocsp_signer, issuing_revoked


class Certificates:
    def record_issued(self, db, **row) -> None:
        """Record an issued certificate; sqlite3.IntegrityError when its serial (or fingerprint) is taken."""
        db.execute(
            "INSERT INTO certs (serial, profile, subject, device, site, not_before, not_after, fingerprint, pem, "
            "key_sha256, issued_by, renewed_from) VALUES (:serial, :profile, :subject, :device, :site, :not_before, "
            ":not_after, :fingerprint, :pem, :key_sha256, :issued_by, :renewed_from)",
            row,
        )

    def with_key(self, db, key_sha256: str):
        """Every certificate of one key (an index lookup), with the operator it is the credential of, if any."""
        return sorted(db.execute(WITH_KEY, (key_sha256,)).fetchall(), key=lambda r: r["serial"])

    def cert_key(self, db, serial: str) -> str:
        """The key hash of a recorded certificate ('' when it has none)."""
        row = db.execute("SELECT key_sha256 FROM certs WHERE serial = ?", (serial,)).fetchone()
        return (row[0] if row else None) or ""

    def cert(self, serial: str):
        return self.db.execute("SELECT * FROM certs WHERE serial = ?", (serial.lower(),)).fetchone()

    def certs(self):
        return self.db.execute("SELECT * FROM certs ORDER BY not_after").fetchall()

    def expiring_between(self, start: float, end: float):
        """Unrevoked certificates whose not_after falls in [start, end]."""
        return self.db.execute(
            "SELECT * FROM certs WHERE revoked_at IS NULL AND not_after >= ? AND not_after <= ? ORDER BY not_after",
            (start, end),
        ).fetchall()

    def is_revoked(self, db, serial: str) -> bool:
        return db.execute("SELECT revoked_at FROM certs WHERE serial = ?", (serial,)).fetchone()[0] is not None

    def mark_revoked(self, db, serial: str, reason: str, ts: float) -> bool:
        """Mark a certificate revoked unless it already is; False when another revocation got there first."""
        return (
            db.execute(
                "UPDATE certs SET revoked_at = ?, revoke_reason = ? WHERE serial = ? AND revoked_at IS NULL",
                (ts, reason, serial),
            ).rowcount
            == 1
        )

    def mark_compromised(self, db, serial: str, reason: str, weaker: tuple) -> float | None:
        """Raise a revocation's reason to a compromise (RFC 5280 keeps the entry, with its date); the revocation
        time when done, None unless it was revoked for one of the weaker reasons."""
        row = db.execute("SELECT revoked_at, revoke_reason FROM certs WHERE serial = ?", (serial,)).fetchone()
        if row is None or row[0] is None or row[1] in weaker:
            return None
        db.execute("UPDATE certs SET revoke_reason = ? WHERE serial = ?", (reason, serial))
        return row[0]

    def revoked_entries(self, db):
        """(serial, revoked_at, revoke_reason) of every revocation, for the CRL."""
        return db.execute("SELECT serial, revoked_at, revoke_reason FROM certs WHERE revoked_at IS NOT NULL")

    # -- counters and settings (meta) ------------------------------------------------------------
    def next_crl_number(self, db, at_least: int = 1) -> int:
        """The next CRL number: above the last one recorded and at least `at_least` (above the one published)."""
        return self._next_number(db, "crl_number", at_least)

    def next_root_crl_number(self, db, at_least: int = 1) -> int:
        return self._next_number(db, "root_crl_number", at_least)

    def _next_number(self, db, key: str, at_least: int) -> int:
        row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        n = max(int(row[0]) + 1 if row else 1, at_least)
        self._set(db, key, str(n))
        return n

    def set_crl_next_update(self, db, when: str) -> None:
        self._set(db, "crl_next_update", when)

    def crl_record(self) -> dict:
        """What the CA recorded of the issuing CRL it published last: crl_number and crl_next_update."""
        return dict(
            self.db.execute("SELECT key, value FROM meta WHERE key IN ('crl_number', 'crl_next_update')").fetchall()
        )

    def ocsp_signer(self, db) -> str | None:
        """The serial of the OCSP signer in use."""
        row = db.execute("SELECT value FROM meta WHERE key = 'ocsp_signer'").fetchone()
        return row[0] if row else None

    def set_ocsp_signer(self, db, serial: str) -> None:
        self._set(db, "ocsp_signer", serial)

    def issuing_revoked(self, db=None) -> dict | None:
        """The offline root's revocation of the issuing CA: {serial, revoked_at, reason}, or None."""
        row = (db or self.db).execute("SELECT value FROM meta WHERE key = 'issuing_revoked'").fetchone()
        return json.loads(row[0]) if row else None

    def set_issuing_revoked(self, db, serial: str, at: float, reason: str) -> str:
        """Record it (sealed with the counters); returns the value, as replay.py rebuilds it from the log entry."""
        value = issuing_revoked_value(serial, at, reason)
        self._set(db, "issuing_revoked", value)
        return value

    def record_config(self, db, cfg: dict) -> None:
        """ca.yml's settings, as the CA now holds them (sealed with the counters; settings.py)."""
        settings.record(db, cfg)

    def sealed_config(self, db) -> dict | None:
        return settings.sealed(db)

    def config_problems(self, db, cfg: dict) -> list[str]:
        return settings.problems(db, cfg)

    def meta(self, db) -> dict:
        return dict(db.execute("SELECT key, value FROM meta").fetchall())

    def _set(self, db, key: str, value: str) -> None:
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def named_rows(self, db):
        """(serial, subject, device, pem) of every certificate: what 'audit verify' compares with what was signed."""
        cursor = db.cursor()
        cursor.row_factory = None
        return cursor.execute("SELECT serial, subject, device, pem FROM certs")

    def replay_tables(self, db) -> Tables:
        return Tables(
            certs={
                r["serial"]: r
                for r in db.execute(
                    "SELECT serial, profile, fingerprint, revoked_at, revoke_reason, renewed_from FROM certs"
                )
            },
            operators={
                r["name"]: (r["role"], r["serial"]) for r in db.execute("SELECT name, role, serial FROM operators")
            },
            meta=dict(
                db.execute(
                    "SELECT key, value FROM meta WHERE key IN ('crl_number', 'crl_next_update', "
                    "'root_crl_number', 'ocsp_signer', 'issuing_revoked', 'config')"
                ).fetchall()
            ),
        )


class Operators:
    def operator(self, serial: str):
        return self.db.execute("SELECT name, role, serial FROM operators WHERE serial = ?", (serial,)).fetchone()

    def operator_by_name(self, db, name: str):
        """Names are unique regardless of case: 'Alice' is 'alice'."""
        return db.execute("SELECT name, role, serial FROM operators WHERE name = ? COLLATE NOCASE", (name,)).fetchone()

    def add_operator(self, db, name: str, role: str, serial: str) -> None:
        db.execute("INSERT INTO operators (name, role, serial) VALUES (?,?,?)", (name, role, serial))

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
