"""Changing ca.yml's settings: a CA administrator adopts an edited ca.yml, and the change is logged and sealed.

Until then the CA acts for no one while ca.yml differs from what it recorded (store/settings.py): an edit is either
put back or owned by name."""

from __future__ import annotations

from . import checks
from .errors import PkiError
from .gate import authorize, refusals_logged
from .store import settings


def adopt(ca, cred) -> list[str]:
    """Record ca.yml's settings as the CA's own; returns what changed ([] when nothing did, and nothing is logged)."""
    with refusals_logged(ca, "config"):
        op = authorize(ca, cred, "config")
        with ca.store.transaction(intact=True, settings_checked=False) as db:
            recorded = ca.store.sealed_config(db)
            if recorded is None:  # a CA made before settings were recorded: what its init entry logged still holds
                fixed = settings.signed_by_ca(db, ca.cfg)
                recorded = {}
            else:
                fixed = [
                    f"{k}: ca.yml says {checks.shown(ca.cfg.get(k))}, the CA was created with "
                    f"{checks.shown(recorded.get(k))}"
                    for k in settings.FIXED
                    if recorded.get(k) != ca.cfg.get(k)
                ]
            if fixed:
                raise PkiError(
                    "ca.yml: " + "; ".join(fixed) + ". These describe the CA as 'jinbao pki init' made it and change "
                    "nothing it made; put them back (a CA of another estate or key type is a new CA: 'jinbao pki init "
                    "--ca-dir NEW-FOLDER')"
                )
            changed = settings.differences(recorded, ca.cfg)
            if not changed:
                return []
            ca.store.record_config(db, ca.cfg)
            ca.audit(db, op.name, "config", {"settings": ca.cfg, "changed": changed})
        return changed
