"""Reading the CA's records: lists, one certificate, what expires soon, the audit log as people read it."""

from __future__ import annotations

import time

from . import checks
from .errors import PkiError
from .gate import authorize
from .keys import key_sha256
from .store import utc


def existing(ca, serial: str):
    row = ca.store.cert(checks.serial(serial))
    if row is None:
        raise PkiError(f"no certificate with serial {serial} in this CA")
    return row


def state_of(row, now: float) -> str:
    return "revoked" if row["revoked_at"] else ("expired" if row["not_after"] < now else "valid")


def list_certs(ca, cred, *, site=None, profile=None, status=None, device=None) -> list[dict]:
    authorize(ca, cred, "read")
    now = time.time()
    wanted = {"site": site, "profile": profile, "device": device}
    out = []
    for r in ca.store.certs():
        st = state_of(r, now)
        if any(v and r[k] != v for k, v in wanted.items()) or (status and st != status):
            continue
        out.append(
            {
                "serial": r["serial"],
                "status": st,
                "profile": r["profile"],
                "subject": r["subject"],
                "device": r["device"],
                "site": r["site"],
                "not_after": utc(r["not_after"]).isoformat(),
                "revoke_reason": r["revoke_reason"],
                "key_sha256": _key_of(r),
            }
        )
    return out


def _key_of(row) -> str:
    """The indexed key hash; from the PEM in a database no CA of this version has written to yet (not migrated)."""
    indexed = row["key_sha256"] if "key_sha256" in row.keys() else None  # noqa: SIM118 (a Row is no dict)
    return indexed or key_sha256(row["pem"])


def show(ca, cred, serial: str) -> dict:
    authorize(ca, cred, "read")
    r = existing(ca, serial)
    return {**dict(r), "not_before": utc(r["not_before"]).isoformat(), "not_after": utc(r["not_after"]).isoformat()}


def expiring(ca, cred, days: int) -> dict[str, list[dict]]:
    """Valid certificates that expire within `days`, grouped by site."""
    authorize(ca, cred, "read")
    days = checks.days(days, 36500, "'jinbao pki expiring'", minimum=0)
    now = time.time()
    per_site: dict[str, list[dict]] = {}
    for r in ca.store.expiring_between(now, now + days * 86400):
        per_site.setdefault(r["site"] or "(no site)", []).append(
            {
                "serial": r["serial"],
                "profile": r["profile"],
                "subject": r["subject"],
                "device": r["device"],
                "not_after": utc(r["not_after"]).isoformat(),
                "days_left": int((r["not_after"] - now) // 86400),
            }
        )
    return per_site


def audit_log(ca, cred) -> list[dict]:
    authorize(ca, cred, "audit")
    return [
        {
            "seq": r["seq"],
            "time": utc(r["ts"]).isoformat(),
            "actor": r["actor"],
            "action": r["action"],
            "detail": r["detail"],
        }
        for r in ca.store.audit_entries()
    ]
