"""Who may ask: CA operators and their roles (MLPS 2.0 separation of duties).

An operator proves who they are with their own certificate *and* its private key (a
challenge is signed with the key), like EJBCA's administrator certificates. The role is the one
the CA signed into that certificate, and the CA's sealed records must agree; it never comes from
anything the caller types. Deny by default: an action not in ALLOWED is allowed to no one.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from . import files, keys
from .errors import NotAllowed, PkiError

ROLES = ("ca_admin", "officer", "auditor")
ALLOWED = {
    "issue": {"officer"},
    "revoke": {"officer"},
    "renew": {"officer"},
    "crl": {"officer", "ca_admin"},
    "root_crl": {"ca_admin"},
    "revoke_issuing_ca": {"ca_admin"},
    # The CA's own certificates: whoever may issue them, and no one else, renews and revokes them.
    # An officer never acts on an operator credential or on the OCSP signer.
    "operator_add": {"ca_admin"},
    # No "renew_operator": an operator credential is renewed only by its holder (renewal.py), never by a role.
    "revoke_operator": {"ca_admin"},
    "ocsp_signer": {"ca_admin"},
    "renew_ocsp_signer": {"ca_admin"},
    "revoke_ocsp_signer": {"ca_admin"},
    "config": {"ca_admin"},  # adopting an edited ca.yml
    "read": {"officer", "auditor", "ca_admin"},
    "audit": {"auditor"},
}
# What an auditor needs to find out what happened: allowed even while the CA's tables are not what it sealed
# (everything else stops then). The role is still the one signed into the auditor's certificate.
READ_ONLY = {"read", "audit"}
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
    def from_prefix(cls, prefix: str | os.PathLike) -> Credential:
        p = files.name_prefix(prefix, "--as", "your credential is PREFIX.crt and PREFIX.key")
        cred = cls(p.with_name(p.name + ".crt"), p.with_name(p.name + ".key"))
        for f in (cred.cert_path, cred.key_path):
            if not f.is_file():
                raise NotAllowed(
                    f"operator credential {f} not found; give --as PREFIX for PREFIX.crt and PREFIX.key "
                    "(or set JINBAO_PKI_OPERATOR)"
                )
        return cred


@dataclass(frozen=True)
class Operator:
    name: str
    role: str
    serial: str


def fingerprint(cert: x509.Certificate) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding

    return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()


def _subject(cert: x509.Certificate, oid) -> str | None:
    values = cert.subject.get_attributes_for_oid(oid)
    return values[0].value if len(values) == 1 else None


def authenticate(cred: Credential, issuer: x509.Certificate, store, read_only: bool = False) -> Operator:
    """Who asks, proven in this order: the certificate is this CA's (its signature), the caller holds its key
    (a fresh challenge signed), and only then is anything looked up or written under a name. Before that a
    refusal is an unauthenticated attempt with the certificate's serial as a claim. The role is the one the CA
    signed into the certificate (OU), and the CA's records must say the same: an edited row grants nothing. To
    read (read_only) the signed role is enough, so an auditor whose own row was edited can still find out."""
    try:
        cert = x509.load_pem_x509_certificate(files.read_input(cred.cert_path, "--as"))
    except ValueError:
        raise NotAllowed(f"{cred.cert_path} is not a PEM certificate") from None
    serial = format(cert.serial_number, "x")
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        raise NotAllowed(
            f"{cred.cert_path} is not an operator certificate issued by this CA (this CA did not sign it)", claim=serial
        ) from None
    _key_to_owner(cred.key_path, serial)
    try:
        _prove_possession(cert, keys.load_private(cred.key_path))
    except PkiError as e:
        raise NotAllowed(f"{e} ({cred.key_path}); the attempt is logged as unauthenticated", claim=serial) from None
    name, role = _subject(cert, NameOID.COMMON_NAME), _subject(cert, NameOID.ORGANIZATIONAL_UNIT_NAME)
    row = store.cert(serial)
    if row is None or row["fingerprint"] != fingerprint(cert) or row["profile"] != "operator" or role not in ROLES:
        raise NotAllowed(f"certificate {serial} does not belong to a CA operator", claim=serial)
    op = store.operator(serial)
    if op is None:
        raise NotAllowed(
            f"certificate {serial} is an operator credential that has been renewed; use the new one", actor=name
        )
    if (op["name"], op["role"]) != (name, role) and not read_only:
        raise NotAllowed(
            f"the CA's record of credential {serial} (operator {op['name']}, {op['role']}) is not what "
            f"the CA signed into it ({name}, {role}): ca.db was changed outside the CA. Run 'jinbao pki "
            "audit verify'",
            actor=name,
        )
    now = datetime.now(UTC)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise NotAllowed(f"operator certificate {serial} is expired or not yet valid", actor=name)
    if row["revoked_at"] is not None:
        raise NotAllowed(f"operator certificate {serial} is revoked", actor=name)
    return Operator(name, role, serial)


def _key_to_owner(path: Path, serial: str) -> None:
    """An operator's key that others may read proves nothing about who holds it: the attempt is unauthenticated, and
    the holder is told how to close it and what to do if someone did read it."""
    mode = files.exposed(path)
    if mode:
        raise NotAllowed(
            f"{path} is readable or writable by others ({mode}): anyone who read it can act as "
            f"this operator, so it proves nothing. Run 'chmod 600 {path}'; if anyone else could have read it, have "
            "a CA administrator revoke the credential ('jinbao pki operator revoke NAME --reason key_compromise')",
            claim=serial,
        )


def _prove_possession(cert: x509.Certificate, key) -> None:
    challenge = os.urandom(32)
    pub = cert.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePrivateKey):
            pub.verify(key.sign(challenge, ec.ECDSA(keys.hash_for(key))), challenge, ec.ECDSA(keys.hash_for(key)))
        elif isinstance(key, rsa.RSAPrivateKey):
            pub.verify(
                key.sign(challenge, padding.PKCS1v15(), keys.hash_for(key)),
                challenge,
                padding.PKCS1v15(),
                keys.hash_for(key),
            )
        else:
            raise InvalidSignature
    except (InvalidSignature, TypeError, AttributeError):
        raise NotAllowed("the operator key does not match the operator certificate") from None


def require(op: Operator, action: str) -> None:
    if op.role not in ALLOWED.get(action, set()):
        allowed = ", ".join(sorted(ALLOWED.get(action, set()))) or "no one"
        raise NotAllowed(f"operator {op.name} ({op.role}) may not {action}; that takes: {allowed}", actor=op.name)
