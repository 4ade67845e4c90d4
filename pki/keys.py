"""Key generation and key-type checks. ECDSA P-256/P-384 or RSA of 3072 bits and more."""

from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from . import files
from .errors import PkiError


def generate(key_type: str):
    if key_type == "ecdsa-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "ecdsa-p384":
        return ec.generate_private_key(ec.SECP384R1())
    if key_type in ("rsa-3072", "rsa-4096"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(key_type[4:]))
    raise PkiError(f"unknown key type {key_type!r}; use ecdsa-p256, ecdsa-p384, rsa-3072 or rsa-4096")


def key_type_of(public_key) -> str:
    """Name a public key the way profiles do; anything else is refused by every profile."""
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return {"secp256r1": "ecdsa-p256", "secp384r1": "ecdsa-p384"}.get(
            public_key.curve.name, f"ecdsa-{public_key.curve.name}"
        )
    if isinstance(public_key, rsa.RSAPublicKey):
        e = public_key.public_numbers().e
        # a small or even exponent (e = 3 invites broadcast and padding attacks) is no profile's key type
        return f"rsa-{public_key.key_size}" if e >= 65537 and e % 2 else f"rsa-{public_key.key_size}-e{e}"
    return type(public_key).__name__


def hash_for(key):
    """The signature hash that matches the key's strength (RFC 5758 pairing for ECDSA); private or public key."""
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)) and key.curve.key_size >= 384:
        return hashes.SHA384()
    return hashes.SHA256()


def spki(k) -> bytes:
    """The DER SubjectPublicKeyInfo of a key, public or private, or of a certificate's key."""
    k = k.public_key() if hasattr(k, "public_key") else k
    return k.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def same_public_key(a, b) -> bool:
    """Whether two keys (private or public, of any type) have the same public key. Compared as DER, which every
    key type has; public_numbers() does not exist for Ed25519 or X25519."""
    return spki(a) == spki(b)


def key_hash(k) -> str:
    """sha256 of a key's (or a certificate's) SubjectPublicKeyInfo, hex: what ca.db indexes certificates by."""
    return hashlib.sha256(spki(k)).hexdigest()


def key_sha256(cert_pem: str | bytes) -> str:
    """sha256 of a certificate's public key (its SubjectPublicKeyInfo): equal for every certificate
    of one key, so an auditor sees one key holding two credentials."""
    pem = cert_pem.encode() if isinstance(cert_pem, str) else cert_pem
    return hashlib.sha256(spki(x509.load_pem_x509_certificate(pem))).hexdigest()


def private_pem(key, passphrase: bytes | None = None) -> bytes:
    enc = serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)


def load_private(path: Path, passphrase: bytes | None = None):
    data = files.read_input(path, "key file")
    try:
        return serialization.load_pem_private_key(data, password=passphrase)
    except (ValueError, TypeError) as e:
        if passphrase is not None or "encrypted" in str(e).lower() or "password" in str(e).lower():
            raise PkiError(f"cannot open {path}: wrong passphrase") from None
        raise PkiError(f"cannot read key {path}: {e}") from None
