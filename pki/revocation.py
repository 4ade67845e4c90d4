"""Revoking, and the issuing CA's CRL that publishes revocations (on every revocation and on schedule). The offline
root's CRL and its revocation of the issuing CA are root_ceremony.py's."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from cryptography import x509

from . import authz, checks, clock, crl, keyreuse
from .certparts import common_name
from .errors import NotAllowed, PkiError
from .gate import authenticate, authorize, refusals_logged
from .queries import existing

REASONS = {r.name: r for r in x509.ReasonFlags}
# What an operator may give: a revocation is final, so no certificate_hold (which promises a release the CA
# never makes, and CA/B Forum forbids) and no remove_from_crl.
REVOCABLE = [r for r in REASONS if r not in ("certificate_hold", "remove_from_crl")]


@dataclass
class Revoked:
    """What a revocation did: the serials revoked, whose operator credentials they were, the credential that
    operator still acts with when it was not among them (a superseded credential was revoked), and the other
    certificates of the same key a compromise revoked with them (serial, whose)."""

    serials: list
    operator: str | None = None
    still_active: str | None = None
    same_key: list = field(default_factory=list)


def revoke(ca, cred, serial: str, reason: str = "unspecified") -> Revoked:
    """Revoke and publish the CRL in one transaction: two revocations of one serial have one winner,
    and the CRL on disk lists the serial before this returns."""
    with refusals_logged(ca, "revoke", serial=serial[:64]):
        op = authenticate(ca, cred, "revoke")
        reason = _reason(reason)
        row = existing(ca, serial)  # its profile never changes: safe to authorize on it before the lock
        authz.require(op, authz.action_for("revoke", row["profile"]))
        return revoke_serials(ca, op, [row["serial"]], reason)


def revoke_operator(ca, cred, name: str, reason: str = "unspecified") -> Revoked:
    """Revoke every unrevoked credential an operator ever held (the current one and those it was renewed
    from): the operator can act no more, whichever of them they still have."""
    with refusals_logged(ca, "revoke_operator", operator=name[:64]):
        op = authorize(ca, cred, "revoke_operator")
        reason = _reason(reason)
        target = ca.store.operator_by_name(ca.store.db, name)
        if target is None:
            raise PkiError(f"no operator named {checks.shown(name)!r}; 'jinbao pki list --profile operator' shows them")
        serials = [
            s for s in ca.store.credentials(ca.store.db, target["serial"]) if ca.store.cert(s)["revoked_at"] is None
        ]
        if not serials:
            raise PkiError(f"every credential of operator {target['name']} is already revoked")
        return revoke_serials(ca, op, serials, reason)


def revoke_serials(ca, op: authz.Operator, serials: list[str], reason: str) -> Revoked:
    """Revoke serials, and for a compromise every other live certificate of their keys, in one transaction with
    one CRL: a key revoked as stolen leaves no certificate of it that a relying party still accepts."""
    with ca.store.transaction(intact=True) as db:
        now = clock.timestamp()
        siblings = keyreuse.same_key(ca, db, serials, now) if reason in keyreuse.COMPROMISED else []
        for r in siblings:
            if op.role not in authz.ALLOWED.get(authz.action_for("revoke", r["profile"]), set()):
                raise NotAllowed(
                    f"certificate {r['serial']} ({r['profile']}) carries the same key, and a compromised key is "
                    f"revoked in every certificate at once; operator {op.name} ({op.role}) may not revoke that one. "
                    "A CA administrator revokes it, or both together",
                    actor=op.name,
                )
        every = [*serials, *(r["serial"] for r in siblings)]
        admins = ca.store.active_admins(db, now)
        if admins and set(admins) <= set(every):
            raise NotAllowed(
                f"certificate {admins[0]} is the last active ca_admin's credential; it cannot be "
                "revoked. Add another CA administrator first (or recover one with 'jinbao pki "
                "operator recover-admin')",
                actor=op.name,
            )
        signer = ca.store.ocsp_signer(db)
        if signer in every:
            raise NotAllowed(
                f"certificate {signer} is the OCSP signer in use; revoked, it would go on signing "
                "answers. Run 'jinbao pki ocsp renew-signer' first (a running 'ocsp serve' switches "
                f"to the new signer), then revoke {signer}",
                actor=op.name,
            )
        for serial in every:
            extra = {} if serial in serials else {"same_key_as": serials[0]}
            at, was = now, {}
            if not ca.store.mark_revoked(db, serial, reason, now):
                why = ca.store.cert(serial)["revoke_reason"]
                # found compromised after a routine revocation: the reason is raised (the date stays), so the CRL,
                # OCSP and the refusal of that key (keyreuse) say so; no other change of a revocation is allowed
                raised = None
                if reason in keyreuse.COMPROMISED and why not in keyreuse.COMPROMISED:
                    raised = ca.store.mark_compromised(db, serial, reason, keyreuse.COMPROMISED)
                if raised is None:
                    raise PkiError(f"certificate {serial} is already revoked ({why})")
                at, was = raised, {"was": why}
            owner = _operator_of(ca.store.cert(serial))
            ca.audit(
                db,
                op.name,
                "revoke",
                {
                    "serial": serial,
                    "reason": reason,
                    "revoked_at": at,
                    **was,
                    **extra,
                    **({"operator": owner} if owner else {}),
                },
            )
        publish_crl(ca, db, op.name)
        done = _revoked(ca, db, serials)
        done.same_key = [(r["serial"], r["device"] or r["operator"] or r["subject"]) for r in siblings]
        return done


def _revoked(ca, db, serials: list[str]) -> Revoked:
    """What a revocation did to an operator: a superseded credential revoked leaves its operator active."""
    owner = _operator_of(ca.store.cert(serials[0]))
    current = ca.store.operator_by_name(db, owner) if owner else None
    still = (
        current["serial"]
        if current and current["serial"] not in serials and ca.store.cert(current["serial"])["revoked_at"] is None
        else None
    )
    return Revoked(serials, owner, still)


# -- CRLs ------------------------------------------------------------------------------------------
def write_crl(ca, actor: str) -> x509.CertificateRevocationList:
    """Regenerate the issuing CA's CRL (on schedule via 'pki crl'; revoke publishes its own)."""
    with ca.store.transaction(intact=True) as db:
        return publish_crl(ca, db, actor)


def publish_crl(ca, db, actor: str) -> x509.CertificateRevocationList:
    """Sign the CRL inside the caller's transaction, to be published once it commits (crl.stage): the CRL never
    lists what the database does not, wherever the process is killed. The number is the CA's own counter (sealed
    in the database), and above the CRL on disk only if this CA signed that one: a planted file cannot push the
    counter."""
    now = clock.now()
    f = ca.dir / "crl" / "issuing.crl"
    number = ca.store.next_crl_number(db, at_least=crl.published_number(f, ca.issuer.certificate) + 1)
    if number > crl.MAX_NUMBER:
        raise PkiError(
            f"the CRL number {number} would not fit in 20 octets (RFC 5280 5.2.3); the CA's counter in "
            "ca.db is damaged: restore it from a backup"
        )
    next_update = now + timedelta(hours=ca.cfg["crl_validity_hours"])
    der = crl.sign(ca.issuer, number, now - clock.CLOCK_SKEW, next_update, ca.store.revoked_entries(db))
    published = x509.load_der_x509_crl(der)
    ca.store.set_crl_next_update(db, published.next_update_utc.isoformat())
    ca.audit(
        db,
        actor,
        "crl",
        {"crl_number": number, "revoked": len(published), "next_update": published.next_update_utc.isoformat()},
    )
    crl.stage(ca.store, f, der, ca.issuer.certificate)
    return published


def crl_due(ca, within_hours: float) -> bool:
    """Whether the CRL needs signing again: from the CA's own record of what it published last (sealed in the
    database), and the file on disk only once its signature is the issuing CA's."""
    within = timedelta(hours=checks.hours(within_hours, "--if-due"))
    return crl.due(ca.dir / "crl" / "issuing.crl", ca.issuer.certificate, ca.store.crl_record(), clock.now() + within)


def _reason(reason: str) -> str:
    if reason not in REVOCABLE:
        raise PkiError(
            f"--reason {checks.shown(reason)}: not a revocation reason here; use one of: " + ", ".join(REVOCABLE)
        )
    return reason


def _operator_of(row) -> str | None:
    """The operator a credential was issued to (its signed CN); None for any other certificate."""
    return common_name(row["pem"]) if row["profile"] == "operator" else None
