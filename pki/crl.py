"""Signing and publishing CRLs: the issuing CA's (on every revocation and on schedule) and the root's.

The order of publication is the caller's: authority.py signs and publishes while it holds the
database's write lock, so CRLs land in number order, and puts the previous files back if that
transaction does not commit. This module makes each CRL and replaces the files atomically, so a
relying party reads the old CRL or the new one, never half of one. A CRL found on disk is believed
only once its signature is the CA's: anyone who can write the folder can plant one.
"""
from __future__ import annotations

import base64
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm

from . import crl_der, files, keys
from .errors import PkiError

# RFC 5280 5.2.3: a CRLNumber is at most 20 octets, a positive INTEGER: below 2**159.
MAX_NUMBER = 2 ** 159 - 1


def signed_by(crl: x509.CertificateRevocationList, issuer: x509.Certificate) -> bool:
    try:
        return crl.issuer == issuer.subject and crl.is_signature_valid(issuer.public_key())
    except (TypeError, ValueError, UnsupportedAlgorithm):  # a CRL signed with another kind of key
        return False


def number(crl: x509.CertificateRevocationList) -> int | None:
    try:
        return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except (ValueError, x509.ExtensionNotFound, x509.DuplicateExtension):
        return None


def published_number(path: Path, issuer: x509.Certificate) -> int:
    """The number of the CRL issuer published at path; 0 when there is none, it is unreadable, or issuer did not
    sign it (a planted CRL numbered 2**200 moves nothing)."""
    try:
        crl = x509.load_der_x509_crl(files.read_input(path, "the published CRL", limit=1 << 30))
    except (PkiError, ValueError):
        return 0
    n = number(crl) if signed_by(crl, issuer) else None
    return n if n is not None and n <= MAX_NUMBER else 0


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


def publish(path: Path, der: bytes):
    """path (DER) and path.pem, each replaced atomically through a temporary file of its own. Returns the function
    that puts both previous files back."""
    undo = [files.replace(path, der)]
    try:
        undo.append(files.replace(path.with_name(path.name + ".pem"), _pem(der)))
    except BaseException:
        undo[0]()
        raise

    def restore() -> None:
        for u in reversed(undo):
            u()
    return restore


def _pem(der: bytes) -> bytes:
    b64 = base64.encodebytes(der).replace(b"\n", b"")
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return b"-----BEGIN X509 CRL-----\n%s\n-----END X509 CRL-----\n" % b"\n".join(lines)
