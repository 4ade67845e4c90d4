"""Creating a CA: the offline root, the issuing CA with name constraints, the OCSP signer, the first CRLs and the
first CA administrator. Nothing half-made survives a failed init."""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.x509.oid import NameOID

from jinbao.estate import load_estate

from . import audit, authz, clock, files, operators, revocation, root_ceremony
from .certparts import authority_info, crl_distribution, hexserial, key_usage, pem
from .context import CA
from .errors import PkiError
from .ocsp_signer import new_signer
from .signer import FileSigner, NewKey
from .store import Store

KEY_TYPES = ("ecdsa-p256", "ecdsa-p384", "rsa-3072", "rsa-4096")
CA_FILES = (
    "ca.yml",
    "root",
    "issuing",
    "ocsp",
    "crl",
    "chain.pem",
    "ca.db",
    "ca.db-wal",
    "ca.db-shm",
    audit.HEAD_FILE,
    ".audit.head.lock",
    "operators",
)


def remove(ca_dir: Path) -> None:
    for name in CA_FILES:
        p = ca_dir / name
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        elif os.path.lexists(p):
            p.unlink()


def init(
    ca_dir,
    estate_name: str,
    root_passphrase: bytes,
    key_type: str = "ecdsa-p384",
    force: bool = False,
    admin_name: str = "admin",
    admin_out: Path | None = None,
) -> CA:
    """Create root, issuing CA, OCSP signer, first CRLs and the first CA administrator; returns the CA, open."""
    ca_dir = Path(ca_dir)
    if not 12 <= len(root_passphrase) <= 1023:
        raise PkiError("the root passphrase must be 12 to 1023 bytes long; give another one")
    if key_type not in KEY_TYPES:
        raise PkiError(f"unknown CA key type {key_type!r}")
    estate = load_estate(estate_name)
    exists = (ca_dir / "ca.yml").exists() or (ca_dir / "ca.db").exists()
    if exists and not force:
        raise PkiError(
            f"a CA already exists at {ca_dir}; it is left untouched. Pass --force to destroy it and start over"
        )
    if exists:
        _may_destroy(ca_dir, root_passphrase)
    if admin_out is not None:  # everything that could refuse is checked before an existing CA is destroyed
        admin = files.Outputs(admin_out, option="--admin-out").check()
    if exists:
        remove(ca_dir)
    try:
        (ca_dir / "operators").mkdir(parents=True, exist_ok=True)
        os.chmod(ca_dir, 0o700)
    except OSError as e:
        raise PkiError(f"--ca-dir {ca_dir}: cannot create it ({e.strerror}); choose another folder") from None
    if admin_out is None:
        admin = files.Outputs(ca_dir / "operators" / admin_name, option="--admin-out").check()
    cfg = {
        "estate": estate_name,
        "ca_key_type": key_type,
        "root_validity_days": 7300,
        "issuing_validity_days": 3650,
        "crl_validity_hours": 24,
        "ocsp_validity_minutes": 60,
        "publish_url": f"http://pki.{estate.domain}",
        "ocsp_url": f"http://ocsp.{estate.domain}",
    }
    try:
        root_key, root, issuing = _hierarchy(ca_dir, estate, cfg, root_passphrase)
        files.replace(ca_dir / "ca.yml", yaml.safe_dump(cfg, sort_keys=False).encode())
        Store(ca_dir / "ca.db").create()
        os.chmod(ca_dir / "ca.db", 0o600)
        ca = CA(ca_dir)
        with ca.store.transaction() as db:
            ca.store.record_config(db, ca.cfg)
            ca.audit(
                db,
                "init",
                "init",
                {
                    "estate": estate_name,
                    "key_type": key_type,
                    "root_serial": hexserial(root.serial_number),
                    "issuing_serial": hexserial(issuing.serial_number),
                    "root_fingerprint": authz.fingerprint(root),
                    "settings": ca.cfg,
                },
            )
        root_ceremony.write_root_crl(ca, root_key.certified(root), "init")
        new_signer(ca, "init", "ocsp_signer")
        operators.add(ca, admin_name, "ca_admin", admin, "init")
        revocation.write_crl(ca, "init")
        return ca
    except BaseException:
        remove(ca_dir)  # nothing half-made survives a failed init
        admin.remove()
        raise


def _may_destroy(ca_dir: Path, root_passphrase: bytes) -> None:
    """--force erases a CA's audit log and its record of every certificate issued and revoked: only whoever holds
    its root may do that, as only they may recover it (operator recover-admin). Anyone else who can write the
    folder must remove it by hand, outside the CA, and be seen doing so."""
    try:
        FileSigner(ca_dir / "root" / "root.crt", ca_dir / "root" / "root.key", root_passphrase)
    except PkiError as e:
        raise PkiError(
            f"--force: the CA at {ca_dir} is destroyed only with its own root passphrase, which opens "
            f"{ca_dir / 'root' / 'root.key'} ({e}); it is left untouched"
        ) from None


def _hierarchy(ca_dir: Path, estate, cfg: dict, root_passphrase: bytes):
    """Root and issuing CA, their keys written by their signers (the root's encrypted) and their certificates
    and chain beside them. Returns (the root's key, the root certificate, the issuing CA certificate)."""
    now = clock.now() - clock.CLOCK_SKEW
    org = estate.title or estate.name
    root_key = NewKey(cfg["ca_key_type"])
    root_name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, f"jinbao {estate.name} Root CA"),
        ]
    )
    root_ski = x509.SubjectKeyIdentifier.from_public_key(root_key.public_key())
    root = root_key.sign_certificate(
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=cfg["root_validity_days"]))
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(key_usage(["key_cert_sign", "crl_sign"]), critical=True)
        .add_extension(root_ski, critical=False)
    )
    iss_key = NewKey(cfg["ca_key_type"])
    iss_name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, f"jinbao {estate.name} Issuing CA 1"),
        ]
    )
    constraints = x509.NameConstraints(
        permitted_subtrees=[
            x509.DNSName(estate.domain),
            x509.RFC822Name(estate.domain),
            *(x509.IPAddress(n) for n in (estate.supernet, estate.mgmt_block)),
        ],
        excluded_subtrees=None,
    )
    issuing = root_key.sign_certificate(
        x509.CertificateBuilder()
        .subject_name(iss_name)
        .issuer_name(root_name)
        .public_key(iss_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=cfg["issuing_validity_days"]))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(key_usage(["digital_signature", "key_cert_sign", "crl_sign"]), critical=True)
        .add_extension(constraints, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(iss_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski), critical=False)
        .add_extension(crl_distribution(f"{cfg['publish_url']}/crl/root.crl"), critical=False)
        .add_extension(authority_info(ca_issuers=f"{cfg['publish_url']}/root.crt"), critical=False)
    )
    root_key.save(ca_dir / "root" / "root.key", root_passphrase)
    files.replace(ca_dir / "root" / "root.crt", pem(root))
    iss_key.save(ca_dir / "issuing" / "issuing.key")
    files.replace(ca_dir / "issuing" / "issuing.crt", pem(issuing))
    files.replace(ca_dir / "chain.pem", pem(issuing) + pem(root))
    return root_key, root, issuing
