"""Replaying the audit log against the tables: what 'audit verify' reports beyond the chain itself.

The log is signed and chained; the tables are not. Replaying the entries that change state (a certificate
issued or renewed, an operator added or recovered, a revocation, a CRL, the OCSP signer, the root's revocation
of the issuing CA) gives what the tables must say. Every difference is reported: a role raised, a revocation
erased or invented, a certificate in the database that no entry issued (left behind when entries were cut from
the log, even if an old audit.head was put back with them), an entry whose certificate is gone.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from .store import settings
from .store.records import issuing_revoked_value

# Entries that bring a certificate into the tables (each records serial, profile, fingerprint, ...).
ISSUING = {"issue", "renew", "operator_add", "recover_admin", "ocsp_signer"}


@dataclass
class Expected:
    certs: dict = field(default_factory=dict)  # serial -> {seq, profile, fingerprint, revoked: (reason, at)}
    operators: dict = field(default_factory=dict)  # name -> (role, serial)
    meta: dict = field(default_factory=dict)  # crl_number, crl_next_update, root_crl_number, ocsp_signer, …


def expected(rows) -> Expected:
    """The tables as the log says they are. Entries that do not parse are the chain check's to report."""
    want = Expected()
    for r in rows:
        try:
            d = json.loads(r["detail"])
        except (TypeError, ValueError, RecursionError):
            continue
        if isinstance(d, dict):
            _apply(want, r["seq"], r["action"], d)
    return want


def _apply(want: Expected, seq: int, action: str, d: dict) -> None:
    serial = d.get("serial")
    if action in ISSUING and isinstance(serial, str) and "profile" in d:
        want.certs[serial] = {
            "seq": seq,
            "profile": d["profile"],
            "fingerprint": d.get("fingerprint"),
            "renewed_from": d.get("renewed_from"),
            "revoked": None,
        }
        if d["profile"] == "operator":
            name, role = d.get("operator") or _rdn(d, "CN"), d.get("role") or _rdn(d, "OU")
            if d.get("renewed_from"):
                name = next((n for n, (_, s) in want.operators.items() if s == d["renewed_from"]), name)
            want.operators[name] = (role, serial)
        elif d["profile"] == "ocsp_signer":
            want.meta["ocsp_signer"] = serial
    elif action == "revoke" and isinstance(serial, str):
        if serial in want.certs:
            want.certs[serial]["revoked"] = (d.get("reason"), d.get("revoked_at"))
        else:
            want.certs[serial] = {"seq": seq, "revoked": (d.get("reason"), d.get("revoked_at")), "orphan": True}
    elif action == "crl":
        want.meta["crl_number"] = str(d.get("crl_number"))
        want.meta["crl_next_update"] = d.get("next_update")
    elif action == "root_crl":
        want.meta["root_crl_number"] = str(d.get("crl_number"))
    elif action in ("init", "config") and isinstance(d.get("settings"), dict):
        want.meta["config"] = settings.canonical(d["settings"])
    elif action == "revoke_issuing_ca":
        want.meta["issuing_revoked"] = issuing_revoked_value(serial, d.get("revoked_at"), d.get("reason"))


def _rdn(d: dict, attr: str) -> str | None:
    """CN or OU from an entry's subject (entries written before they carried 'operator' and 'role')."""
    m = re.search(rf"(?:^|,){attr}=([A-Za-z0-9._-]+)(?:,|$)", str(d.get("subject", "")))
    return m.group(1) if m else None


def mismatches(tables, rows) -> list[str]:
    """Every difference between the tables (store.Tables) and the log's replay, one line each."""
    want = expected(rows)
    out = []
    have = tables.certs
    for serial, row in have.items():
        w = want.certs.get(serial)
        if w is None or w.get("orphan"):
            out.append(
                f"certificate {serial} ({row['profile']}) is in ca.db but no log entry issued it: it was added "
                "behind the CA's back, or the entries recording it were cut from the log"
            )
            continue
        if row["profile"] != w["profile"]:
            out.append(
                f"certificate {serial}: ca.db says profile {row['profile']}, entry {w['seq']} issued it as "
                f"{w['profile']}"
            )
        if w["fingerprint"] and row["fingerprint"] != w["fingerprint"]:
            out.append(f"certificate {serial}: ca.db holds another certificate than entry {w['seq']} issued")
        out += _revocation(serial, row, w["revoked"])
    for serial, w in want.certs.items():
        if serial not in have and not w.get("orphan"):
            out.append(f"certificate {serial}, issued at entry {w['seq']}, is missing from ca.db")
    ops = tables.operators
    for name in sorted(set(ops) | set(want.operators)):
        if name not in want.operators:
            out.append(f"operator {name} ({ops[name][0]}) is in ca.db but the log never added them")
        elif name not in ops:
            out.append(f"operator {name}, added in the log, is missing from ca.db")
        elif ops[name] != want.operators[name]:
            (role, serial), (w_role, w_serial) = ops[name], want.operators[name]
            out.append(
                f"operator {name}: ca.db says {role} with credential {serial}, the log says {w_role} with "
                f"credential {w_serial}"
            )
    meta = tables.meta
    for key in sorted(set(meta) | set(want.meta)):
        if meta.get(key) != want.meta.get(key):
            out.append(f"{key}: ca.db says {meta.get(key)}, the log says {want.meta.get(key)}")
    return out


def _revocation(serial: str, row, revoked) -> list[str]:
    if revoked is None:
        if row["revoked_at"] is not None:
            return [f"certificate {serial} is marked revoked in ca.db but no log entry revoked it"]
        return []
    reason, at = revoked
    if row["revoked_at"] is None:
        return [
            f"certificate {serial} was revoked ({reason}) in the log, but ca.db says it is not: OCSP and the next "
            "CRL would call it good"
        ]
    if row["revoke_reason"] != reason or (at is not None and row["revoked_at"] != at):
        return [
            f"certificate {serial}: ca.db's revocation ({row['revoke_reason']}) is not the one the log records "
            f"({reason})"
        ]
    return []
