"""The CA's operators: adding one (a CA administrator's job), and recovering an administrator with the root."""

from __future__ import annotations

from pathlib import Path

from . import authz, checks, files, issuance, profiles
from .errors import PkiError
from .gate import authorize
from .issuance import Issued, Request


def add_operator(ca, cred, name: str, role: str, out: Path) -> Issued:
    op = authorize(ca, cred, "operator_add")
    return add(ca, name, role, files.Outputs(out), op.name)


def recover_admin(ca, root_passphrase: bytes, name: str, out: Path) -> Issued:
    """A new CA administrator on the strength of the offline root's passphrase alone: the way back when
    every ca_admin credential is lost, expired or revoked. Audit-logged with the actor 'root'."""
    ca.root_signer(root_passphrase)
    return add(ca, name, "ca_admin", files.Outputs(out), "root", "recover_admin")


def add(ca, name: str, role: str, out: files.Outputs, actor: str, action: str = "operator_add") -> Issued:
    """An operator credential issued and the operator recorded with it, in one transaction."""
    name = checks.operator_name(name)
    if role not in authz.ROLES:
        raise PkiError(f"unknown role {role!r}; roles: {', '.join(authz.ROLES)}")

    def unique(db, serial=None):
        if (same := ca.store.operator_by_name(db, name)) is not None:
            raise PkiError(
                f"operator name {name!r}: operator {same['name']!r} already exists (names are unique "
                "regardless of case); choose another name"
            )
        if serial is not None:
            ca.store.add_operator(db, name, role, serial)

    unique(ca.store.db)  # refuse before signing; checked again under the lock
    return issuance.issue(
        ca, Request(profiles.get("operator"), name=name, role=role), actor, action, out=out, then=unique
    )
