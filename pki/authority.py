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
  audit.head               the audit log's newest entry, signed: deleting entries from the tail shows
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from jinbao.estate import load_estate

from . import audit, authz, checks, crl, files, keys, profiles, replay, seal
from .config import parse as config
from .errors import NotAllowed, PkiError, Tampered
from .signer import FileSigner
from .store import Store, utc

REASONS = {r.name: r for r in x509.ReasonFlags}
# What an operator may give: a revocation is final, so no certificate_hold (which promises a release the CA
# never makes, and CA/B Forum forbids) and no remove_from_crl.
REVOCABLE = [r for r in REASONS if r not in ("certificate_hold", "remove_from_crl")]
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
    "operators",
)
# Relying parties' clocks run a little fast or slow: certificates and CRLs start this much in the past.
CLOCK_SKEW = timedelta(minutes=5)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def hexserial(n: int) -> str:
    return format(n, "x")


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _remove(ca_dir: Path) -> None:
    for name in CA_FILES:
        p = ca_dir / name
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        elif os.path.lexists(p):
            p.unlink()


@dataclass
class Issued:
    serial: str
    cert: x509.Certificate
    key_pem: bytes | None  # only when the CA generated the key; never stored by the CA
    profile: str = ""

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
    name: str | None = None  # the CN of an operator or service certificate
    role: str | None = None  # an operator's role, kept in the subject's OU
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
        if not (self.dir / "ca.yml").is_file() or not (self.dir / "ca.db").is_file():
            raise PkiError(f"no CA at {self.dir}; create one with 'jinbao pki init --ca-dir {self.dir}'")
        self.cfg = files.load(self.dir / "ca.yml", config, "CA configuration")
        self.issuer = FileSigner(self.dir / "issuing" / "issuing.crt", self.dir / "issuing" / "issuing.key")
        try:
            self.store = Store(self.dir / "ca.db", head=audit.Head(self.dir, self.issuer), signer=self.issuer)
            self.store.check()
        except sqlite3.Error as e:
            raise PkiError(f"CA database {self.dir / 'ca.db'} is damaged ({e}); restore it from a backup") from None
        self.root_cert = files.load(self.dir / "root" / "root.crt", x509.load_pem_x509_certificate, "CA certificate")
        self._estate = None

    @property
    def estate(self):
        if self._estate is None:
            self._estate = load_estate(self.cfg["estate"])
        return self._estate

    # -- hierarchy ------------------------------------------------------------------------------
    @classmethod
    def init(
        cls,
        ca_dir,
        estate_name: str,
        root_passphrase: bytes,
        key_type: str = "ecdsa-p384",
        force: bool = False,
        admin_name: str = "admin",
        admin_out: Path | None = None,
    ) -> Authority:
        """Create root, issuing CA, OCSP signer, first CRLs and the first CA administrator."""
        ca_dir = Path(ca_dir)
        if not 12 <= len(root_passphrase) <= 1023:
            raise PkiError("the root passphrase must be 12 to 1023 bytes long; give another one")
        if key_type not in ("ecdsa-p256", "ecdsa-p384", "rsa-3072", "rsa-4096"):
            raise PkiError(f"unknown CA key type {key_type!r}")
        estate = load_estate(estate_name)
        exists = (ca_dir / "ca.yml").exists() or (ca_dir / "ca.db").exists()
        if exists and not force:
            raise PkiError(
                f"a CA already exists at {ca_dir}; it is left untouched. Pass --force to destroy it and start over"
            )
        if admin_out is not None:  # everything that could refuse is checked before an existing CA is destroyed
            admin = files.Outputs(admin_out, option="--admin-out").check()
        if exists:
            _remove(ca_dir)
        try:
            (ca_dir / "operators").mkdir(parents=True, exist_ok=True)
            os.chmod(ca_dir, 0o700)
        except OSError as e:
            raise PkiError(f"--ca-dir {ca_dir}: cannot create it ({e.strerror}); choose another folder") from None
        if admin_out is None:
            admin = files.Outputs(ca_dir / "operators" / admin_name, option="--admin-out").check()
        domain = estate.domain
        cfg = {
            "estate": estate_name,
            "ca_key_type": key_type,
            "root_validity_days": 7300,
            "issuing_validity_days": 3650,
            "crl_validity_hours": 24,
            "ocsp_validity_minutes": 60,
            "publish_url": f"http://pki.{domain}",
            "ocsp_url": f"http://ocsp.{domain}",
        }
        try:
            now = _now() - CLOCK_SKEW
            org = estate.title or estate.name
            root_key = keys.generate(key_type)
            root_name = x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                    x509.NameAttribute(NameOID.COMMON_NAME, f"jinbao {estate.name} Root CA"),
                ]
            )
            root_ski = x509.SubjectKeyIdentifier.from_public_key(root_key.public_key())
            root = (
                x509.CertificateBuilder()
                .subject_name(root_name)
                .issuer_name(root_name)
                .public_key(root_key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now)
                .not_valid_after(now + timedelta(days=cfg["root_validity_days"]))
                .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
                .add_extension(_ku(["key_cert_sign", "crl_sign"]), critical=True)
                .add_extension(root_ski, critical=False)
                .sign(root_key, keys.hash_for(root_key))
            )
            iss_key = keys.generate(key_type)
            iss_name = x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                    x509.NameAttribute(NameOID.COMMON_NAME, f"jinbao {estate.name} Issuing CA 1"),
                ]
            )
            constraints = x509.NameConstraints(
                permitted_subtrees=[
                    x509.DNSName(domain),
                    x509.RFC822Name(domain),
                    *(x509.IPAddress(n) for n in (estate.supernet, estate.mgmt_block)),
                ],
                excluded_subtrees=None,
            )
            issuing = (
                x509.CertificateBuilder()
                .subject_name(iss_name)
                .issuer_name(root_name)
                .public_key(iss_key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now)
                .not_valid_after(now + timedelta(days=cfg["issuing_validity_days"]))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(_ku(["digital_signature", "key_cert_sign", "crl_sign"]), critical=True)
                .add_extension(constraints, critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(iss_key.public_key()), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski), critical=False)
                .add_extension(_cdp(f"{cfg['publish_url']}/crl/root.crl"), critical=False)
                .add_extension(
                    x509.AuthorityInformationAccess(
                        [
                            x509.AccessDescription(
                                x509.oid.AuthorityInformationAccessOID.CA_ISSUERS,
                                x509.UniformResourceIdentifier(f"{cfg['publish_url']}/root.crt"),
                            )
                        ]
                    ),
                    critical=False,
                )
                .sign(root_key, keys.hash_for(root_key))
            )
            files.replace(ca_dir / "root" / "root.key", keys.private_pem(root_key, root_passphrase), 0o600)
            files.replace(ca_dir / "root" / "root.crt", _pem(root))
            files.replace(ca_dir / "issuing" / "issuing.key", keys.private_pem(iss_key), 0o600)
            files.replace(ca_dir / "issuing" / "issuing.crt", _pem(issuing))
            files.replace(ca_dir / "chain.pem", _pem(issuing) + _pem(root))
            files.replace(ca_dir / "ca.yml", yaml.safe_dump(cfg, sort_keys=False).encode())
            Store(ca_dir / "ca.db").create()
            os.chmod(ca_dir / "ca.db", 0o600)
            ca = cls(ca_dir)
            with ca.store.transaction() as db:
                ca._audit(
                    db,
                    "init",
                    "init",
                    {
                        "estate": estate_name,
                        "key_type": key_type,
                        "root_serial": hexserial(root.serial_number),
                        "issuing_serial": hexserial(issuing.serial_number),
                        "root_fingerprint": authz.fingerprint(root),
                    },
                )
            ca._write_root_crl(root_key, "init")
            ca._new_ocsp_signer("init", "ocsp_signer")
            ca._add_operator(admin_name, "ca_admin", admin, "init")
            ca.write_crl("init")
            return ca
        except BaseException:
            _remove(ca_dir)  # nothing half-made survives a failed init
            admin.remove()
            raise

    # -- who asks ----------------------------------------------------------------------------
    def authorize(self, cred: authz.Credential, action: str) -> authz.Operator:
        with self._refusals_logged(action):
            op = self._authenticate(cred, action)
            authz.require(op, action)
        return op

    def _authenticate(self, cred: authz.Credential, action: str) -> authz.Operator:
        """The operator, proven; and unless they only read, the CA's tables as it sealed them: while an operator's
        role or a revocation differs from what the CA signed, it acts for no one (an auditor may still look)."""
        op = authz.authenticate(cred, self.issuer.certificate, self.store, read_only=action in authz.READ_ONLY)
        if action not in authz.READ_ONLY and (problems := self.store.seal_problems()):
            raise NotAllowed(str(Tampered(problems)), actor=op.name)
        return op

    @contextmanager
    def _refusals_logged(self, action: str, **detail):
        """Every refusal lands in the audit log, whoever asked, even a revoked or unknown operator.

        The refused work's own transaction has rolled back by the time the refusal gets here, so the
        entry is written in a transaction of its own."""
        try:
            yield
        except NotAllowed as e:
            if not e.logged:
                claim = {"claimed_serial": e.claim} if e.claim and not e.actor else {}
                with self.store.transaction() as db:
                    self._audit(
                        db, e.actor or "unknown", "denied", {"action": action, "reason": str(e), **claim, **detail}
                    )
                e.logged = True
            raise

    def _audit(self, db, actor: str, action: str, detail: dict) -> None:
        self.store.audit(db, actor, action, detail, self.issuer.sign)

    # -- the pipeline ----------------------------------------------------------------------------
    def _validate(self, req: Request) -> None:
        if req.csr_pem is not None:
            csr = _load_csr(req.csr_pem)
            try:
                sig_ok = csr.is_signature_valid
            except Exception:
                sig_ok = False
            if not sig_ok:
                raise PkiError("--csr: the CSR's signature does not verify: it was altered or not signed by its key")
            try:
                req.public_key = csr.public_key()
                exts = csr.extensions
            except (ValueError, UnsupportedAlgorithm, x509.DuplicateExtension, x509.UnsupportedGeneralNameType) as e:
                raise PkiError(
                    f"--csr: the CSR cannot be used ({e}); make a new one with a supported key and each "
                    "extension once and well-formed"
                ) from None
            try:
                req.requested_names = tuple(exts.get_extension_for_class(x509.SubjectAlternativeName).value)
            except x509.ExtensionNotFound:
                req.requested_names = ()
        else:
            kt = req.profile.default_key_type if req.key_type is None else req.key_type  # '' is not "the default"
            if kt not in req.profile.key_types:
                raise PkiError(
                    f"--key-type: profile {req.profile.name} does not allow key type "
                    f"{checks.shown(kt) or repr(kt)}; allowed: {', '.join(req.profile.key_types)}"
                )
            req.private_key = keys.generate(kt)
            req.public_key = req.private_key.public_key()

    def _modify(self, req: Request) -> None:
        """Fill in names from the inventory (or the checked input) and the validity from the profile."""
        p = req.profile
        e = self.estate
        org = (NameOID.ORGANIZATION_NAME, e.title or e.name)
        # A profile is for devices or for persons: a person's certificate recorded as a device's would be renewed,
        # listed and deployed as that device's.
        if p.subject != "device" and req.device is not None:
            raise PkiError(
                f"--device: profile {p.name} is for a {p.subject}, not a device; leave out --device or "
                "choose a device profile (server_tls, client_tls, network_device)"
            )
        if p.subject != "person" and (req.person is not None or req.email is not None):
            raise PkiError(
                f"--person/--email: profile {p.name} is for a {p.subject}, not a person; leave them out or "
                "choose a person profile (person_auth, person_sign)"
            )
        if p.subject == "device":
            if not req.device:
                raise PkiError(f"profile {p.name} issues to a device: give --device NAME")
            d = e.devices.get(req.device)
            if d is None:
                raise PkiError(
                    f"no device {req.device[:80]!r} in estate {e.name}: a certificate is only issued to a "
                    "device the inventory has"
                )
            if d.role not in p.device_roles:
                raise PkiError(
                    f"profile {p.name} is not for a {d.role} ({d.name}); it serves: {', '.join(p.device_roles)}"
                )
            req.site = d.site
            ips = [d.mgmt_ip] + ([d.loopback] if d.loopback else []) + [i.ip.ip for i in d.interfaces if i.ip]
            req.subject, req.sans = _names(
                f"device {d.name}",
                [org, (NameOID.ORGANIZATIONAL_UNIT_NAME, d.site), (NameOID.COMMON_NAME, d.fqdn)],
                [(x509.DNSName, d.fqdn), *((x509.IPAddress, ip) for ip in dict.fromkeys(ips))],
            )
        elif p.subject == "person":
            if not req.person or not req.email:
                raise PkiError(f"profile {p.name} issues to a person: give --person NAME and --email ADDRESS")
            req.subject, req.sans = _names(
                "--person",
                [org, (NameOID.COMMON_NAME, checks.person(req.person))],
                [(x509.RFC822Name, checks.email(req.email))],
            )
        else:
            rdns = [org, (NameOID.COMMON_NAME, req.name or p.description)]
            if p.subject == "operator":
                rdns.append((NameOID.ORGANIZATIONAL_UNIT_NAME, req.role))
            req.subject, req.sans = _names("name", rdns, [])
        if req.days is None:
            days = p.default_validity_days
        else:
            days = checks.days(req.days, p.max_validity_days, f"profile {p.name}")
        req.not_before = _now() - CLOCK_SKEW
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
            raise PkiError(
                "--csr: the CSR asks for names the inventory does not give this subject: "
                + ", ".join(checks.shown(getattr(n, "value", n)) for n in extra[:5])
                + (f" and {len(extra) - 5} more" if len(extra) > 5 else "")
            )
        domain = self.estate.domain
        for n in req.sans:
            if isinstance(n, (x509.DNSName, x509.RFC822Name)):
                host = n.value.split("@")[-1]
                if host != domain and not host.endswith("." + domain):
                    raise PkiError(f"{n.value} is outside the CA's domain {domain}")
            if isinstance(n, x509.IPAddress) and not any(
                n.value in net for net in (self.estate.supernet, self.estate.mgmt_block)
            ):
                raise PkiError(f"{n.value} is outside the estate's address plan")

    def _sign(self, req: Request) -> x509.Certificate:
        p = req.profile
        iss = self.issuer.certificate
        is_ec = isinstance(req.public_key, ec.EllipticCurvePublicKey)
        usages = [u for u in p.key_usage if not (is_ec and u in ("key_encipherment", "data_encipherment"))]
        b = (
            x509.CertificateBuilder()
            .subject_name(req.subject)
            .issuer_name(iss.subject)
            .public_key(req.public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(req.not_before)
            .not_valid_after(req.not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_ku(usages), critical=True)
            .add_extension(x509.ExtendedKeyUsage([profiles.EKU[u] for u in p.extended_key_usage]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(req.public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                    iss.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
                ),
                critical=False,
            )
            .add_extension(_cdp(f"{self.cfg['publish_url']}/crl/issuing.crl"), critical=False)
            .add_extension(
                x509.AuthorityInformationAccess(
                    [
                        x509.AccessDescription(
                            x509.oid.AuthorityInformationAccessOID.OCSP,
                            x509.UniformResourceIdentifier(self.cfg["ocsp_url"]),
                        ),
                        x509.AccessDescription(
                            x509.oid.AuthorityInformationAccessOID.CA_ISSUERS,
                            x509.UniformResourceIdentifier(f"{self.cfg['publish_url']}/issuing.crt"),
                        ),
                    ]
                ),
                critical=False,
            )
        )
        if req.sans:
            b = b.add_extension(x509.SubjectAlternativeName(list(req.sans)), critical=False)
        if p.ocsp_nocheck:
            b = b.add_extension(x509.OCSPNoCheck(), critical=False)
        return b.sign(self.issuer.private_key, keys.hash_for(self.issuer.private_key))

    def _record(
        self, db, cert: x509.Certificate, req: Request, actor: str, action: str, renewed_from: str | None = None
    ) -> str:
        serial = hexserial(cert.serial_number)
        db.execute(
            "INSERT INTO certs (serial, profile, subject, device, site, not_before, not_after, fingerprint, pem, "
            "issued_by, renewed_from) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                serial,
                req.profile.name,
                cert.subject.rfc4514_string(),
                req.device,
                req.site,
                cert.not_valid_before_utc.timestamp(),
                cert.not_valid_after_utc.timestamp(),
                authz.fingerprint(cert),
                _pem(cert).decode(),
                actor,
                renewed_from,
            ),
        )
        # Everything 'audit verify' needs to replay the tables from the log (replay.py)
        self._audit(
            db,
            actor,
            action,
            {
                "serial": serial,
                "profile": req.profile.name,
                "subject": cert.subject.rfc4514_string(),
                "device": req.device,
                "not_after": cert.not_valid_after_utc.isoformat(),
                "fingerprint": authz.fingerprint(cert),
                **({"renewed_from": renewed_from} if renewed_from else {}),
                **({"operator": req.name, "role": req.role} if req.role else {}),
            },
        )
        return serial

    def _issue_internal(
        self,
        req: Request,
        actor: str,
        action: str = "issue",
        renewed_from: str | None = None,
        out: files.Outputs | None = None,
        then=None,
    ) -> Issued:
        """validate → modify → enforce → sign, then record, run then(db, serial) and deliver the files in one
        transaction: a certificate is recorded only once its key is where the caller asked for it."""
        self._validate(req)
        self._modify(req)
        self._enforce(req)
        if out is not None:
            out.check()
        key_pem = keys.private_pem(req.private_key) if req.private_key is not None else None
        for _ in range(3):
            cert = self._sign(req)
            try:
                with self.store.transaction(intact=True) as db:
                    serial = self._record(db, cert, req, actor, action, renewed_from)
                    if then is not None:
                        then(db, serial)
                    if out is not None:
                        out.write(_pem(cert), key_pem)
                        # the commit may still fail: no files for a certificate the CA does not know
                        self.store.on_abort(out.remove)
                break
            except sqlite3.IntegrityError:
                continue  # a 159-bit serial collided: sign again with a fresh one
        else:
            raise PkiError("could not allocate a unique serial")
        return Issued(serial, cert, key_pem, req.profile.name)

    # -- operations ----------------------------------------------------------------------------
    def issue(
        self,
        cred,
        profile: str,
        *,
        device=None,
        person=None,
        email=None,
        csr_pem=None,
        key_type=None,
        days=None,
        out: Path | None = None,
    ) -> Issued:
        """Issue to a device or a person; with `out`, PREFIX.crt (and .key) are written before the commit."""
        prof = profiles.get(profile)
        op = self.authorize(cred, authz.action_for("issue", prof.name))
        if prof.name in authz.CA_PROFILES:
            with self._refusals_logged("issue", profile=prof.name):
                raise NotAllowed(
                    f"profile {profile} is kept for the CA itself: use 'jinbao pki operator add' or "
                    "'jinbao pki ocsp renew-signer'",
                    actor=op.name,
                )
        return self._issue_internal(
            Request(prof, device=device, person=person, email=email, csr_pem=csr_pem, key_type=key_type, days=days),
            op.name,
            out=_outputs(out, csr_pem is None),
        )

    def renew(self, cred, serial: str, *, csr_pem=None, key_type=None, out: Path | None = None) -> Issued:
        """A successor with the same profile and names, under exactly the policy that issues that profile.

        An operator renews their own credential whatever their role (step-ca's renewal: the current credential
        is the proof). Someone else's is renewed only by a CA administrator and only with that operator's own
        CSR: a key the CA made would be the administrator's, who could then act under the operator's name."""
        with self._refusals_logged("renew", serial=serial[:64]):
            op = self._authenticate(cred, "renew")
            old = self._existing(serial)
            if not (old["profile"] == "operator" and old["serial"] == op.serial):
                authz.require(op, authz.action_for("renew", old["profile"]))
                if old["profile"] == "operator" and csr_pem is None:
                    who = _common_name(old["pem"])
                    raise NotAllowed(
                        f"certificate {old['serial']} is operator {who}'s credential: a key the CA made "
                        f"for it would be handed to you ({op.name}), not to {who}. Renew it with {who}'s "
                        f"own request (--csr, made with a key only {who} holds), or let {who} renew it "
                        "with their current credential",
                        actor=op.name,
                    )
            return self._successor(op, old, csr_pem, key_type, out)

    def _successor(self, op: authz.Operator, old, csr_pem, key_type, out) -> Issued:
        cert = x509.load_pem_x509_certificate(old["pem"].encode())
        # step-ca's authorizeRenewal: a revoked certificate is never renewed, nor an expired one; asking is a
        # refusal on the record (someone may be holding a compromised key).
        if old["revoked_at"] is not None:
            raise NotAllowed(
                f"certificate {old['serial']} is revoked ({old['revoke_reason']}); it cannot be renewed. "
                "Issue a new one with 'jinbao pki issue'",
                actor=op.name,
            )
        if cert.not_valid_after_utc <= _now():
            raise NotAllowed(
                f"certificate {old['serial']} expired on {cert.not_valid_after_utc.isoformat()}; it "
                "cannot be renewed. Issue a new one with 'jinbao pki issue'",
                actor=op.name,
            )
        prof = profiles.get(old["profile"])
        if prof.name == "ocsp_signer":
            return self._new_ocsp_signer(op.name, "renew", renewed_from=old["serial"])
        req = Request(prof, device=old["device"], csr_pem=csr_pem, key_type=key_type)
        operator = None
        if prof.subject == "person":
            req.person = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
            req.email = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value[0].value
        elif prof.subject == "operator":
            operator = self.store.operator(old["serial"])
            if operator is None:
                raise PkiError(
                    f"certificate {old['serial']} is no longer an operator's credential (it was renewed); "
                    "renew the current one"
                )
            # name and role as the CA signed them into the credential, not as a row says
            req.name = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
            req.role = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value

        def then(db, new):
            # Checked again under the lock: a revocation that landed while the successor was signed wins.
            if db.execute("SELECT revoked_at FROM certs WHERE serial = ?", (old["serial"],)).fetchone()[0] is not None:
                raise NotAllowed(
                    f"certificate {old['serial']} was revoked meanwhile; it cannot be renewed", actor=op.name
                )
            if operator and not self.store.replace_credential(db, old["serial"], new):
                raise PkiError(f"operator {operator['name']}'s credential was renewed meanwhile; nothing was issued")

        return self._issue_internal(
            req, op.name, action="renew", renewed_from=old["serial"], out=_outputs(out, csr_pem is None), then=then
        )

    def _existing(self, serial: str):
        row = self.store.cert(checks.serial(serial))
        if row is None:
            raise PkiError(f"no certificate with serial {serial} in this CA")
        return row

    def revoke(self, cred, serial: str, reason: str = "unspecified") -> Revoked:
        """Revoke and publish the CRL in one transaction: two revocations of one serial have one winner,
        and the CRL on disk lists the serial before this returns."""
        with self._refusals_logged("revoke", serial=serial[:64]):
            op = self._authenticate(cred, "revoke")
            reason = _reason(reason)
            row = self._existing(serial)  # its profile never changes: safe to authorize on it before the lock
            authz.require(op, authz.action_for("revoke", row["profile"]))
            return self._revoke(op, [row["serial"]], reason)

    def revoke_operator(self, cred, name: str, reason: str = "unspecified") -> Revoked:
        """Revoke every unrevoked credential an operator ever held (the current one and those it was renewed
        from): the operator can act no more, whichever of them they still have."""
        with self._refusals_logged("revoke_operator", operator=name[:64]):
            op = self.authorize(cred, "revoke_operator")
            reason = _reason(reason)
            target = self.store.operator_by_name(self.store.db, name)
            if target is None:
                raise PkiError(
                    f"no operator named {checks.shown(name)!r}; 'jinbao pki list --profile operator' shows them"
                )
            serials = [
                s
                for s in self.store.credentials(self.store.db, target["serial"])
                if self.store.cert(s)["revoked_at"] is None
            ]
            if not serials:
                raise PkiError(f"every credential of operator {target['name']} is already revoked")
            return self._revoke(op, serials, reason)

    def _revoke(self, op: authz.Operator, serials: list[str], reason: str) -> Revoked:
        with self.store.transaction(intact=True) as db:
            admins = self.store.active_admins(db, time.time())
            if admins and set(admins) <= set(serials):
                raise NotAllowed(
                    f"certificate {admins[0]} is the last active ca_admin's credential; it cannot be "
                    "revoked. Add another CA administrator first (or recover one with 'jinbao pki "
                    "operator recover-admin')",
                    actor=op.name,
                )
            signer = db.execute("SELECT value FROM meta WHERE key = 'ocsp_signer'").fetchone()
            if signer and signer[0] in serials:
                raise NotAllowed(
                    f"certificate {signer[0]} is the OCSP signer in use; revoked, it would go on signing "
                    "answers. Run 'jinbao pki ocsp renew-signer' first (a running 'ocsp serve' switches "
                    f"to the new signer), then revoke {signer[0]}",
                    actor=op.name,
                )
            now = time.time()
            for serial in serials:
                if not self.store.revoke(db, serial, reason, now):
                    why = self.store.cert(serial)["revoke_reason"]
                    raise PkiError(f"certificate {serial} is already revoked ({why})")
                owner = _operator_of(self.store.cert(serial))
                self._audit(
                    db,
                    op.name,
                    "revoke",
                    {"serial": serial, "reason": reason, "revoked_at": now, **({"operator": owner} if owner else {})},
                )
            self._publish_crl(db, op.name)
            return self._revoked(db, serials)

    def _revoked(self, db, serials: list[str]) -> Revoked:
        """What a revocation did to an operator: a superseded credential revoked leaves its operator active."""
        owner = _operator_of(self.store.cert(serials[0]))
        current = self.store.operator_by_name(db, owner) if owner else None
        still = (
            current["serial"]
            if current and current["serial"] not in serials and self.store.cert(current["serial"])["revoked_at"] is None
            else None
        )
        return Revoked(serials, owner, still)

    def write_crl(self, actor: str) -> x509.CertificateRevocationList:
        """Regenerate the issuing CA's CRL (on schedule via 'pki crl'; revoke publishes its own)."""
        with self.store.transaction(intact=True) as db:
            return self._publish_crl(db, actor)

    def _publish_crl(self, db, actor: str) -> x509.CertificateRevocationList:
        """Sign and publish the CRL inside the caller's transaction. Under that lock CRLs are published in
        number order. The number is the CA's own counter (sealed in the database), and above the CRL on disk
        only if this CA signed that one: a planted file cannot push the counter. The files are put back if the
        transaction does not commit, so the CRL never lists what the database does not."""
        now = _now()
        f = self.dir / "crl" / "issuing.crl"
        number = self.store.next_crl_number(db, at_least=crl.published_number(f, self.issuer.certificate) + 1)
        if number > crl.MAX_NUMBER:
            raise PkiError(
                f"the CRL number {number} would not fit in 20 octets (RFC 5280 5.2.3); the CA's counter in "
                "ca.db is damaged: restore it from a backup"
            )
        rows = db.execute("SELECT serial, revoked_at, revoke_reason FROM certs WHERE revoked_at IS NOT NULL")
        next_update = now + timedelta(hours=self.cfg["crl_validity_hours"])
        der = crl.sign(self.issuer.certificate, self.issuer.private_key, number, now - CLOCK_SKEW, next_update, rows)
        published = x509.load_der_x509_crl(der)
        db.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('crl_next_update', ?)",
            (published.next_update_utc.isoformat(),),
        )
        self._audit(
            db,
            actor,
            "crl",
            {"crl_number": number, "revoked": len(published), "next_update": published.next_update_utc.isoformat()},
        )
        self.store.on_abort(crl.publish(f, der))
        return published

    def crl_due(self, within_hours: float) -> bool:
        """Whether the CRL needs signing again: from the CA's own record of what it published last (sealed in the
        database), and the file on disk only once its signature is the issuing CA's."""
        within = timedelta(hours=checks.hours(within_hours, "--if-due"))
        rec = dict(
            self.store.db.execute(
                "SELECT key, value FROM meta WHERE key IN ('crl_number', 'crl_next_update')"
            ).fetchall()
        )
        return crl.due(self.dir / "crl" / "issuing.crl", self.issuer.certificate, rec, _now() + within)

    def root_crl(self, cred, root_passphrase: bytes) -> None:
        op = self.authorize(cred, "root_crl")
        self._write_root_crl(self._root_key(root_passphrase), op.name)

    def _root_key(self, passphrase: bytes):
        """The offline root's key, proven to be the root's: possession of it is the CA's last word."""
        key = keys.load_private(self.dir / "root" / "root.key", passphrase)
        if not keys.same_public_key(key, self.root_cert.public_key()):
            raise PkiError(f"{self.dir / 'root' / 'root.key'} is not the key of {self.dir / 'root' / 'root.crt'}")
        return key

    def _write_root_crl(self, root_key, actor: str) -> None:
        now = _now()
        f = self.dir / "crl" / "root.crl"
        with self.store.transaction(intact=True) as db:
            last = db.execute("SELECT value FROM meta WHERE key = 'root_crl_number'").fetchone()
            number = max(int(time.time()), int(last[0]) + 1 if last else 1, crl.published_number(f, self.root_cert) + 1)
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('root_crl_number', ?)", (str(number),))
            next_update = now + timedelta(days=365)
            self._audit(db, actor, "root_crl", {"crl_number": number, "next_update": next_update.isoformat()})
            self.store.on_abort(
                crl.publish(f, crl.sign(self.root_cert, root_key, number, now - CLOCK_SKEW, next_update))
            )

    def renew_ocsp_signer(self, cred) -> Issued:
        """Replace the delegated OCSP signer (it lives 60 days; renew it from cron well before)."""
        op = self.authorize(cred, "ocsp_signer")
        return self._new_ocsp_signer(op.name, "ocsp_signer")

    def _new_ocsp_signer(self, actor: str, action: str, renewed_from: str | None = None) -> Issued:
        """The signer's key goes into the CA folder, before the commit, and is never handed to anyone. The CA
        records which signer is in use: 'ocsp serve' switches to it, and 'revoke' keeps it from being revoked."""
        req = Request(profiles.get("ocsp_signer"), name=f"jinbao {self.cfg['estate']} OCSP responder")
        out = files.Outputs(self.dir / "ocsp" / "ocsp", in_place=True)

        def in_use(db, serial):
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('ocsp_signer', ?)", (serial,))

        issued = self._issue_internal(req, actor, action, renewed_from, out=out, then=in_use)
        return Issued(issued.serial, issued.cert, None, issued.profile)

    def authorize_deploy(self, cred, cert_pem: bytes, key_pem: bytes) -> authz.Operator:
        """An officer deploys a valid device certificate of this CA with its own key, nothing else: not an
        operator credential, not the OCSP signer, not a revoked certificate."""
        with self._refusals_logged("deploy"):
            op = self._authenticate(cred, "deploy")
            authz.require(op, "issue")
            try:
                cert = x509.load_pem_x509_certificate(cert_pem)
                key = serialization.load_pem_private_key(key_pem, password=None)
            except (ValueError, TypeError, UnsupportedAlgorithm):
                raise PkiError("--cert and --key must be a PEM certificate and its unencrypted PEM key") from None
            row = self.store.cert(hexserial(cert.serial_number))
            if row is None or row["fingerprint"] != authz.fingerprint(cert):
                raise PkiError("--cert is not a certificate this CA issued")
            if profiles.get(row["profile"]).subject != "device":
                raise NotAllowed(
                    f"certificate {row['serial']} ({row['profile']}) is not a device certificate; only "
                    "those are deployed",
                    actor=op.name,
                )
            if row["revoked_at"] is not None:
                raise NotAllowed(f"certificate {row['serial']} is revoked; it is not deployed", actor=op.name)
            if not keys.same_public_key(key, cert.public_key()):  # any key type: an X25519 key is simply not it
                raise PkiError("--key is not the key of --cert")
        return op

    def add_operator(self, cred, name: str, role: str, out: Path) -> Issued:
        op = self.authorize(cred, "operator_add")
        return self._add_operator(name, role, files.Outputs(out), op.name)

    def recover_admin(self, root_passphrase: bytes, name: str, out: Path) -> Issued:
        """A new CA administrator on the strength of the offline root's passphrase alone: the way back when
        every ca_admin credential is lost, expired or revoked. Audit-logged with the actor 'root'."""
        self._root_key(root_passphrase)
        return self._add_operator(name, "ca_admin", files.Outputs(out), "root", "recover_admin")

    def _add_operator(
        self, name: str, role: str, out: files.Outputs, actor: str, action: str = "operator_add"
    ) -> Issued:
        name = checks.operator_name(name)
        if role not in authz.ROLES:
            raise PkiError(f"unknown role {role!r}; roles: {', '.join(authz.ROLES)}")

        def unique(db, serial=None):
            if (same := self.store.operator_named(db, name)) is not None:
                raise PkiError(
                    f"operator name {name!r}: operator {same['name']!r} already exists (names are unique "
                    "regardless of case); choose another name"
                )
            if serial is not None:
                db.execute("INSERT INTO operators (name, role, serial) VALUES (?,?,?)", (name, role, serial))

        unique(self.store.db)  # refuse before signing; checked again under the lock
        return self._issue_internal(
            Request(profiles.get("operator"), name=name, role=role), actor, action, out=out, then=unique
        )

    # -- reading --------------------------------------------------------------------------------
    def list(self, cred, *, site=None, profile=None, status=None, device=None) -> list[dict]:
        self.authorize(cred, "read")
        now = time.time()
        out = []
        for r in self.store.certs():
            st = "revoked" if r["revoked_at"] else ("expired" if r["not_after"] < now else "valid")
            if (
                (site and r["site"] != site)
                or (profile and r["profile"] != profile)
                or (status and st != status)
                or (device and r["device"] != device)
            ):
                continue
            out.append(
                {
                    "serial": r["serial"],
                    "status": st,
                    "profile": r["profile"],
                    "subject": r["subject"],
                    "device": r["device"],
                    "site": r["site"],
                    "not_after": utc(r["not_after"]).isoformat(),
                    "revoke_reason": r["revoke_reason"],
                }
            )
        return out

    def show(self, cred, serial: str) -> dict:
        self.authorize(cred, "read")
        r = self._existing(serial)
        return {**dict(r), "not_before": utc(r["not_before"]).isoformat(), "not_after": utc(r["not_after"]).isoformat()}

    def expiring(self, cred, days: int) -> dict[str, list[dict]]:
        """Valid certificates that expire within `days`, grouped by site."""
        self.authorize(cred, "read")
        days = checks.days(days, 36500, "'jinbao pki expiring'", minimum=0)
        now = time.time()
        horizon = now + days * 86400
        per_site: dict[str, list[dict]] = {}
        for r in self.store.certs("revoked_at IS NULL AND not_after >= ? AND not_after <= ?", (now, horizon)):
            per_site.setdefault(r["site"] or "(no site)", []).append(
                {
                    "serial": r["serial"],
                    "profile": r["profile"],
                    "subject": r["subject"],
                    "device": r["device"],
                    "not_after": utc(r["not_after"]).isoformat(),
                    "days_left": int((r["not_after"] - now) // 86400),
                }
            )
        return per_site

    def verify_audit(self, cred, checkpoint: Path | None = None) -> tuple[int, list[str]]:
        """Recompute the chain, check every signature, the append-only triggers and the head anchored outside
        the database; check the tables against the CA's seal and against a replay of the log, and the
        published CRLs against the CA's keys and its record (and the auditor's own checkpoint, if given; it is
        advanced when all is well). Returns (entries, problems)."""
        self.authorize(cred, "audit")
        with self.store.transaction() as db:  # no writer is between writing the head file and committing
            rows = db.execute("SELECT * FROM audit ORDER BY seq").fetchall()
            problems = [
                f"trigger {t} is missing or altered: the audit table is no longer append-only"
                for t in self.store.missing_triggers()
            ]
            problems += self.store.head.problems(rows)
            problems += seal.check(db, self.issuer.verify).problems
            problems += replay.mismatches(db, rows)
            problems += self._published_problems(dict(db.execute("SELECT key, value FROM meta").fetchall()))
        problems = audit.chain_problems(rows, self.issuer.verify) + problems
        if checkpoint is not None:
            problems += audit.checkpoint_problems(
                Path(checkpoint), authz.fingerprint(self.issuer.certificate), rows, advance=not problems
            )
        return len(rows), problems

    def _published_problems(self, meta: dict) -> list[str]:
        """Are the CRLs on disk the ones the CA signed last? The next 'jinbao pki crl' (--root) replaces one that
        is not."""
        found = (
            crl.problem(
                self.dir / "crl" / "issuing.crl", self.issuer.certificate, meta.get("crl_number"), "jinbao pki crl"
            ),
            crl.problem(
                self.dir / "crl" / "root.crl", self.root_cert, meta.get("root_crl_number"), "jinbao pki crl --root"
            ),
        )
        return [p for p in found if p]

    def audit_log(self, cred) -> list[dict]:
        self.authorize(cred, "audit")
        return [
            {
                "seq": r["seq"],
                "time": utc(r["ts"]).isoformat(),
                "actor": r["actor"],
                "action": r["action"],
                "detail": r["detail"],
            }
            for r in self.store.audit_entries()
        ]


@dataclass
class Revoked:
    """What a revocation did: the serials revoked, whose operator credentials they were, and the credential that
    operator still acts with when it was not among them (a superseded credential was revoked)."""

    serials: list
    operator: str | None = None
    still_active: str | None = None


def _reason(reason: str) -> str:
    if reason not in REVOCABLE:
        raise PkiError(
            f"--reason {checks.shown(reason)}: not a revocation reason here; use one of: " + ", ".join(REVOCABLE)
        )
    return reason


def _common_name(pem: str) -> str:
    return x509.load_pem_x509_certificate(pem.encode()).subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


def _operator_of(row) -> str | None:
    """The operator a credential was issued to (its signed CN); None for any other certificate."""
    return _common_name(row["pem"]) if row["profile"] == "operator" else None


def _names(what: str, rdns: list, sans: list) -> tuple[x509.Name, tuple]:
    """Subject and SANs from (oid, value) and (type, value) pairs; what X.509 cannot hold (a CN over 64
    characters, a DNS name that is not ASCII) is refused, naming whose name it was."""
    try:
        return (
            x509.Name([x509.NameAttribute(oid, value) for oid, value in rdns]),
            tuple(kind(value) for kind, value in sans),
        )
    except ValueError as e:
        raise PkiError(f"{what}: cannot be put in a certificate ({e})") from None


def _load_csr(data: bytes) -> x509.CertificateSigningRequest:
    for load in (x509.load_pem_x509_csr, x509.load_der_x509_csr):
        try:
            return load(data)
        except ValueError:
            continue
    raise PkiError("--csr: the CSR is malformed: not a PEM or DER PKCS#10 request")


def _outputs(prefix: Path | None, with_key: bool) -> files.Outputs | None:
    return files.Outputs(prefix, with_key) if prefix is not None else None


def _ku(names) -> x509.KeyUsage:
    flags = {
        n: (n in names)
        for n in (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        )
    }
    return x509.KeyUsage(**flags)


def _cdp(url: str) -> x509.CRLDistributionPoints:
    return x509.CRLDistributionPoints(
        [
            x509.DistributionPoint(
                full_name=[x509.UniformResourceIdentifier(url)], relative_name=None, reasons=None, crl_issuer=None
            )
        ]
    )
