"""The audit log's checks beyond the database.

store.py keeps the log hash-chained, signed by the issuing CA and append-only (by triggers) inside
SQLite. Whoever can write that file can still drop the triggers and cut the newest entries: a chain
cut at its end still verifies. So the CA also signs the log's head (seq, hash) into audit.head in the
same transaction as every entry, and an auditor may keep a checkpoint of the head on their own
machine: a CA folder rolled back to a backup, head file and all, lacks the entry the checkpoint names.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from . import files
from .errors import PkiError
from .store import GENESIS, entry_hash

HEAD_FILE = "audit.head"


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

    def write(self, seq: int, h: str) -> None:
        body = {"seq": seq, "hash": h, "sig": self.signer.sign(_head_bytes(seq, h)).hex()}
        files.replace(self.path, json.dumps(body).encode())

    def read(self) -> tuple[int, str, bytes]:
        """(seq, hash, signature); raises OSError or ValueError when missing or damaged."""
        try:
            head = json.loads(self.path.read_text())
            return int(head["seq"]), str(head["hash"]), bytes.fromhex(head["sig"])
        except (KeyError, TypeError) as e:
            raise ValueError(f"not a head record: {e}") from None

    def seq(self) -> int | None:
        """The anchored entry number; None when the record is lost (the caller then leaves a gap)."""
        try:
            return self.read()[0]
        except (OSError, ValueError):
            return None

    def problems(self, rows) -> list[str]:
        """Does the log end where its signed head says? Call while holding the write lock."""
        try:
            seq, h, sig = self.read()
        except (OSError, ValueError) as e:
            return [f"the audit log's signed head {HEAD_FILE} is missing or unreadable ({e}): its newest entries "
                    "cannot be vouched for"]
        if not self.signer.verify(sig, _head_bytes(seq, h)):
            return [f"the audit log's head {HEAD_FILE} is not signed by the issuing CA"]
        last = _last(rows)
        if (seq, h) == last:
            return []
        if seq > last[0]:
            return [f"entries {last[0] + 1} to {seq} are missing: the log ends at entry {last[0]} but its signed head "
                    f"({HEAD_FILE}) says it reached entry {seq}"]
        return [f"the log's newest entry {last[0]} is not the one its signed head ({HEAD_FILE}) names (entry {seq}): "
                "entries were replaced or added behind the CA's back"]


def chain_problems(rows, verify) -> list[str]:
    """Recompute the chain; verify(signature, data) -> bool checks each entry's signature."""
    problems = []
    prev, expected = GENESIS, 1
    for r in rows:
        if r["seq"] != expected:
            problems.append(f"entry {expected}: missing (found seq {r['seq']})" if r["seq"] == expected + 1 else
                            f"entries {expected} to {r['seq'] - 1}: missing (found seq {r['seq']})")
        expected = r["seq"] + 1
        if r["prev"] != prev:
            problems.append(f"entry {r['seq']}: does not link to the entry before it")
        h = entry_hash(r["prev"], r["seq"], r["ts"], r["actor"], r["action"], r["detail"])
        if h != r["hash"]:
            problems.append(f"entry {r['seq']} ({r['action']} by {r['actor']}): content does not match its hash")
        if not verify(r["sig"], bytes.fromhex(r["hash"])):
            problems.append(f"entry {r['seq']}: signature is not the issuing CA's")
        prev = r["hash"]
    return problems


def checkpoint_problems(path: Path, ca_id: str, rows, advance: bool) -> list[str]:
    """Compare with the auditor's checkpoint at path (none yet: nothing to compare), then, if advance,
    move it to the log's current head."""
    if os.path.lexists(path):
        try:
            cp = json.loads(files.read_input(path, "--checkpoint"))
            seq, h, cp_ca = int(cp["seq"]), str(cp["hash"]), cp["ca"]
        except (ValueError, KeyError, TypeError):
            raise PkiError(f"--checkpoint {path} is not a checkpoint written by 'jinbao pki audit verify'; give the "
                           "one you kept, or a new file name to start one") from None
        if cp_ca != ca_id:
            raise PkiError(f"--checkpoint {path} belongs to another CA; give this CA's checkpoint")
        if {r["seq"]: r["hash"] for r in rows}.get(seq) != h:
            return [f"entry {seq}, which the auditor's checkpoint {path} recorded, is missing or changed: the log was "
                    "rolled back or rewritten"]
    if advance:
        seq, h = _last(rows)
        files.replace(path, json.dumps({"ca": ca_id, "seq": seq, "hash": h}).encode())
    return []
