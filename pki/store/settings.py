"""ca.yml's settings, sealed: the CA acts only while ca.yml says what the CA recorded.

ca.yml is policy as much as a profile is: the CRL's and OCSP answers' lifetimes (how long a revocation may go unseen),
the URLs every certificate points relying parties to, the estate whose names certificates carry. Whoever can write
the CA folder could change them without the CA noticing. So the CA records the settings in ca.db (meta 'config', one
canonical JSON text), where the seal's counters group covers them like the CRL numbers (seal.py), and logs each change:
at init, when a CA made before this was first written to, and when a CA administrator adopts an edited ca.yml
('jinbao pki config adopt'). Before it acts, the CA compares ca.yml with the record; while they differ it acts for
no one, and `audit verify` names each setting that moved.
"""

from __future__ import annotations

import json

KEY = "config"
# Settings that describe the hierarchy as init made it (its key type, its certificates' lifetimes, the estate its
# issuing CA is name-constrained to): changing them in ca.yml changes nothing the CA made, so it is never adopted.
FIXED = ("estate", "ca_key_type", "root_validity_days", "issuing_validity_days")


def canonical(cfg: dict) -> str:
    return json.dumps(cfg, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sealed(db) -> dict | None:
    """The settings the CA recorded, or None when no jinbao that records them has written to this ca.db yet."""
    row = db.execute("SELECT value FROM meta WHERE key = ?", (KEY,)).fetchone()
    if row is None:
        return None
    try:
        value = json.loads(row[0])
    except (TypeError, ValueError, RecursionError):
        return {}  # not what the CA wrote; the seal says so too
    return value if isinstance(value, dict) else {}


def record(db, cfg: dict) -> None:
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (KEY, canonical(cfg)))


def differences(recorded: dict, cfg: dict) -> list[str]:
    """'key: ca.yml says X, the CA recorded Y' for each setting that differs."""
    return [
        f"{k}: ca.yml says {cfg.get(k)!r}, the CA recorded {recorded.get(k)!r}"
        for k in sorted(set(recorded) | set(cfg))
        if recorded.get(k) != cfg.get(k)
    ]


def problems(db, cfg: dict | None) -> list[str]:
    """Why ca.yml (parsed as cfg) is not the configuration the CA recorded; [] when it is, or none is recorded yet."""
    if cfg is None or (recorded := sealed(db)) is None:
        return []
    if not (diff := differences(recorded, cfg)):
        return []
    return [
        "ca.yml is not the configuration the CA recorded (" + "; ".join(diff[:6]) + "): it was edited outside the "
        "CA. Put the recorded values back, or, to change a setting, a CA administrator runs 'jinbao pki config "
        "adopt' (logged)"
    ]


def signed_by_ca(db, cfg: dict) -> list[str]:
    """What a CA made before settings were recorded can still vouch for, before ca.yml's are recorded as they stand:
    the estate and key type its init entry logged. Others (lifetimes, URLs) are taken as found, and logged."""
    row = db.execute("SELECT detail FROM audit WHERE action = 'init' ORDER BY seq LIMIT 1").fetchone()
    try:
        init = json.loads(row[0]) if row else {}
    except (TypeError, ValueError, RecursionError):
        init = {}
    logged = {"estate": init.get("estate"), "ca_key_type": init.get("key_type")}
    return [
        f"{k}: ca.yml says {cfg.get(k)!r}, but the CA was created with {v!r} (its init entry)"
        for k, v in logged.items()
        if v is not None and cfg.get(k) != v
    ]
