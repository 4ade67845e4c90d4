"""Who signs: a Signer holds a CA key and its certificate. A key file today; the interface is
what an HSM-backed signer would implement tomorrow.

A signer signs; it never hands its key out. cryptography's builders want the key object for
`.sign(key, hash)`, so the builder comes to the signer (sign_certificate, sign_crl, sign_ocsp)
instead of the key going to the builder. Checking a signature needs only the certificate: a
Verifier is the public half, and is all that 'audit verify' and the OCSP responder hold of the
issuing CA.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.x509 import ocsp

from . import files, keys
from .errors import PkiError


class Signer(Protocol):
    certificate: x509.Certificate

    def public_key(self):
        """The certificate's public key."""

    def verify(self, signature: bytes, data: bytes) -> bool:
        """Whether signature is the CA key's over data; needs only the certificate."""

    def sign(self, data: bytes) -> bytes:
        """A signature over data with the CA key (the audit log, its head, the seal and a CRL's body)."""

    def sign_certificate(self, builder: x509.CertificateBuilder) -> x509.Certificate: ...

    def sign_crl(self, builder: x509.CertificateRevocationListBuilder) -> x509.CertificateRevocationList: ...

    def sign_ocsp(self, builder: ocsp.OCSPResponseBuilder) -> ocsp.OCSPResponse: ...


class Verifier:
    """The public half of a signer: its certificate, and checking what it signed."""

    def __init__(self, certificate: x509.Certificate):
        self.certificate = certificate

    def public_key(self):
        return self.certificate.public_key()

    def verify(self, signature: bytes, data: bytes) -> bool:
        return verify(self.certificate, signature, data)


class _Signs:
    """What a holder of a private key does with it; subclasses give _private() and keep the key to themselves."""

    def _private(self): ...

    def sign(self, data: bytes) -> bytes:
        return _sign(self._private(), data)

    def sign_certificate(self, builder: x509.CertificateBuilder) -> x509.Certificate:
        key = self._private()
        return builder.sign(key, keys.hash_for(key))

    def sign_crl(self, builder: x509.CertificateRevocationListBuilder) -> x509.CertificateRevocationList:
        key = self._private()
        return builder.sign(key, keys.hash_for(key))

    def sign_ocsp(self, builder: ocsp.OCSPResponseBuilder) -> ocsp.OCSPResponse:
        key = self._private()
        return builder.sign(key, keys.hash_for(key))


class FileSigner(_Signs, Verifier):
    """A CA key in a PEM file (0600), optionally encrypted with a passphrase.

    deferred: open the key the first time something is signed, not now. Reading and verifying then work where the
    key file is absent or unreadable (an auditor's copy of the CA folder); signing fails then, as it would have."""

    def __init__(
        self,
        cert_path: Path,
        key_path: Path,
        passphrase: bytes | None = None,
        *,
        deferred: bool = False,
        what: str = "CA certificate",
    ):
        super().__init__(files.load(cert_path, x509.load_pem_x509_certificate, what))
        self._cert_path, self._key_path, self._passphrase = cert_path, key_path, passphrase
        self._key = None
        if not deferred:
            self._private()

    def _private(self):
        if self._key is None:
            if self._passphrase is None:
                _private_to_owner(self._key_path)
            key = keys.load_private(self._key_path, self._passphrase)
            if not keys.same_public_key(key, self.certificate.public_key()):
                raise keys.PkiError(f"{self._key_path} is not the key of {self._cert_path}")
            self._key, self._passphrase = key, None
        return self._key


class NewKey(_Signs):
    """A CA key made here (when the hierarchy is created): it signs certificates, one of them its own, and is
    written to its file by the signer, never handed to the caller."""

    def __init__(self, key_type: str):
        self._key = keys.generate(key_type)

    def _private(self):
        return self._key

    def public_key(self):
        return self._key.public_key()

    def save(self, path: Path, passphrase: bytes | None = None):
        """Write the key (0600), encrypted when a passphrase is given; returns files.replace's undo."""
        return files.replace(path, keys.private_pem(self._key, passphrase), 0o600)

    def certified(self, certificate: x509.Certificate) -> CertifiedKey:
        """This key as the signer of certificate (its own public key)."""
        return CertifiedKey(self._key, certificate)


class CertifiedKey(_Signs, Verifier):
    """A key in memory with its certificate: a freshly made CA, before its key files are read back."""

    def __init__(self, key, certificate: x509.Certificate):
        super().__init__(certificate)
        self._key = key

    def _private(self):
        return self._key


def _private_to_owner(path: Path) -> None:
    """An unencrypted CA key (the issuing CA's, the OCSP signer's) that others may read is not used: whoever read it
    can sign as the CA. 'chmod -R a+r' on the CA folder stops the CA here instead of going unnoticed. (The root's key
    is encrypted, and may sit on offline media that has no modes.)"""
    mode = files.exposed(path)
    if mode:
        raise PkiError(
            f"{path} is readable or writable by others ({mode}): the CA signs nothing with it. "
            f"Run 'chmod 600 {path}', and if anyone else could have read it, treat the key as compromised"
        )


def _sign(key, data: bytes) -> bytes:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(keys.hash_for(key)))
    return key.sign(data, padding.PKCS1v15(), keys.hash_for(key))


def verify(certificate: x509.Certificate, signature: bytes, data: bytes) -> bool:
    """Whether signature is the certificate's key's over data (the OCSP responder checks the CA's seal this way,
    holding only the certificate)."""
    pub = certificate.public_key()
    try:
        algorithm = keys.hash_for(pub)
        if isinstance(pub, ec.EllipticCurvePublicKey):
            pub.verify(signature, data, ec.ECDSA(algorithm))
        else:
            pub.verify(signature, data, padding.PKCS1v15(), algorithm)
    except (InvalidSignature, ValueError, TypeError, AttributeError):
        return False
    return True
