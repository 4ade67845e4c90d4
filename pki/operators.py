"""The CA's operators: adding one (a CA administrator's job), and recovering an administrator with the root."""

from __future__ import annotations

from pathlib import Path

from . import authz, checks, files, issuance, keyreuse, profiles
from .errors import PkiError
from .gate import authorize, refusals_logged
from .issuance import Issued, Request


def add_operator(ca, cred, name: str, role: str, out: Path) -> Issued:
    op = authorize(ca, cred, "operator_add")
    with refusals_logged(ca, "operator_add", operator=str(name)[:64]):
        return add(ca, name, role, files.Outputs(out), op.name)


def recover_admin(ca, root_passphrase: bytes, name: str, out: Path) -> Issued:
    """A new CA administrator on the strength of the offline root's passphrase alone: the way back when
    every ca_admin credential is lost, expired or revoked. Audit-logged with the actor 'root'."""
    ca.root_signer(root_passphrase)
    with refusals_logged(ca, "recover_admin", operator=str(name)[:64]):
        return add(ca, name, "ca_admin", files.Outputs(out), "root", "recover_admin")


def add(ca, name: str, role: str, out: files.Outputs, actor: str, action: str = "operator_add") -> Issued:
    """An operator credential issued and the operator recorded with it, in one transaction. A name is never
    given twice, not even once its operator is revoked: the audit log names operators, and 'carol' must mean
    one holder and one line of keys for as long as the log is kept."""
    name = checks.operator_name(name)
    if role not in authz.ROLES:
        raise PkiError(f"unknown role {role!r}; roles: {', '.join(authz.ROLES)}")

    def unique(db, serial=None):
        if (same := ca.store.operator_by_name(db, name)) is not None:
            raise PkiError(
                f"operator name {name!r}: operator {same['name']!r} already exists (names are unique "
                "regardless of case, and never given again, even after revocation); choose another name"
            )
        if serial is not None:
            keyreuse.refuse_shared_key(ca, db, serial, name, actor)
            ca.store.add_operator(db, name, role, serial)

    unique(ca.store.db)  # refuse before signing; checked again under the lock
    return issuance.issue(
        ca, Request(profiles.get("operator"), name=name, role=role), actor, action, out=out, then=unique
    )
