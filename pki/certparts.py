"""The pieces the CA's certificates are made of: names, key usages, where to find CRLs and issuers."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from .errors import PkiError
from .profiles import KEY_USAGES


def hexserial(n: int) -> str:
    return format(n, "x")


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def common_name(cert_pem: str) -> str:
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    return cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


def names(what: str, rdns: list, sans: list) -> tuple[x509.Name, tuple]:
    """Subject and SANs from (oid, value) and (type, value) pairs; what X.509 cannot hold (a CN over 64
    characters, a DNS name that is not ASCII) is refused, naming whose name it was."""
    try:
        return (
            x509.Name([x509.NameAttribute(oid, value) for oid, value in rdns]),
            tuple(kind(value) for kind, value in sans),
        )
    except ValueError as e:
        raise PkiError(f"{what}: cannot be put in a certificate ({e})") from None


def key_usage(usages) -> x509.KeyUsage:
    flags = {n: (n in usages) for n in KEY_USAGES}
    return x509.KeyUsage(**flags)


def crl_distribution(url: str) -> x509.CRLDistributionPoints:
    return x509.CRLDistributionPoints(
        [
            x509.DistributionPoint(
                full_name=[x509.UniformResourceIdentifier(url)], relative_name=None, reasons=None, crl_issuer=None
            )
        ]
    )


def authority_info(*, ocsp: str | None = None, ca_issuers: str) -> x509.AuthorityInformationAccess:
    """Where relying parties ask for status (OCSP) and fetch the issuer's certificate, in that order."""
    oid = x509.oid.AuthorityInformationAccessOID
    return x509.AuthorityInformationAccess(
        ([x509.AccessDescription(oid.OCSP, x509.UniformResourceIdentifier(ocsp))] if ocsp else [])
        + [x509.AccessDescription(oid.CA_ISSUERS, x509.UniformResourceIdentifier(ca_issuers))]
    )
