"""Who signs: a Signer holds a CA key and its certificate. A key file today; the interface is
what an HSM-backed signer would implement tomorrow."""
from __future__ import annotations

from pathlib import Path
from typing import Protocol

from cryptography import x509

from . import files, keys


class Signer(Protocol):
    certificate: x509.Certificate

    @property
    def private_key(self): ...


class FileSigner:
    """A CA key in a PEM file (0600), optionally encrypted with a passphrase."""

    def __init__(self, cert_path: Path, key_path: Path, passphrase: bytes | None = None):
        self.certificate = files.load(cert_path, x509.load_pem_x509_certificate, "CA certificate")
        self._key = keys.load_private(key_path, passphrase)
        if self._key.public_key().public_numbers() != self.certificate.public_key().public_numbers():
            raise keys.PkiError(f"{key_path} is not the key of {cert_path}")

    @property
    def private_key(self):
        return self._key
