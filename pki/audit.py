"""The audit log's checks beyond the database.

store/ keeps the log hash-chained, signed by the issuing CA and append-only (by triggers) inside
SQLite. Whoever can write that file can still drop the triggers and cut the newest entries: a chain
cut at its end still verifies. So the CA also signs the log's head (seq, hash) into audit.head in the
same transaction as every entry, and an auditor may keep a checkpoint of the head on their own
machine: a CA folder rolled back to a backup, head file and all, lacks the entry the checkpoint names.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from . import checks, files
from .errors import PkiError
from .store import GENESIS, entry_hash
from .store.head import HEAD_FILE, HEAD_LIMIT, Head

__all__ = ["HEAD_FILE", "Head", "chain_problems", "checkpoint_problems"]


def _last(rows) -> tuple[int, str]:
    return (rows[-1]["seq"], rows[-1]["hash"]) if rows else (0, GENESIS)


def chain_problems(rows, verify) -> list[str]:
    """Recompute the chain; verify(signature, data) -> bool checks each entry's signature."""
    problems = []
    prev, expected = GENESIS, 1
    for r in rows:
        if r["seq"] != expected:
            problems.append(
                f"entry {expected}: missing (found seq {r['seq']})"
                if r["seq"] == expected + 1
                else f"entries {expected} to {r['seq'] - 1}: missing (found seq {r['seq']})"
            )
        expected = r["seq"] + 1
        if r["prev"] != prev:
            problems.append(f"entry {r['seq']}: does not link to the entry before it")
        try:
            h = entry_hash(r["prev"], r["seq"], r["ts"], r["actor"], r["action"], r["detail"])
            signed = verify(r["sig"], bytes.fromhex(r["hash"]))
        except (TypeError, ValueError):  # a row rewritten with values of other types than the CA writes
            problems.append(f"entry {r['seq']}: malformed (its fields are not what the CA writes)")
            prev = r["hash"]
            continue
        if h != r["hash"]:
            problems.append(f"entry {r['seq']} ({r['action']} by {r['actor']}): content does not match its hash")
        if not signed:
            problems.append(f"entry {r['seq']}: signature is not the issuing CA's")
        prev = r["hash"]
    return problems


def checkpoint_problems(path: Path, ca_id: str, rows, advance: bool) -> list[str]:
    """Compare with the auditor's checkpoint at path (none yet: nothing to compare), then, if advance,
    move it to the log's current head."""
    if os.path.lexists(path):
        try:
            cp = checks.record(files.read_input(path, "--checkpoint"), "--checkpoint", HEAD_LIMIT)
            seq, h = checks.whole(cp, "seq", "--checkpoint"), checks.hex_text(cp, "hash", "--checkpoint", 64)
            cp_ca = checks.hex_text(cp, "ca", "--checkpoint", 64)
        except ValueError:
            raise PkiError(
                f"--checkpoint {path} is not a checkpoint written by 'jinbao pki audit verify'; give the "
                "one you kept, or a new file name to start one"
            ) from None
        if cp_ca != ca_id:
            raise PkiError(f"--checkpoint {path} belongs to another CA; give this CA's checkpoint")
        if {r["seq"]: r["hash"] for r in rows}.get(seq) != h:
            return [
                f"entry {seq}, which the auditor's checkpoint {path} recorded, is missing or changed: the log was "
                "rolled back or rewritten"
            ]
    if advance:
        seq, h = _last(rows)
        files.replace(path, json.dumps({"ca": ca_id, "seq": seq, "hash": h}).encode())
    return []
