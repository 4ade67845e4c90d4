"""The audit log inside the database: appending a hash-chained, signed entry, and reading the log back.

The audit table refuses UPDATE and DELETE; its entries are hash-chained and each is signed by the
issuing CA, so editing the file behind the CA's back shows up in `jinbao pki audit verify`.
"""

from __future__ import annotations

import json

from .. import clock
from .schema import AUDIT_TRIGGERS, GENESIS, TRIGGER_SQL, entry_hash


class AuditLog:
    def append_audit(self, db, actor: str, action: str, detail: dict, sign) -> None:
        """Append an entry; call inside transaction(). sign(bytes) -> signature by the issuing CA."""
        row = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        # the next number: a cut tail or a lost audit.head stopped the transaction before it got here (head.py)
        seq, prev = (row["seq"] + 1, row["hash"]) if row else (1, GENESIS)
        ts = clock.timestamp()
        text = json.dumps(detail, ensure_ascii=False, sort_keys=True)
        h = entry_hash(prev, seq, ts, actor, action, text)
        db.execute(
            "INSERT INTO audit (seq, ts, actor, action, detail, prev, hash, sig) VALUES (?,?,?,?,?,?,?,?)",
            (seq, ts, actor, action, text, prev, h, sign(bytes.fromhex(h))),
        )
        self._head = (seq, h)

    def audit_entries(self, db=None):
        """Every entry in order; pass the transaction's db to read the log in the same snapshot as the tables."""
        return (db or self.db).execute("SELECT * FROM audit ORDER BY seq").fetchall()

    def missing_triggers(self) -> list[str]:
        """The append-only triggers someone has dropped (or replaced with ones that no longer refuse)."""
        return missing_triggers(self.db)


def log_problems(db, verify) -> list[str]:
    """Why the log is not fit to append to, cheaply enough to ask before every change: its append-only
    triggers gone, an entry that does not link to the one before it, or whose content is not what its hash
    says, or a newest entry the issuing CA did not sign. Hashes and links are recomputed over the whole log
    and only the newest signature is checked: it covers its hash, which covers every entry before it, so an
    entry rewritten with its hashes recomputed shows at the end. Gaps in the numbering are left to 'audit
    verify': the CA leaves them itself when audit.head is lost or the tail was cut."""
    problems = [f"trigger {t} is missing or altered" for t in missing_triggers(db)]
    cursor = db.cursor()
    cursor.row_factory = None  # plain tuples: this runs over every entry
    prev, last = GENESIS, None
    for seq, ts, actor, action, detail, link, h, sig in cursor.execute(
        "SELECT seq, ts, actor, action, detail, prev, hash, sig FROM audit ORDER BY seq"
    ):
        try:
            ok = link == prev and entry_hash(link, seq, ts, actor, action, detail) == h
        except (TypeError, ValueError):
            ok = False
        if not ok:
            problems.append(f"entry {seq} is not what the CA wrote (its content or its link to the one before)")
            break
        prev, last = h, (h, sig)
    else:
        if last is not None and not _signed(verify, last):
            problems.append("the newest entry is not signed by the issuing CA")
    return [f"the audit log in ca.db was changed outside the CA: {'; '.join(problems)}"] if problems else []


def missing_triggers(db) -> list[str]:
    """The append-only triggers someone has dropped (or replaced with ones that no longer refuse)."""
    have = {
        r[0]: " ".join((r[1] or "").split())
        for r in db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit'")
    }
    return [t for t in AUDIT_TRIGGERS if have.get(t) != TRIGGER_SQL[t]]


def _signed(verify, last) -> bool:
    h, sig = last
    try:
        return isinstance(sig, bytes) and verify(sig, bytes.fromhex(h))
    except (TypeError, ValueError):
        return False
