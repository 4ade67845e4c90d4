"""Issuing: a request that passed the policy (policy.py) is signed by the issuing CA, then recorded with its
audit entry and delivered, all in one transaction."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from . import authz, files, keyreuse, keys, policy, profiles
from .certparts import authority_info, crl_distribution, hexserial, key_usage, pem
from .errors import NotAllowed, PkiError
from .policy import Request

__all__ = ["Issued", "Request", "issue", "outputs", "record", "sign"]


@dataclass
class Issued:
    serial: str
    cert: x509.Certificate
    key_pem: bytes | None  # only when the CA generated the key; never stored by the CA
    profile: str = ""

    @property
    def cert_pem(self) -> bytes:
        return pem(self.cert)


def sign(ca, req: Request) -> x509.Certificate:
    """The certificate the request asks for, signed by the issuing CA with a fresh random serial."""
    p = req.profile
    iss = ca.issuer.certificate
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
        .add_extension(key_usage(usages), critical=True)
        .add_extension(x509.ExtendedKeyUsage([profiles.EKU[u] for u in p.extended_key_usage]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(req.public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                iss.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
            ),
            critical=False,
        )
        .add_extension(crl_distribution(f"{ca.cfg['publish_url']}/crl/issuing.crl"), critical=False)
        .add_extension(
            authority_info(ocsp=ca.cfg["ocsp_url"], ca_issuers=f"{ca.cfg['publish_url']}/issuing.crt"), critical=False
        )
    )
    if req.sans:
        b = b.add_extension(x509.SubjectAlternativeName(list(req.sans)), critical=False)
    if p.ocsp_nocheck:
        b = b.add_extension(x509.OCSPNoCheck(), critical=False)
    return ca.issuer.sign_certificate(b)


def record(ca, db, cert: x509.Certificate, req: Request, actor: str, action: str, renewed_from: str | None) -> str:
    """The certificate and its audit entry, inside the caller's transaction; returns its serial."""
    serial = hexserial(cert.serial_number)
    ca.store.record_issued(
        db,
        serial=serial,
        profile=req.profile.name,
        subject=cert.subject.rfc4514_string(),
        device=req.device,
        site=req.site,
        not_before=cert.not_valid_before_utc.timestamp(),
        not_after=cert.not_valid_after_utc.timestamp(),
        fingerprint=authz.fingerprint(cert),
        pem=pem(cert).decode(),
        key_sha256=keys.key_hash(cert),
        issued_by=actor,
        renewed_from=renewed_from,
    )
    # Everything 'audit verify' needs to replay the tables from the log (replay.py)
    ca.audit(
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


def issue(
    ca,
    req: Request,
    actor: str,
    action: str = "issue",
    renewed_from: str | None = None,
    out: files.Outputs | None = None,
    then=None,
) -> Issued:
    """validate → modify → enforce → sign, then record, run then(db, serial) and deliver the files: a certificate
    is recorded only once its key is where the caller asked for it, and handed out only once it is recorded.

    The key is written inside the transaction (removed if the commit fails); the certificate file only after
    the commit. A process killed (kill -9, power loss) between the two leaves at most a key with no certificate,
    never a certificate the CA signed but has no record of: one that no CRL could list and no one could revoke.
    The OCSP signer's files (in_place, in the CA folder, never handed out) are both replaced before the commit,
    so ocsp/ never holds a key and a certificate that do not match."""
    refuse_if_revoked(ca, None, actor)
    policy.run(ca, req)
    if out is not None:
        out.check()
    key_pem = keys.private_pem(req.private_key) if req.private_key is not None else None
    for _ in range(3):
        cert = sign(ca, req)
        try:
            with ca.store.transaction(intact=True) as db:
                refuse_if_revoked(ca, db, actor)  # again under the lock: a revocation that committed meanwhile wins
                serial = record(ca, db, cert, req, actor, action, renewed_from)
                keyreuse.refuse_compromised_key(ca, db, serial, req.public_key, actor)
                if req.profile.subject in ("device", "person"):
                    keyreuse.refuse_another_subjects_key(ca, db, serial, req.public_key, keyreuse.cn_of(cert), actor)
                if req.profile.subject != "operator":  # an operator's: checked by its caller, who knows its line
                    keyreuse.refuse_operator_key(ca, db, serial, req.public_key, actor)
                if then is not None:
                    then(db, serial)
                if out is not None:
                    out.write(pem(cert) if out.in_place else None, key_pem)
                    # the commit may still fail: no files for a certificate the CA does not know
                    ca.store.on_abort(out.remove)
            break
        except sqlite3.IntegrityError:
            continue  # a 159-bit serial collided: sign again with a fresh one
    else:
        raise PkiError("could not allocate a unique serial")
    if out is not None and not out.in_place:
        out.write_cert(pem(cert), serial)
    return Issued(serial, cert, key_pem, req.profile.name)


def refuse_if_revoked(ca, db, actor: str) -> None:
    """The issuing CA certifies nothing once the offline root has revoked it (root_ceremony.py)."""
    if (r := ca.store.issuing_revoked(db)) is not None:
        raise NotAllowed(
            f"the issuing CA {r['serial']} was revoked by the offline root ({r['reason']}): it certifies nothing "
            "more, and every chain through it is rejected. A new issuing CA is a new CA ('jinbao pki init' in "
            "another folder)",
            actor=actor,
        )


def outputs(prefix: Path | None, with_key: bool) -> files.Outputs | None:
    return files.Outputs(prefix, with_key) if prefix is not None else None
