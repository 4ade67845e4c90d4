"""CRLs of any size in linear time.

cryptography's CRL builder is immutable: every add_revoked_certificate copies the list, so a
CRL of n entries costs O(n²) (27 s for 100,000 entries here). We let cryptography build the
CRL's header (issuer, times, CRLNumber, AKI) with no entries, splice the revoked-certificate
list into its TBSCertList as DER (RFC 5280 5.1), and have the issuer's signer sign the result.
openssl and pkilint check the output in tests/test_pki.py.
"""

from __future__ import annotations

import time

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .der import content, elements, length, tlv

# RFC 5280 5.3.1 CRLReason codes
REASON_CODE = {
    "unspecified": 0,
    "key_compromise": 1,
    "ca_compromise": 2,
    "affiliation_changed": 3,
    "superseded": 4,
    "cessation_of_operation": 5,
    "certificate_hold": 6,
    "remove_from_crl": 8,
    "privilege_withdrawn": 9,
    "aa_compromise": 10,
}
_OID_REASON = bytes.fromhex("0603551d15")  # id-ce-cRLReasons 2.5.29.21


def _int(n: int) -> bytes:
    return tlv(0x02, n.to_bytes(n.bit_length() // 8 + 1, "big"))


def _time(ts: float) -> bytes:
    t = time.gmtime(int(ts))
    if 1950 <= t.tm_year < 2050:  # RFC 5280 4.1.2.5: UTCTime until 2049, GeneralizedTime after
        return b"\x17\x0d" + (
            b"%02d%02d%02d%02d%02d%02dZ" % (t.tm_year % 100, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)
        )
    return b"\x18\x0f" + (
        b"%04d%02d%02d%02d%02d%02dZ" % (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)
    )


# crlEntryExtensions holding only a reasonCode: the same few bytes for every entry of a reason.
_REASON_EXT = {
    code: tlv(0x30, tlv(0x30, _OID_REASON + tlv(0x04, tlv(0x0A, bytes([code]))))) for code in REASON_CODE.values()
}


def build(header: x509.CertificateRevocationList, revoked, sign) -> bytes:
    """DER of a CRL with header's fields and `revoked` = iterable of (serial hex, revoked_at, reason); sign(bytes)
    is the issuer's signature (signer.py), made with the algorithm the header names."""
    entries = []
    for serial_hex, revoked_at, reason in revoked:
        entry = _int(int(serial_hex, 16)) + _time(revoked_at)
        if reason and reason != "unspecified":
            entry += _REASON_EXT[REASON_CODE[reason]]
        entries.append((b"\x30" + bytes([len(entry)]) if len(entry) < 0x80 else b"\x30" + length(len(entry))) + entry)
    der = header.public_bytes(serialization.Encoding.DER)
    cs, ce = content(der)
    parts = list(elements(der, cs, ce))  # tbsCertList, signatureAlgorithm, signatureValue
    tbs = der[parts[0][0] : parts[0][1]]
    sig_alg = der[parts[1][0] : parts[1][1]]
    ts, te = content(tbs)
    fields = [tbs[a:b] for a, b in elements(tbs, ts, te)]
    # version, signature, issuer, thisUpdate, nextUpdate, [revokedCertificates], [0] crlExtensions
    if len(fields) != 6:
        raise ValueError("unexpected CRL header layout")
    new_fields = fields[:5] + ([tlv(0x30, b"".join(entries))] if entries else []) + fields[5:]
    new_tbs = tlv(0x30, b"".join(new_fields))
    sig = sign(new_tbs)
    return tlv(0x30, new_tbs + sig_alg + tlv(0x03, b"\x00" + sig))
