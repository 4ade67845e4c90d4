"""One CA folder, opened: what every operation of the CA works with.

Layout of a CA folder:
  ca.yml                   configuration (estate, key type, URLs, lifetimes), recorded and sealed in ca.db
  root/root.crt, root.key  offline root; the key is encrypted with the root passphrase
  issuing/issuing.crt,.key online issuing CA (0600)
  ocsp/ocsp.crt, ocsp.key  delegated OCSP signer
  crl/root.crl, issuing.crl  DER (and .pem)
  chain.pem                issuing + root
  ca.db                    certificates, operators, audit log
  audit.head               the audit log's newest entry, signed: a ca.db put back, or entries cut from the
                           tail, stop the CA (store/head.py)
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from jinbao.estate import load_estate

from . import audit, crl, files, folder
from .config import parse as config
from .errors import PkiError
from .signer import FileSigner
from .store import Store


def _check_chain(ca_dir: Path, issuing: x509.Certificate, root: x509.Certificate) -> None:
    """The issuing certificate must be the root's: one put in its place (or a root swapped under
    it) would have the CA sign, and publish a chain, that no relying party's root vouches for."""
    try:
        root.verify_directly_issued_by(root)
    except (ValueError, TypeError, InvalidSignature):
        raise PkiError(
            f"{ca_dir / 'root' / 'root.crt'} is not a self-signed root certificate; put back the root from the "
            "ceremony's offline copy"
        ) from None
    try:
        issuing.verify_directly_issued_by(root)
    except (ValueError, TypeError, InvalidSignature):
        raise PkiError(
            f"{ca_dir / 'issuing' / 'issuing.crt'} was not signed by the root in {ca_dir / 'root' / 'root.crt'}; "
            "the CA will not open with it: put back the issuing certificate and key the root signed (from the CA's "
            "backup)"
        ) from None


class CA:
    def __init__(self, ca_dir: str | os.PathLike, signing: bool = True):
        """signing=False opens no private key now: the issuing key is read the first time something must be
        signed, so whatever only reads and verifies works from public material alone."""
        self.dir = Path(ca_dir)
        if not (self.dir / "ca.yml").is_file() or not (self.dir / "ca.db").is_file():
            raise PkiError(f"no CA at {self.dir}; create one with 'jinbao pki init --ca-dir {self.dir}'")
        if signing and (loose := folder.problems(self.dir)):
            raise PkiError(folder.message(loose))  # 'audit verify' (signing=False) reports them instead
        self.cfg = files.load(self.dir / "ca.yml", config, "CA configuration")
        self.issuer = FileSigner(
            self.dir / "issuing" / "issuing.crt", self.dir / "issuing" / "issuing.key", deferred=not signing
        )
        self.root_cert = files.load(self.dir / "root" / "root.crt", x509.load_pem_x509_certificate, "CA certificate")
        _check_chain(self.dir, self.issuer.certificate, self.root_cert)
        try:
            self.store = Store(
                self.dir / "ca.db", head=audit.Head(self.dir, self.issuer), signer=self.issuer, config=self.cfg
            )
            self.store.check()
            if signing:
                self._settle_crls()
        except sqlite3.Error as e:
            raise PkiError(f"CA database {self.dir / 'ca.db'} is damaged ({e}); restore it from a backup") from None
        self._estate = None

    def _settle_crls(self) -> None:
        """Put in place (or take away) what a publisher killed between its commit and its rename left (crl.settle)."""
        issuing, root = self.dir / "crl" / "issuing.crl", self.dir / "crl" / "root.crl"
        if crl.staged(issuing) or crl.staged(root):
            with self.store.transaction() as db:
                meta = self.store.meta(db)
                crl.settle(issuing, self.issuer.certificate, meta.get("crl_number"))
                crl.settle(root, self.root_cert, meta.get("root_crl_number"))

    @property
    def estate(self):
        if self._estate is None:
            self._estate = load_estate(self.cfg["estate"])
        return self._estate

    def audit(self, db, actor: str, action: str, detail: dict) -> None:
        """An audit entry signed by the issuing CA, inside the caller's transaction."""
        self.store.append_audit(db, actor, action, detail, self.issuer.sign)

    def root_signer(self, passphrase: bytes) -> FileSigner:
        """The offline root's key, proven to be the root's: possession of it is the CA's last word."""
        return FileSigner(self.dir / "root" / "root.crt", self.dir / "root" / "root.key", passphrase)
