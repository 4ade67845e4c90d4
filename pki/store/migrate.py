"""Bringing a CA database made by earlier code up to the current schema, inside the first transaction that writes.

Each step is idempotent and cheap once done (a PRAGMA and an indexed lookup), so every write transaction runs them:
a database copied in from a backup, or written meanwhile by an older jinbao, is brought up to date too.
"""

from __future__ import annotations

import hashlib

from cryptography import x509

from ..keys import spki
from .schema import KEY_COLUMN, KEY_INDEX


def key_sha256(pem: str) -> str:
    """sha256 of a certificate's SubjectPublicKeyInfo; '' for a PEM that does not parse (a row the CA did not write
    whole, which 'audit verify' names: the CA never wrote one)."""
    try:
        return hashlib.sha256(spki(x509.load_pem_x509_certificate(pem.encode()))).hexdigest()
    except (ValueError, TypeError, AttributeError):
        return ""


def key_column(db) -> None:
    """certs.key_sha256 and its index, inside the caller's transaction, before the seal is checked."""
    if not any(r[1] == "key_sha256" for r in db.execute("PRAGMA table_info(certs)")):
        db.execute(KEY_COLUMN)
        db.execute(KEY_INDEX)


def fill_keys(db) -> None:
    """key_sha256 for every row that lacks it, from its PEM; after the seal was checked, so the seal that ends the
    transaction covers what was filled in (an edit that blanked a sealed key shows before this repairs it)."""
    missing = db.execute("SELECT serial, pem FROM certs WHERE key_sha256 IS NULL").fetchall()
    if missing:
        db.executemany("UPDATE certs SET key_sha256 = ? WHERE serial = ?", [(key_sha256(r[1]), r[0]) for r in missing])
