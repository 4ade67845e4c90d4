"""Signing and publishing CRLs: the issuing CA's (on every revocation and on schedule) and the root's.

The order of publication is the caller's: authority.py signs and publishes while it holds the
database's write lock, so CRLs land in number order. This module makes each CRL (its number never
below the one already published, even if the database's counter was reset) and replaces the files
atomically, so a relying party reads the old CRL or the new one, never half of one.
"""
from __future__ import annotations

import base64
from datetime import datetime
from pathlib import Path

from cryptography import x509

from . import crl_der, files, keys
from .errors import PkiError


def published_number(path: Path) -> int:
    """The number of the CRL published at path; 0 when there is none or it is unreadable."""
    try:
        crl = x509.load_der_x509_crl(path.read_bytes())
        return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except (OSError, ValueError, x509.ExtensionNotFound):
        return 0


def sign(issuer: x509.Certificate, key, number: int, this_update: datetime, next_update: datetime,
         revoked=()) -> bytes:
    """DER of a CRL by issuer; revoked = (serial hex, revoked_at, reason) rows."""
    header = (x509.CertificateRevocationListBuilder().issuer_name(issuer.subject)
              .last_update(this_update).next_update(next_update)
              .add_extension(x509.CRLNumber(number), critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                  issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value), critical=False)
              .sign(key, keys.hash_for(key)))
    der = crl_der.build(header, revoked, key)
    if not x509.load_der_x509_crl(der).is_signature_valid(issuer.public_key()):
        raise PkiError("internal error: the new CRL's signature does not verify; the old CRL stays")
    return der


def publish(path: Path, der: bytes) -> None:
    """path (DER) and path.pem, each replaced atomically through a temporary file of its own."""
    files.replace(path, der)
    files.replace(path.with_name(path.name + ".pem"), _pem(der))


def _pem(der: bytes) -> bytes:
    b64 = base64.encodebytes(der).replace(b"\n", b"")
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return b"-----BEGIN X509 CRL-----\n%s\n-----END X509 CRL-----\n" % b"\n".join(lines)
