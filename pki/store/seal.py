"""The CA's seal over its tables: the facts every decision rests on, signed by the issuing CA.

The audit log says what happened; the tables say where things stand: who is an operator and in which role,
which certificates are revoked, which CRL was published last, which OCSP signer is in use. Whoever can write
ca.db can change a row without touching the log (`UPDATE operators SET role = 'ca_admin'`, `UPDATE certs SET
revoked_at = NULL`). So every transaction that changes the tables ends by sealing them: a digest of each group
of facts, bound to the log's newest entry, signed by the issuing CA and stored in the same transaction (meta
'seal'). Before it acts, the CA recomputes the digests and compares, and so does the OCSP responder before it
answers: an edited row stops them instead of being believed. A seal copied back from an earlier state names an
older entry than the log's newest, so it does not pass either.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass, field

from .. import checks

KEY = "seal"
LIMIT = 4096  # the record is about 600 bytes
# Each group of facts as rows in a fixed order; one digest per group, so a mismatch names what moved.
FACTS = {
    "operators": "SELECT name, role, serial FROM operators ORDER BY name",
    "own": "SELECT serial, profile, fingerprint, revoked_at, revoke_reason, renewed_from, key_sha256 FROM certs "
    "WHERE profile IN ('operator', 'ocsp_signer') ORDER BY serial",
    "revoked": "SELECT serial, revoked_at, revoke_reason, key_sha256 FROM certs WHERE revoked_at IS NOT NULL "
    "ORDER BY serial",
    "counters": f"SELECT key, value FROM meta WHERE key != '{KEY}' ORDER BY key",
}
# Seals made before the key column (version 1) cover the same groups without it. One is still believed until the
# CA next writes, which seals version 2: the keys that refusals look up (a compromised key, an operator's) are then
# sealed with the rest, so an edited key_sha256 stops the CA instead of letting a compromised key through.
FACTS_V1 = {
    **FACTS,
    "own": "SELECT serial, profile, fingerprint, revoked_at, revoke_reason, renewed_from FROM certs "
    "WHERE profile IN ('operator', 'ocsp_signer') ORDER BY serial",
    "revoked": "SELECT serial, revoked_at, revoke_reason FROM certs WHERE revoked_at IS NOT NULL ORDER BY serial",
}
VERSION = 2
LABELS = {
    "operators": "operators",
    "own": "operator and OCSP signer certificates",
    "revoked": "revocations",
    "counters": "CRL numbers and OCSP signer",
}


# Temp triggers (on this connection only, never stored in ca.db) that note which groups a transaction changed,
# so sealing recomputes those and carries the others: issuing a device certificate costs no pass over the
# revocations. An UPDATE or DELETE of a certificate may touch either certificate group.
WATCH = [
    "CREATE TEMP TABLE IF NOT EXISTS touched (grp TEXT PRIMARY KEY)",
    *(
        f"CREATE TEMP TRIGGER IF NOT EXISTS seal_ops_{op[0]} AFTER {op} ON main.operators "
        "BEGIN INSERT OR IGNORE INTO touched VALUES ('operators'); END"
        for op in ("INSERT", "UPDATE", "DELETE")
    ),
    "CREATE TEMP TRIGGER IF NOT EXISTS seal_certs_i AFTER INSERT ON main.certs BEGIN "
    "INSERT OR IGNORE INTO touched SELECT 'own' WHERE NEW.profile IN ('operator', 'ocsp_signer'); "
    "INSERT OR IGNORE INTO touched SELECT 'revoked' WHERE NEW.revoked_at IS NOT NULL; END",
    *(
        f"CREATE TEMP TRIGGER IF NOT EXISTS seal_certs_{op[0]} AFTER {op} ON main.certs "
        "BEGIN INSERT OR IGNORE INTO touched VALUES ('own'), ('revoked'); END"
        for op in ("UPDATE", "DELETE")
    ),
    *(
        f"CREATE TEMP TRIGGER IF NOT EXISTS seal_meta_{op[0]} AFTER {op} ON main.meta WHEN {row}.key != '{KEY}' "
        "BEGIN INSERT OR IGNORE INTO touched VALUES ('counters'); END"
        for op, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD"))
    ),
]


def touched(db) -> set[str]:
    """The groups changed since the last call (inside the current transaction), and forget them."""
    groups = {r[0] for r in db.execute("SELECT grp FROM temp.touched")}
    db.execute("DELETE FROM temp.touched")
    return groups


def digests(db, only=FACTS, facts=FACTS) -> dict[str, str]:
    out = {}
    cursor = db.cursor()
    cursor.row_factory = None  # plain tuples: this runs over every revocation
    for name in only:
        # str() of a float is its repr: the same timestamp always hashes the same
        text = "".join(["\x1f".join(map(str, row)) + "\n" for row in cursor.execute(facts[name])])
        out[name] = hashlib.sha256(text.encode()).hexdigest()
    return out


def _body(seq: int, h: str, d: dict, version: int = VERSION) -> bytes:
    # the version is signed too: a version-2 seal relabelled 1 is checked against the wrong facts and fails
    tag = "jinbao seal" if version == 1 else f"jinbao seal v{version}"
    return f"{tag} {seq} {h} {json.dumps(d, sort_keys=True, separators=(',', ':'))}".encode()


def write(db, sign, seq: int, h: str, d: dict, version: int = VERSION) -> None:
    record = {"seq": seq, "hash": h, "digests": d, "sig": sign(_body(seq, h, d, version)).hex()}
    if version != 1:
        record["v"] = version
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (KEY, json.dumps(record)))


@dataclass
class Check:
    problems: list[str]
    # The digests the seal vouches for when it is the CA's and current, though the tables no longer match it:
    # carried into the next seal, so logging a refusal never turns an edit into the CA's own state.
    vouched: dict | None = None
    # The tables' digests (as the current version seals them), when they are what the seal says.
    digests: dict | None = None
    # The version of the seal found: what `vouched` is a digest of.
    version: int = VERSION
    # What is wrong with the audit log itself: nothing more is appended to it, not even a refusal.
    log: list[str] = field(default_factory=list)


def check(db, verify) -> Check:
    """Do the tables say what the CA sealed? Call inside one read or write transaction (a consistent snapshot)."""
    row = db.execute("SELECT value FROM meta WHERE key = ?", (KEY,)).fetchone()
    tail = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    if row is None:
        if tail is None and _empty(db):
            return Check([], digests=digests(db))  # a CA being created: nothing to vouch for yet
        return Check(
            [
                "the CA's seal over its tables (meta 'seal' in ca.db) is missing: nothing vouches for the "
                "operators and revocations in ca.db"
            ]
        )
    try:
        record = checks.record(str(row[0]).encode(), "the seal", LIMIT)
        seq, h = checks.whole(record, "seq", "the seal"), checks.hex_text(record, "hash", "the seal", 64)
        sealed = record.get("digests")
        if not isinstance(sealed, dict) or set(sealed) != set(FACTS):
            raise ValueError("not the sealed groups")
        for name in FACTS:
            checks.hex_text(sealed, name, "the seal", 64)
        sig = bytes.fromhex(checks.hex_text(record, "sig", "the seal"))
        version = checks.whole(record, "v", "the seal", 2, VERSION) if "v" in record else 1
    except ValueError as e:
        return Check([f"the CA's seal over its tables (meta 'seal' in ca.db) is damaged ({e})"])
    if not verify(sig, _body(seq, h, sealed, version)):
        return Check(["the CA's seal over its tables (meta 'seal' in ca.db) is not signed by the issuing CA"])
    # A seal older than the log's newest entry (or naming another entry at its number) came back from an earlier
    # state, with the tables it vouched for then. A seal newer than the log means entries were cut from the log's
    # tail ('audit verify' reports that against audit.head); the tables are still the ones the CA sealed last.
    if tail is not None and (seq < tail[0] or (seq == tail[0] and h != tail[1])):
        return Check(
            [
                f"the CA's seal was made at log entry {seq}, but the log's newest entry is {tail[0]}: the "
                "tables were put back from an earlier state"
            ]
        )
    now = digests(db, facts=FACTS if version == VERSION else FACTS_V1)
    changed = [name for name in FACTS if now[name] != sealed[name]]
    if changed:
        return Check(
            [
                f"the {', '.join(LABELS[c] for c in changed)} in ca.db are not what the CA sealed: they were "
                "changed outside the CA"
            ],
            vouched=sealed,
            version=version,
        )
    if version != VERSION:
        # believed as version 1; what the next seal carries forward is in the current version's terms (the writer
        # has added the key column by now; a read-only reader of an older database never seals)
        try:
            now = digests(db)
        except sqlite3.OperationalError:
            now = None
    return Check([], digests=now, version=version)


def _empty(db) -> bool:
    return all(db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] == 0 for t in ("certs", "operators"))
