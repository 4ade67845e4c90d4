"""Who signs: a Signer holds a CA key and its certificate. A key file today; the interface is
what an HSM-backed signer would implement tomorrow."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, padding

from . import files, keys


class Signer(Protocol):
    certificate: x509.Certificate

    @property
    def private_key(self): ...

    def sign(self, data: bytes) -> bytes:
        """A signature over data with the CA key (the audit log and its head are signed this way)."""

    def verify(self, signature: bytes, data: bytes) -> bool:
        """Whether signature is the CA key's over data; needs only the certificate."""


class FileSigner:
    """A CA key in a PEM file (0600), optionally encrypted with a passphrase."""

    def __init__(self, cert_path: Path, key_path: Path, passphrase: bytes | None = None):
        self.certificate = files.load(cert_path, x509.load_pem_x509_certificate, "CA certificate")
        self._key = keys.load_private(key_path, passphrase)
        if not keys.same_public_key(self._key, self.certificate.public_key()):
            raise keys.PkiError(f"{key_path} is not the key of {cert_path}")

    @property
    def private_key(self):
        return self._key

    def sign(self, data: bytes) -> bytes:
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            return self._key.sign(data, ec.ECDSA(keys.hash_for(self._key)))
        return self._key.sign(data, padding.PKCS1v15(), keys.hash_for(self._key))

    def verify(self, signature: bytes, data: bytes) -> bool:
        return verify(self.certificate, signature, data)


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
