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

HEAD_FILE = "audit.head"
HEAD_LIMIT = 4096  # the record is about 300 bytes


def _head_bytes(seq: int, h: str) -> bytes:
    return f"jinbao audit head {seq} {h}".encode()


def _last(rows) -> tuple[int, str]:
    return (rows[-1]["seq"], rows[-1]["hash"]) if rows else (0, GENESIS)


class Head:
    """The signed record of the log's newest entry, kept in the CA folder beside the database.

    The store writes it before each commit that appended entries, and reads it before appending: a new
    entry never takes the number of one cut from the tail, so the gap stays for 'audit verify' to see."""

    def __init__(self, ca_dir: Path, signer):
        self.path = Path(ca_dir) / HEAD_FILE
        self.signer = signer

    def write(self, seq: int, h: str):
        """Replace the record; returns the function that puts the previous one back (for a failed commit)."""
        body = {"seq": seq, "hash": h, "sig": self.signer.sign(_head_bytes(seq, h)).hex()}
        return files.replace(self.path, json.dumps(body).encode())

    def read(self) -> tuple[int, str, bytes]:
        """(seq, hash, signature); raises OSError or ValueError when missing, damaged or out of range."""
        with open(self.path, "rb") as f:
            data = f.read(HEAD_LIMIT + 1)
        head = checks.record(data, HEAD_FILE, HEAD_LIMIT)
        return (
            checks.whole(head, "seq", HEAD_FILE),
            checks.hex_text(head, "hash", HEAD_FILE, 64),
            bytes.fromhex(checks.hex_text(head, "sig", HEAD_FILE)),
        )

    def seq(self) -> int | None:
        """The anchored entry number, if the CA signed it; None when the record is lost, damaged or not the CA's
        (the caller then leaves a gap). A number nobody signed is never used: a planted 2**63 - 1 would make
        every later entry overflow."""
        try:
            seq, h, sig = self.read()
        except (OSError, ValueError):
            return None
        return seq if self.signer.verify(sig, _head_bytes(seq, h)) else None

    def problems(self, rows) -> list[str]:
        """Does the log end where its signed head says? Call while holding the write lock."""
        try:
            seq, h, sig = self.read()
        except (OSError, ValueError) as e:
            return [
                f"the audit log's signed head {HEAD_FILE} is missing or unreadable ({e}): its newest entries "
                "cannot be vouched for"
            ]
        if not self.signer.verify(sig, _head_bytes(seq, h)):
            return [f"the audit log's head {HEAD_FILE} is not signed by the issuing CA"]
        last = _last(rows)
        if (seq, h) == last:
            return []
        if seq > last[0]:
            return [
                f"entries {last[0] + 1} to {seq} are missing: the log ends at entry {last[0]} but its signed head "
                f"({HEAD_FILE}) says it reached entry {seq}"
            ]
        return [
            f"the log's newest entry {last[0]} is not the one its signed head ({HEAD_FILE}) names (entry {seq}): "
            "entries were replaced or added behind the CA's back"
        ]


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
