"""What only the offline root does, each with its passphrase and a CA administrator present: re-signing the root's
CRL, and revoking the issuing CA (which puts it on that CRL).

Revoking the issuing CA is for its key stolen or the CA retired. From that commit on the CA certifies nothing
(issuance.py refuses under the write lock), deploys nothing, and its OCSP responder answers 'revoked' for every
serial: whoever holds the stolen key can sign certificates the CA has no record of, and openssl, reading the
root's CRL, rejects every chain through it. Revoking and CRLs go on, as they only withdraw trust. There is no way
back: a new issuing CA is a new CA ('jinbao pki init')."""

from __future__ import annotations

from datetime import timedelta

from . import checks, clock, crl
from .certparts import hexserial
from .errors import NotAllowed, PkiError
from .gate import authorize, refusals_logged

# RFC 5280 5.3.1 reasons that fit a CA certificate
ISSUING_REASONS = ("ca_compromise", "key_compromise", "superseded", "cessation_of_operation", "affiliation_changed")


def root_crl(ca, cred, root_passphrase: bytes) -> None:
    op = authorize(ca, cred, "root_crl")
    write_root_crl(ca, _root(ca, op, root_passphrase), op.name)


def write_root_crl(ca, root, actor: str) -> None:
    """The root's CRL, signed by root (its signer: the offline key, opened with the passphrase)."""
    with ca.store.transaction(intact=True) as db:
        _stage_root_crl(ca, db, root, actor)


def revoke_issuing_ca(ca, cred, root_passphrase: bytes, reason: str = "ca_compromise") -> dict:
    """Put the issuing CA on the root's CRL, recorded and logged in one transaction; returns the revocation."""
    with refusals_logged(ca, "revoke_issuing_ca"):
        op = authorize(ca, cred, "revoke_issuing_ca")
        if reason not in ISSUING_REASONS:
            raise PkiError(
                f"--reason {checks.shown(reason)}: not a reason to revoke a CA; use one of: "
                + ", ".join(ISSUING_REASONS)
            )
        root = _root(ca, op, root_passphrase)
        serial = hexserial(ca.issuer.certificate.serial_number)
        with ca.store.transaction(intact=True) as db:
            if (done := ca.store.issuing_revoked(db)) is not None:
                raise PkiError(f"the issuing CA {done['serial']} is already revoked ({done['reason']})")
            at = clock.timestamp()
            ca.store.set_issuing_revoked(db, serial, at, reason)
            ca.audit(db, op.name, "revoke_issuing_ca", {"serial": serial, "reason": reason, "revoked_at": at})
            _stage_root_crl(ca, db, root, op.name)
        return {"serial": serial, "reason": reason, "revoked_at": at}


def _root(ca, op, passphrase: bytes):
    """The root's signer; a wrong passphrase is a refusal on the record, under the administrator's name."""
    try:
        return ca.root_signer(passphrase)
    except PkiError as e:
        raise NotAllowed(f"the root key: {e}; the offline root signs nothing", actor=op.name) from None


def _stage_root_crl(ca, db, root, actor: str) -> None:
    now = clock.now()
    f = ca.dir / "crl" / "root.crl"
    published = crl.published_number(f, root.certificate)
    number = ca.store.next_root_crl_number(db, at_least=max(int(clock.timestamp()), published + 1))
    next_update = now + timedelta(days=365)
    revoked = ca.store.issuing_revoked(db)
    entries = [(revoked["serial"], revoked["revoked_at"], revoked["reason"])] if revoked else []
    ca.audit(
        db,
        actor,
        "root_crl",
        {
            "crl_number": number,
            "next_update": next_update.isoformat(),
            **({"revoked": len(entries)} if revoked else {}),
        },
    )
    crl.stage(ca.store, f, crl.sign(root, number, now - clock.CLOCK_SKEW, next_update, entries), root.certificate)
