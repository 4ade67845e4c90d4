"""Who may ask, at the CA's door: every operation starts here, and every refusal lands in the audit log."""

from __future__ import annotations

from contextlib import contextmanager

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from . import authz, keys, profiles
from .certparts import hexserial
from .context import CA
from .errors import NotAllowed, PkiError, Tampered


def authorize(ca: CA, cred: authz.Credential, action: str) -> authz.Operator:
    with refusals_logged(ca, action):
        op = authenticate(ca, cred, action)
        authz.require(op, action)
    return op


def authenticate(ca: CA, cred: authz.Credential, action: str) -> authz.Operator:
    """The operator, proven; and unless they only read, the CA's tables as it sealed them: while an operator's
    role or a revocation differs from what the CA signed, it acts for no one (an auditor may still look)."""
    op = authz.authenticate(cred, ca.issuer.certificate, ca.store, read_only=action in authz.READ_ONLY)
    # adopting an edited ca.yml is the one action that may find it edited (reconfigure.py)
    if action not in authz.READ_ONLY and (problems := ca.store.seal_problems(settings_checked=action != "config")):
        raise NotAllowed(str(Tampered(problems)), actor=op.name)
    return op


@contextmanager
def refusals_logged(ca: CA, action: str, **detail):
    """Every refusal lands in the audit log, whoever asked, even a revoked or unknown operator.

    The refused work's own transaction has rolled back by the time the refusal gets here, so the
    entry is written in a transaction of its own."""
    try:
        yield
    except NotAllowed as e:
        if not e.logged:
            claim = {"claimed_serial": e.claim} if e.claim and not e.actor else {}
            with ca.store.transaction() as db:
                ca.audit(db, e.actor or "unknown", "denied", {"action": action, "reason": str(e), **claim, **detail})
            e.logged = True
        raise


def authorize_deploy(ca: CA, cred: authz.Credential, cert_pem: bytes, key_pem: bytes) -> authz.Operator:
    """An officer deploys a valid device certificate of this CA with its own key, nothing else: not an
    operator credential, not the OCSP signer, not a revoked certificate."""
    with refusals_logged(ca, "deploy"):
        op = authenticate(ca, cred, "deploy")
        authz.require(op, "issue")
        try:
            cert = x509.load_pem_x509_certificate(cert_pem)
            key = serialization.load_pem_private_key(key_pem, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise PkiError("--cert and --key must be a PEM certificate and its unencrypted PEM key") from None
        row = ca.store.cert(hexserial(cert.serial_number))
        if row is None or row["fingerprint"] != authz.fingerprint(cert):
            raise PkiError("--cert is not a certificate this CA issued")
        if profiles.get(row["profile"]).subject != "device":
            raise NotAllowed(
                f"certificate {row['serial']} ({row['profile']}) is not a device certificate; only those are deployed",
                actor=op.name,
            )
        if row["revoked_at"] is not None:
            raise NotAllowed(f"certificate {row['serial']} is revoked; it is not deployed", actor=op.name)
        if (issuing := ca.store.issuing_revoked()) is not None:
            raise NotAllowed(
                f"the issuing CA {issuing['serial']} is revoked ({issuing['reason']}): no certificate of it is "
                "deployed",
                actor=op.name,
            )
        if not keys.same_public_key(key, cert.public_key()):  # any key type: an X25519 key is simply not it
            raise PkiError("--key is not the key of --cert")
    return op
