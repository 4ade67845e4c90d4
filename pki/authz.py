"""Who may ask: CA operators and their roles (MLPS 2.0 separation of duties).

An operator proves who they are with their own certificate *and* its private key (a
challenge is signed with the key), like EJBCA's administrator certificates. The role comes from
the CA's own database, never from anything the caller types. Deny by default: an action not in
ALLOWED is allowed to no one.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from . import keys
from . import files
from .errors import NotAllowed, PkiError

ROLES = ("ca_admin", "officer", "auditor")
ALLOWED = {
    "issue": {"officer"},
    "revoke": {"officer"},
    "renew": {"officer"},
    "crl": {"officer", "ca_admin"},
    "root_crl": {"ca_admin"},
    # The CA's own certificates: whoever may issue them, and no one else, renews and revokes them.
    # An officer never acts on an operator credential or on the OCSP signer.
    "operator_add": {"ca_admin"},
    "renew_operator": {"ca_admin"},
    "revoke_operator": {"ca_admin"},
    "ocsp_signer": {"ca_admin"},
    "renew_ocsp_signer": {"ca_admin"},
    "revoke_ocsp_signer": {"ca_admin"},
    "read": {"officer", "auditor", "ca_admin"},
    "audit": {"auditor"},
}
# Profiles kept for the CA itself, and the action that issues each.
CA_PROFILES = {"operator": "operator_add", "ocsp_signer": "ocsp_signer"}


def action_for(verb: str, profile: str) -> str:
    """The action to authorize for issue/renew/revoke of a certificate of `profile`."""
    if profile not in CA_PROFILES:
        return verb
    return CA_PROFILES[profile] if verb == "issue" else f"{verb}_{profile}"


@dataclass(frozen=True)
class Credential:
    """An operator's certificate and key: the files the operator holds (PREFIX.crt, PREFIX.key)."""

    cert_path: Path
    key_path: Path

    @classmethod
    def from_prefix(cls, prefix: str | os.PathLike) -> "Credential":
        p = Path(prefix)
        cred = cls(p.with_name(p.name + ".crt"), p.with_name(p.name + ".key"))
        for f in (cred.cert_path, cred.key_path):
            if not f.is_file():
                raise NotAllowed(f"operator credential {f} not found; give --as PREFIX for PREFIX.crt and PREFIX.key "
                                 "(or set JINBAO_PKI_OPERATOR)")
        return cred


@dataclass(frozen=True)
class Operator:
    name: str
    role: str
    serial: str


def fingerprint(cert: x509.Certificate) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()


def authenticate(cred: Credential, issuer: x509.Certificate, store) -> Operator:
    """Check the credential is an unrevoked operator certificate of this CA held with its key."""
    try:
        cert = x509.load_pem_x509_certificate(files.read_input(cred.cert_path, "--as"))
    except ValueError:
        raise NotAllowed(f"{cred.cert_path} is not a PEM certificate") from None
    serial = format(cert.serial_number, "x")
    row = store.cert(serial)
    if row is None or row["fingerprint"] != fingerprint(cert):
        raise NotAllowed(f"{cred.cert_path} is not an operator certificate issued by this CA")
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        raise NotAllowed(f"{cred.cert_path} was not signed by this CA") from None
    op = store.operator(serial)
    if op is None:
        if row["profile"] == "operator":  # a credential since renewed: the log still names whose it was
            raise NotAllowed(f"certificate {serial} is an operator credential that has been renewed; use the new one",
                             actor=cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)
        raise NotAllowed(f"certificate {serial} does not belong to a CA operator")
    now = datetime.now(timezone.utc)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise NotAllowed(f"operator certificate {serial} is expired or not yet valid", actor=op["name"])
    if row["revoked_at"] is not None:
        raise NotAllowed(f"operator certificate {serial} is revoked", actor=op["name"])
    try:
        _prove_possession(cert, keys.load_private(cred.key_path))
    except PkiError as e:
        raise NotAllowed(str(e), actor=op["name"]) from None
    return Operator(op["name"], op["role"], serial)


def _prove_possession(cert: x509.Certificate, key) -> None:
    challenge = os.urandom(32)
    pub = cert.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePrivateKey):
            pub.verify(key.sign(challenge, ec.ECDSA(keys.hash_for(key))), challenge, ec.ECDSA(keys.hash_for(key)))
        elif isinstance(key, rsa.RSAPrivateKey):
            pub.verify(key.sign(challenge, padding.PKCS1v15(), keys.hash_for(key)), challenge, padding.PKCS1v15(),
                       keys.hash_for(key))
        else:
            raise InvalidSignature
    except (InvalidSignature, TypeError, AttributeError):
        raise NotAllowed("the operator key does not match the operator certificate") from None


def require(op: Operator, action: str) -> None:
    if op.role not in ALLOWED.get(action, set()):
        allowed = ", ".join(sorted(ALLOWED.get(action, set()))) or "no one"
        raise NotAllowed(f"operator {op.name} ({op.role}) may not {action}; that takes: {allowed}", actor=op.name)
