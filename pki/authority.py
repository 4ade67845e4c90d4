"""The CA: hierarchy, issuing, revoking, renewing, CRLs. Requests go validate → modify →
enforce → sign, and each change lands in the database together with its audit entry.

Layout of a CA folder:
  ca.yml                   configuration (estate, key type, URLs, lifetimes)
  root/root.crt, root.key  offline root; the key is encrypted with the root passphrase
  issuing/issuing.crt,.key online issuing CA (0600)
  ocsp/ocsp.crt, ocsp.key  delegated OCSP signer
  crl/root.crl, issuing.crl  DER (and .pem)
  chain.pem                issuing + root
  ca.db                    certificates, operators, audit log
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.x509.oid import NameOID

from jinbao.estate import load_estate

from . import authz, crl_der, keys, profiles
from .errors import NotAllowed, PkiError
from .signer import FileSigner
from .store import Store, utc

REASONS = {r.name: r for r in x509.ReasonFlags}
CA_FILES = ("ca.yml", "root", "issuing", "ocsp", "crl", "chain.pem", "ca.db", "ca.db-wal", "ca.db-shm")


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def hexserial(n: int) -> str:
    return format(n, "x")


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


@dataclass
class Issued:
    serial: str
    cert: x509.Certificate
    key_pem: bytes | None  # only when the CA generated the key; never stored by the CA

    @property
    def cert_pem(self) -> bytes:
        return _pem(self.cert)


@dataclass
class Request:
    """One certificate request as it moves through the pipeline."""

    profile: profiles.Profile
    device: str | None = None
    person: str | None = None
    email: str | None = None
    csr_pem: bytes | None = None
    key_type: str | None = None
    days: int | None = None
    # filled by the pipeline
    public_key: object = None
    private_key: object = None
    requested_names: tuple = ()
    subject: x509.Name | None = None
    sans: tuple = ()
    site: str | None = None
    not_before: datetime | None = None
    not_after: datetime | None = None


class Authority:
    def __init__(self, ca_dir: str | os.PathLike):
        self.dir = Path(ca_dir)
        if not (self.dir / "ca.yml").is_file():
            raise PkiError(f"no CA at {self.dir}; create one with 'jinbao pki init --ca-dir {self.dir}'")
        self.cfg = yaml.safe_load((self.dir / "ca.yml").read_text())
        self.store = Store(self.dir / "ca.db")
        self.issuer = FileSigner(self.dir / "issuing" / "issuing.crt", self.dir / "issuing" / "issuing.key")
        self.root_cert = x509.load_pem_x509_certificate((self.dir / "root" / "root.crt").read_bytes())
        self._estate = None

    @property
    def estate(self):
        if self._estate is None:
            self._estate = load_estate(self.cfg["estate"])
        return self._estate

    # -- hierarchy ------------------------------------------------------------------------------
    @classmethod
    def init(cls, ca_dir, estate_name: str, root_passphrase: bytes, key_type: str = "ecdsa-p384",
             force: bool = False, admin_name: str = "admin", admin_out: Path | None = None) -> "Authority":
        """Create root, issuing CA, OCSP signer, first CRLs and the first CA administrator."""
        ca_dir = Path(ca_dir)
        if (ca_dir / "ca.yml").exists() or (ca_dir / "ca.db").exists():
            if not force:
                raise PkiError(f"a CA already exists at {ca_dir}; it is left untouched. Pass --force to destroy it "
                               "and start over")
            for name in CA_FILES:
                p = ca_dir / name
                if p.is_dir():
                    shutil.rmtree(p)
                elif p.exists():
                    p.unlink()
        if len(root_passphrase) < 12:
            raise PkiError("the root passphrase must be at least 12 characters")
        if key_type not in ("ecdsa-p256", "ecdsa-p384", "rsa-3072", "rsa-4096"):
            raise PkiError(f"unknown CA key type {key_type!r}")
        estate = load_estate(estate_name)
        admin_out = Path(admin_out) if admin_out else ca_dir / "operators" / admin_name
        domain = estate.domain
        cfg = {
            "estate": estate_name, "ca_key_type": key_type, "root_validity_days": 7300,
            "issuing_validity_days": 3650, "crl_validity_hours": 24, "ocsp_validity_minutes": 60,
            "publish_url": f"http://pki.{domain}", "ocsp_url": f"http://ocsp.{domain}",
        }
        ca_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(ca_dir, 0o700)
        try:
            now = _now()
            org = estate.title or estate.name
            root_key = keys.generate(key_type)
            root_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                                   x509.NameAttribute(NameOID.COMMON_NAME, f"jinbao {estate.name} Root CA")])
            root_ski = x509.SubjectKeyIdentifier.from_public_key(root_key.public_key())
            root = (x509.CertificateBuilder().subject_name(root_name).issuer_name(root_name)
                    .public_key(root_key.public_key()).serial_number(x509.random_serial_number())
                    .not_valid_before(now).not_valid_after(now + timedelta(days=cfg["root_validity_days"]))
                    .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
                    .add_extension(_ku(["key_cert_sign", "crl_sign"]), critical=True)
                    .add_extension(root_ski, critical=False)
                    .sign(root_key, keys.hash_for(root_key)))
            iss_key = keys.generate(key_type)
            iss_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                                  x509.NameAttribute(NameOID.COMMON_NAME, f"jinbao {estate.name} Issuing CA 1")])
            constraints = x509.NameConstraints(
                permitted_subtrees=[x509.DNSName(domain), x509.RFC822Name(domain),
                                    *(x509.IPAddress(n) for n in (estate.supernet, estate.mgmt_block))],
                excluded_subtrees=None)
            issuing = (x509.CertificateBuilder().subject_name(iss_name).issuer_name(root_name)
                       .public_key(iss_key.public_key()).serial_number(x509.random_serial_number())
                       .not_valid_before(now).not_valid_after(now + timedelta(days=cfg["issuing_validity_days"]))
                       .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                       .add_extension(_ku(["digital_signature", "key_cert_sign", "crl_sign"]), critical=True)
                       .add_extension(constraints, critical=True)
                       .add_extension(x509.SubjectKeyIdentifier.from_public_key(iss_key.public_key()), critical=False)
                       .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski),
                                      critical=False)
                       .add_extension(_cdp(f"{cfg['publish_url']}/crl/root.crl"), critical=False)
                       .add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
                           x509.oid.AuthorityInformationAccessOID.CA_ISSUERS,
                           x509.UniformResourceIdentifier(f"{cfg['publish_url']}/root.crt"))]), critical=False)
                       .sign(root_key, keys.hash_for(root_key)))
            keys.write_secret(ca_dir / "root" / "root.key", keys.private_pem(root_key, root_passphrase))
            _write(ca_dir / "root" / "root.crt", _pem(root))
            keys.write_secret(ca_dir / "issuing" / "issuing.key", keys.private_pem(iss_key))
            _write(ca_dir / "issuing" / "issuing.crt", _pem(issuing))
            _write(ca_dir / "chain.pem", _pem(issuing) + _pem(root))
            (ca_dir / "ca.yml").write_text(yaml.safe_dump(cfg, sort_keys=False))
            store = Store(ca_dir / "ca.db")
            store.create()
            os.chmod(ca_dir / "ca.db", 0o600)
            ca = cls(ca_dir)
            with store.transaction() as db:
                ca._audit(db, "init", "init", {"estate": estate_name, "key_type": key_type,
                                                "root_serial": hexserial(root.serial_number),
                                                "issuing_serial": hexserial(issuing.serial_number),
                                                "root_fingerprint": authz.fingerprint(root)})
            ca._write_root_crl(root_key, "init")
            ocsp = ca._issue_internal(Request(profiles.get("ocsp_signer")), "init",
                                      subject_cn=f"jinbao {estate.name} OCSP responder")
            keys.write_secret(ca_dir / "ocsp" / "ocsp.key", ocsp.key_pem)
            _write(ca_dir / "ocsp" / "ocsp.crt", ocsp.cert_pem)
            ca._add_operator_internal(admin_name, "ca_admin", admin_out, "init")
            ca.write_crl("init")
            return ca
        except BaseException:
            # Nothing half-made survives a failed init.
            for name in CA_FILES:
                p = ca_dir / name
                if p.is_dir():
                    shutil.rmtree(p, ignore_errors=True)
                elif p.exists():
                    p.unlink()
            raise

    # -- who asks ----------------------------------------------------------------------------
    def authorize(self, cred: authz.Credential, action: str) -> authz.Operator:
        op = authz.authenticate(cred, self.issuer.certificate, self.store)
        try:
            authz.require(op, action)
        except NotAllowed:
            with self.store.transaction() as db:
                self._audit(db, op.name, "denied", {"action": action, "role": op.role})
            raise
        return op

    def _audit(self, db, actor: str, action: str, detail: dict) -> None:
        self.store.audit(db, actor, action, detail, self._sign_bytes)

    def _sign_bytes(self, data: bytes) -> bytes:
        k = self.issuer.private_key
        if isinstance(k, ec.EllipticCurvePrivateKey):
            return k.sign(data, ec.ECDSA(keys.hash_for(k)))
        return k.sign(data, padding.PKCS1v15(), keys.hash_for(k))

    # -- the pipeline ----------------------------------------------------------------------------
    def _validate(self, req: Request) -> None:
        if req.csr_pem is not None:
            try:
                csr = x509.load_pem_x509_csr(req.csr_pem)
            except ValueError:
                try:
                    csr = x509.load_der_x509_csr(req.csr_pem)
                except ValueError:
                    raise PkiError("the CSR is malformed: not a PEM or DER PKCS#10 request") from None
            try:
                sig_ok = csr.is_signature_valid
            except Exception:  # noqa: BLE001 - unsupported algorithms raise various errors
                sig_ok = False
            if not sig_ok:
                raise PkiError("the CSR's signature does not verify: it was altered or not signed by its key")
            req.public_key = csr.public_key()
            try:
                san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
                req.requested_names = tuple(san)
            except x509.ExtensionNotFound:
                req.requested_names = ()
        else:
            kt = req.key_type or req.profile.default_key_type
            if kt not in req.profile.key_types:
                raise PkiError(f"profile {req.profile.name} does not allow key type {kt}; allowed: "
                               f"{', '.join(req.profile.key_types)}")
            req.private_key = keys.generate(kt)
            req.public_key = req.private_key.public_key()

    def _modify(self, req: Request, subject_cn: str | None = None) -> None:
        """Fill in names from the inventory and the validity from the profile."""
        p = req.profile
        e = self.estate
        org = x509.NameAttribute(NameOID.ORGANIZATION_NAME, e.title or e.name)
        if p.subject == "device":
            if not req.device:
                raise PkiError(f"profile {p.name} issues to a device: give --device NAME")
            d = e.devices.get(req.device)
            if d is None:
                raise PkiError(f"no device {req.device!r} in estate {e.name}: a certificate is only issued to a device "
                               "the inventory has")
            if d.role not in p.device_roles:
                raise PkiError(f"profile {p.name} is not for a {d.role} ({d.name}); it serves: {', '.join(p.device_roles)}")
            req.site = d.site
            req.subject = x509.Name([org, x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, d.site),
                                     x509.NameAttribute(NameOID.COMMON_NAME, d.fqdn)])
            ips = [d.mgmt_ip] + ([d.loopback] if d.loopback else []) + [i.ip.ip for i in d.interfaces if i.ip]
            req.sans = (x509.DNSName(d.fqdn), *(x509.IPAddress(ip) for ip in dict.fromkeys(ips)))
        elif p.subject == "person":
            if not req.person or not req.email:
                raise PkiError(f"profile {p.name} issues to a person: give --person NAME and --email ADDRESS")
            req.subject = x509.Name([org, x509.NameAttribute(NameOID.COMMON_NAME, req.person)])
            req.sans = (x509.RFC822Name(req.email),)
        else:
            req.subject = x509.Name([org, x509.NameAttribute(NameOID.COMMON_NAME, subject_cn or p.description)])
            req.sans = ()
        days = req.days or p.default_validity_days
        req.not_before = _now() - timedelta(minutes=5)  # tolerate clock skew on the relying side
        req.not_after = req.not_before + timedelta(days=days)

    def _enforce(self, req: Request) -> None:
        p = req.profile
        kt = keys.key_type_of(req.public_key)
        if kt not in p.key_types:
            raise PkiError(f"profile {p.name} does not allow a {kt} key; allowed: {', '.join(p.key_types)}")
        days = (req.not_after - req.not_before).days
        if days > p.max_validity_days:
            raise PkiError(f"validity of {days} days exceeds profile {p.name}'s maximum of {p.max_validity_days}")
        allowed = set(req.sans)
        extra = [n for n in req.requested_names if n not in allowed]
        if extra:
            raise PkiError("the CSR asks for names the inventory does not give this subject: "
                           + ", ".join(str(getattr(n, "value", n)) for n in extra))
        domain = self.estate.domain
        for n in req.sans:
            if isinstance(n, (x509.DNSName, x509.RFC822Name)):
                host = n.value.split("@")[-1]
                if host != domain and not host.endswith("." + domain):
                    raise PkiError(f"{n.value} is outside the CA's domain {domain}")
            if isinstance(n, x509.IPAddress) and not any(
                    n.value in net for net in (self.estate.supernet, self.estate.mgmt_block)):
                raise PkiError(f"{n.value} is outside the estate's address plan")

    def _sign(self, req: Request) -> x509.Certificate:
        p = req.profile
        iss = self.issuer.certificate
        is_ec = isinstance(req.public_key, ec.EllipticCurvePublicKey)
        usages = [u for u in p.key_usage if not (is_ec and u in ("key_encipherment", "data_encipherment"))]
        b = (x509.CertificateBuilder().subject_name(req.subject).issuer_name(iss.subject)
             .public_key(req.public_key).serial_number(x509.random_serial_number())
             .not_valid_before(req.not_before).not_valid_after(req.not_after)
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
             .add_extension(_ku(usages), critical=True)
             .add_extension(x509.ExtendedKeyUsage([profiles.EKU[u] for u in p.extended_key_usage]), critical=False)
             .add_extension(x509.SubjectKeyIdentifier.from_public_key(req.public_key), critical=False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                 iss.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value), critical=False)
             .add_extension(_cdp(f"{self.cfg['publish_url']}/crl/issuing.crl"), critical=False)
             .add_extension(x509.AuthorityInformationAccess([
                 x509.AccessDescription(x509.oid.AuthorityInformationAccessOID.OCSP,
                                        x509.UniformResourceIdentifier(self.cfg["ocsp_url"])),
                 x509.AccessDescription(x509.oid.AuthorityInformationAccessOID.CA_ISSUERS,
                                        x509.UniformResourceIdentifier(f"{self.cfg['publish_url']}/issuing.crt"))]),
                 critical=False))
        if req.sans:
            b = b.add_extension(x509.SubjectAlternativeName(list(req.sans)), critical=False)
        if p.ocsp_nocheck:
            b = b.add_extension(x509.OCSPNoCheck(), critical=False)
        return b.sign(self.issuer.private_key, keys.hash_for(self.issuer.private_key))

    def _record(self, db, cert: x509.Certificate, req: Request, actor: str, action: str,
                renewed_from: str | None = None) -> str:
        serial = hexserial(cert.serial_number)
        db.execute("INSERT INTO certs (serial, profile, subject, device, site, not_before, not_after, fingerprint, pem, "
                   "issued_by, renewed_from) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                   (serial, req.profile.name, cert.subject.rfc4514_string(), req.device, req.site,
                    cert.not_valid_before_utc.timestamp(), cert.not_valid_after_utc.timestamp(),
                    authz.fingerprint(cert), _pem(cert).decode(), actor, renewed_from))
        self._audit(db, actor, action, {"serial": serial, "profile": req.profile.name,
                                        "subject": cert.subject.rfc4514_string(), "device": req.device,
                                        "not_after": cert.not_valid_after_utc.isoformat(),
                                        **({"renewed_from": renewed_from} if renewed_from else {})})
        return serial

    def _issue_internal(self, req: Request, actor: str, action: str = "issue", subject_cn: str | None = None,
                        renewed_from: str | None = None) -> Issued:
        self._validate(req)
        self._modify(req, subject_cn)
        self._enforce(req)
        for _ in range(3):
            cert = self._sign(req)
            try:
                with self.store.transaction() as db:
                    serial = self._record(db, cert, req, actor, action, renewed_from)
                break
            except sqlite3.IntegrityError:
                continue  # a 159-bit serial collided: sign again with a fresh one
        else:
            raise PkiError("could not allocate a unique serial")
        key_pem = keys.private_pem(req.private_key) if req.private_key is not None else None
        return Issued(serial, cert, key_pem)

    # -- operations ----------------------------------------------------------------------------
    def issue(self, cred, profile: str, *, device=None, person=None, email=None, csr_pem=None, key_type=None,
              days=None) -> Issued:
        op = self.authorize(cred, "issue")
        prof = profiles.get(profile)
        if prof.subject not in ("device", "person"):
            raise PkiError(f"profile {profile} is kept for the CA itself (init and operator add)")
        return self._issue_internal(Request(prof, device=device, person=person, email=email, csr_pem=csr_pem,
                                            key_type=key_type, days=days), op.name)

    def renew(self, cred, serial: str, *, csr_pem=None, key_type=None) -> Issued:
        op = self.authorize(cred, "renew")
        old = self._existing(serial)
        cert = x509.load_pem_x509_certificate(old["pem"].encode())
        req = Request(profiles.get(old["profile"]), device=old["device"], csr_pem=csr_pem, key_type=key_type)
        if req.profile.subject == "person":
            req.person = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
            req.email = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value[0].value
        return self._issue_internal(req, op.name, action="renew", renewed_from=old["serial"])

    def _existing(self, serial: str):
        s = serial.lower().removeprefix("0x").lstrip("0") or "0"
        row = self.store.cert(s)
        if row is None:
            raise PkiError(f"no certificate with serial {serial} in this CA")
        return row

    def revoke(self, cred, serial: str, reason: str = "unspecified") -> None:
        op = self.authorize(cred, "revoke")
        if reason not in REASONS or reason == "remove_from_crl":
            raise PkiError(f"unknown revocation reason {reason!r}; use one of: "
                           + ", ".join(r for r in REASONS if r != "remove_from_crl"))
        row = self._existing(serial)
        if row["revoked_at"] is not None:
            raise PkiError(f"certificate {row['serial']} is already revoked ({row['revoke_reason']})")
        with self.store.transaction() as db:
            db.execute("UPDATE certs SET revoked_at = ?, revoke_reason = ? WHERE serial = ?",
                       (time.time(), reason, row["serial"]))
            self._audit(db, op.name, "revoke", {"serial": row["serial"], "reason": reason})
        self.write_crl(op.name)  # the CRL says so at once; OCSP reads the database live

    def write_crl(self, actor: str) -> x509.CertificateRevocationList:
        """Regenerate the issuing CA's CRL (on every revoke, and on schedule via 'pki crl')."""
        now = _now()
        k = self.issuer.private_key
        iss = self.issuer.certificate
        with self.store.transaction() as db:
            number = self.store.next_crl_number(db)
            b = (x509.CertificateRevocationListBuilder().issuer_name(iss.subject).last_update(now)
                 .next_update(now + timedelta(hours=self.cfg["crl_validity_hours"]))
                 .add_extension(x509.CRLNumber(number), critical=False)
                 .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                     iss.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value), critical=False))
            header = b.sign(k, keys.hash_for(k))
            rows = db.execute("SELECT serial, revoked_at, revoke_reason FROM certs WHERE revoked_at IS NOT NULL")
            der = crl_der.build(header, rows, k)
            crl = x509.load_der_x509_crl(der)
            if not crl.is_signature_valid(iss.public_key()):
                raise PkiError("internal error: the new CRL's signature does not verify; the old CRL stays")
            self._audit(db, actor, "crl", {"crl_number": number, "revoked": len(crl),
                                           "next_update": crl.next_update_utc.isoformat()})
        _write(self.dir / "crl" / "issuing.crl", der)
        _write(self.dir / "crl" / "issuing.crl.pem", _der_to_pem(der, "X509 CRL"))
        return crl

    def crl_due(self, within_hours: float) -> bool:
        f = self.dir / "crl" / "issuing.crl"
        if not f.exists():
            return True
        crl = x509.load_der_x509_crl(f.read_bytes())
        return crl.next_update_utc - _now() <= timedelta(hours=within_hours)

    def root_crl(self, cred, root_passphrase: bytes) -> None:
        op = self.authorize(cred, "root_crl")
        root_key = keys.load_private(self.dir / "root" / "root.key", root_passphrase)
        self._write_root_crl(root_key, op.name)

    def _write_root_crl(self, root_key, actor: str) -> None:
        now = _now()
        root = self.root_cert
        crl = (x509.CertificateRevocationListBuilder().issuer_name(root.subject).last_update(now)
               .next_update(now + timedelta(days=365))
               .add_extension(x509.CRLNumber(int(time.time())), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                   root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value), critical=False)
               .sign(root_key, keys.hash_for(root_key)))
        with self.store.transaction() as db:
            self._audit(db, actor, "root_crl", {"next_update": crl.next_update_utc.isoformat()})
        _write(self.dir / "crl" / "root.crl", crl.public_bytes(serialization.Encoding.DER))
        _write(self.dir / "crl" / "root.crl.pem", crl.public_bytes(serialization.Encoding.PEM))

    def renew_ocsp_signer(self, cred) -> Issued:
        """Replace the delegated OCSP signer (it lives 60 days; renew it from cron well before)."""
        op = self.authorize(cred, "ocsp_signer")
        issued = self._issue_internal(Request(profiles.get("ocsp_signer")), op.name, action="ocsp_signer",
                                      subject_cn=f"jinbao {self.cfg['estate']} OCSP responder")
        keys.write_secret(self.dir / "ocsp" / "ocsp.key", issued.key_pem)
        _write(self.dir / "ocsp" / "ocsp.crt", issued.cert_pem)
        return issued

    def add_operator(self, cred, name: str, role: str, out: Path) -> Issued:
        op = self.authorize(cred, "operator_add")
        return self._add_operator_internal(name, role, out, op.name)

    def _add_operator_internal(self, name: str, role: str, out: Path, actor: str) -> Issued:
        if role not in authz.ROLES:
            raise PkiError(f"unknown role {role!r}; roles: {', '.join(authz.ROLES)}")
        if self.store.db.execute("SELECT 1 FROM operators WHERE name = ?", (name,)).fetchone():
            raise PkiError(f"operator {name!r} already exists")
        req = Request(profiles.get("operator"))
        self._validate(req)
        self._modify(req, subject_cn=name)
        req.subject = x509.Name([*req.subject, x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role)])
        self._enforce(req)
        cert = self._sign(req)
        out = Path(out)
        keys.write_secret(out.with_name(out.name + ".key"), keys.private_pem(req.private_key))
        _write(out.with_name(out.name + ".crt"), _pem(cert))
        with self.store.transaction() as db:
            serial = self._record(db, cert, req, actor, "operator_add")
            db.execute("INSERT INTO operators (name, role, serial) VALUES (?,?,?)", (name, role, serial))
        return Issued(serial, cert, None)

    # -- reading --------------------------------------------------------------------------------
    def list(self, cred, *, site=None, profile=None, status=None, device=None) -> list[dict]:
        self.authorize(cred, "read")
        now = time.time()
        out = []
        for r in self.store.certs():
            st = "revoked" if r["revoked_at"] else ("expired" if r["not_after"] < now else "valid")
            if (site and r["site"] != site) or (profile and r["profile"] != profile) or (status and st != status) \
                    or (device and r["device"] != device):
                continue
            out.append({"serial": r["serial"], "status": st, "profile": r["profile"], "subject": r["subject"],
                        "device": r["device"], "site": r["site"], "not_after": utc(r["not_after"]).isoformat(),
                        "revoke_reason": r["revoke_reason"]})
        return out

    def show(self, cred, serial: str) -> dict:
        self.authorize(cred, "read")
        r = self._existing(serial)
        return {**dict(r), "not_before": utc(r["not_before"]).isoformat(), "not_after": utc(r["not_after"]).isoformat()}

    def expiring(self, cred, days: int) -> dict[str, list[dict]]:
        """Valid certificates that expire within `days`, grouped by site."""
        self.authorize(cred, "read")
        now = time.time()
        horizon = now + days * 86400
        per_site: dict[str, list[dict]] = {}
        for r in self.store.certs("revoked_at IS NULL AND not_after >= ? AND not_after <= ?", (now, horizon)):
            per_site.setdefault(r["site"] or "(no site)", []).append(
                {"serial": r["serial"], "profile": r["profile"], "subject": r["subject"], "device": r["device"],
                 "not_after": utc(r["not_after"]).isoformat(), "days_left": int((r["not_after"] - now) // 86400)})
        return per_site

    def verify_audit(self, cred) -> tuple[int, list[str]]:
        """Recompute the chain and check every signature. Returns (entries, problems)."""
        self.authorize(cred, "audit")
        from .store import GENESIS, entry_hash
        problems = []
        prev = GENESIS
        pub = self.issuer.certificate.public_key()
        rows = self.store.audit_entries()
        for i, r in enumerate(rows, start=1):
            if r["seq"] != i:
                problems.append(f"entry {i}: missing (found seq {r['seq']})")
            if r["prev"] != prev:
                problems.append(f"entry {r['seq']}: does not link to the entry before it")
            h = entry_hash(r["prev"], r["seq"], r["ts"], r["actor"], r["action"], r["detail"])
            if h != r["hash"]:
                problems.append(f"entry {r['seq']} ({r['action']} by {r['actor']}): content does not match its hash")
            try:
                if isinstance(pub, ec.EllipticCurvePublicKey):
                    pub.verify(r["sig"], bytes.fromhex(r["hash"]), ec.ECDSA(keys.hash_for(self.issuer.private_key)))
                else:
                    pub.verify(r["sig"], bytes.fromhex(r["hash"]), padding.PKCS1v15(), keys.hash_for(self.issuer.private_key))
            except (InvalidSignature, ValueError):
                problems.append(f"entry {r['seq']}: signature is not the issuing CA's")
            prev = r["hash"]
        return len(rows), problems

    def audit_log(self, cred) -> list[dict]:
        self.authorize(cred, "audit")
        return [{"seq": r["seq"], "time": utc(r["ts"]).isoformat(), "actor": r["actor"], "action": r["action"],
                 "detail": r["detail"]} for r in self.store.audit_entries()]


def _ku(names) -> x509.KeyUsage:
    flags = {n: (n in names) for n in ("digital_signature", "content_commitment", "key_encipherment",
                                       "data_encipherment", "key_agreement", "key_cert_sign", "crl_sign",
                                       "encipher_only", "decipher_only")}
    return x509.KeyUsage(**flags)


def _der_to_pem(der: bytes, label: str) -> bytes:
    import base64
    b64 = base64.encodebytes(der).replace(b"\n", b"")
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return b"-----BEGIN %s-----\n%s\n-----END %s-----\n" % (label.encode(), b"\n".join(lines), label.encode())


def _cdp(url: str) -> x509.CRLDistributionPoints:
    return x509.CRLDistributionPoints([x509.DistributionPoint(
        full_name=[x509.UniformResourceIdentifier(url)], relative_name=None, reasons=None, crl_issuer=None)])


