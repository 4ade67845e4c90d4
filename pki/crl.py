"""Signing and publishing CRLs: the issuing CA's (on every revocation and on schedule) and the root's.

The order of publication is the caller's: revocation.py signs a CRL while it holds the database's
write lock and stages it (stage); it is renamed into place only after that transaction commits,
never over a CRL of a higher number, so the CRL in place never lists a revocation the database
lacks, whenever the process is killed (settle finishes what a killed one left). Each file is
replaced atomically, so a relying party reads the old CRL or the new one, never half of one. A
CRL found on disk is believed only once its signature is the CA's: anyone who can write the
folder can plant one.
"""

from __future__ import annotations

import base64
import fcntl
import os
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from . import crl_der, faults, files
from .errors import PkiError

# RFC 5280 5.2.3: a CRLNumber is at most 20 octets, a positive INTEGER: below 2**159.
MAX_NUMBER = 2**159 - 1
MAX_FILE = 1 << 30  # 100,000 revocations make about 4 MB


def _read(path: Path) -> x509.CertificateRevocationList:
    return x509.load_der_x509_crl(files.read_input(path, "the published CRL", limit=MAX_FILE))


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
        crl = _read(path)
    except (PkiError, ValueError):
        return 0
    n = number(crl) if signed_by(crl, issuer) else None
    return n if n is not None and n <= MAX_NUMBER else 0


def due(path: Path, issuer: x509.Certificate, record: dict, horizon: datetime) -> bool:
    """Whether the CRL must be signed again before horizon, by the CA's record (crl_number, crl_next_update) of
    what it published last. A CRL on disk the issuer did not sign is an error, not a schedule; one that is not the
    CRL the record names (a backup put back) is due."""
    if "crl_next_update" not in record or not path.exists():
        return True
    published = files.load(path, x509.load_der_x509_crl, "the published CRL", limit=MAX_FILE)
    if not signed_by(published, issuer):
        raise PkiError(f"the published CRL {path} is not signed by this CA's issuing key")
    if str(number(published)) != record.get("crl_number"):
        return True
    return datetime.fromisoformat(record["crl_next_update"]) <= horizon


def problem(path: Path, issuer: x509.Certificate, last: str | None, fix: str) -> str | None:
    """What is wrong with the CRL at path (and its .pem), by issuer's key and the number the CA recorded
    publishing last; None when it is that CRL."""
    if waiting := staged(path):
        return (
            f"{waiting[0]} is a CRL signed but not yet put in place (the CA was stopped between recording and "
            "publishing it); the next 'jinbao pki' command of an operator puts it in place, or removes it if it "
            "was never recorded"
        )
    try:
        published = _read(path)
        pem = x509.load_pem_x509_crl(
            files.read_input(path.with_name(path.name + ".pem"), "the published CRL", limit=MAX_FILE)
        )
    except (PkiError, ValueError):
        return f"the published CRL {path} (or its .pem) is missing or damaged; '{fix}' publishes it again"
    if not signed_by(published, issuer) or pem.public_bytes(serialization.Encoding.DER) != published.public_bytes(
        serialization.Encoding.DER
    ):
        return (
            f"the published CRL {path} is not the one the CA signed (its signature or its .pem is another's); "
            f"'{fix}' replaces it"
        )
    if str(number(published)) != last:
        return (
            f"the published CRL {path} is number {number(published)}, but the CA last published number {last}; "
            f"'{fix}' publishes the current one"
        )
    return None


def sign(signer, number: int, this_update: datetime, next_update: datetime, revoked=()) -> bytes:
    """DER of a CRL by signer (signer.py); revoked = (serial hex, revoked_at, reason) rows."""
    issuer = signer.certificate
    header = signer.sign_crl(
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
            ),
            critical=False,
        )
    )
    der = crl_der.build(header, revoked, signer.sign)
    if not x509.load_der_x509_crl(der).is_signature_valid(issuer.public_key()):
        raise PkiError("internal error: the new CRL's signature does not verify; the old CRL stays")
    return der


def stage(store, path: Path, der: bytes, issuer: x509.Certificate) -> None:
    """Publish the CRL der at path (and path.pem) once the caller's transaction commits, and never before.

    It is staged beside path under a name of its own (its number), inside the transaction, and renamed over path
    after the commit (place). Killed before the commit, the staged file lists what ca.db does not: the next CA
    to open the folder removes it (settle). Killed after, ca.db lists what the CRL in place does not yet: the next
    one puts it in place. At no moment does the CRL in place list a revocation ca.db lacks."""
    n = number(x509.load_der_x509_crl(der))
    staged = path.with_name(f".{path.name}.{n}{STAGED}")
    files.replace(staged, der)
    store.on_abort(lambda: staged.unlink(missing_ok=True))

    def publish() -> None:
        try:
            place(path, staged, issuer)
        except (PkiError, OSError) as e:
            raise PkiError(
                f"the change is recorded, but its CRL {path} could not be put in place ({e}); the CRL there lists "
                "nothing the CA has not recorded. Put the folder right and run 'jinbao pki crl'"
            ) from None

    store.after_commit(publish)


STAGED = ".staged"


def staged(path: Path) -> list[Path]:
    """The CRLs staged for path and not yet put in place."""
    return sorted(path.parent.glob(f".{path.name}.*{STAGED}"))


def place(path: Path, staged_file: Path, issuer: x509.Certificate) -> None:
    """Rename a committed staged CRL over path, unless a CRL of a higher number is there already (another
    publisher got there first): under an advisory lock, so two publishers never put CRLs back in the wrong order."""
    with _publishing(path):
        try:
            der = files.read_input(staged_file, "the staged CRL", limit=MAX_FILE)
        except PkiError:
            return  # put in place already, by whoever settled first
        try:
            mine = x509.load_der_x509_crl(der)
        except ValueError:
            mine = None
        n = number(mine) if mine is not None and signed_by(mine, issuer) else None
        if n is None or n <= published_number(path, issuer):
            staged_file.unlink(missing_ok=True)
            return
        if path.is_symlink():
            raise PkiError(f"{path} is a symlink; the CA writes only its own files. Remove the link")
        files.replace(path.with_name(path.name + ".pem"), _pem(der))
        faults.point("crl_staged")
        os.replace(staged_file, path)


def settle(path: Path, issuer: x509.Certificate, recorded: str | None) -> None:
    """Finish what a killed publisher left: call holding the database's write lock, so no transaction is between
    staging and its commit. A staged CRL whose number the CA recorded was committed: it goes in place; one
    above it never was: it goes."""
    for f in staged(path):
        try:
            n = int(f.name[len(path.name) + 2 : -len(STAGED)])
        except ValueError:
            n = None
        if n is not None and recorded is not None and recorded.isdigit() and n <= int(recorded):
            place(path, f, issuer)
        else:
            f.unlink(missing_ok=True)


@contextmanager
def _publishing(path: Path):
    fd = os.open(path.with_name(".publish.lock"), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # released by the kernel if this process dies holding it
        yield
    finally:
        os.close(fd)


def _pem(der: bytes) -> bytes:
    b64 = base64.encodebytes(der).replace(b"\n", b"")
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return b"-----BEGIN X509 CRL-----\n%s\n-----END X509 CRL-----\n" % b"\n".join(lines)
