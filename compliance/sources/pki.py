"""The CA as evidence: its certificates' keys and validity and its CRLs read from the CA folder's
published files (pki/context.py lists them), and its audit log checked by `jinbao pki audit verify`;
its OCSP responder, operators and revoked-but-deployed certificates in pki_ops.py.

Only public files are read, never a key; the audit log is verified by the pki's own command, run
as an operator credential the auditor holds (`--pki-as`), so no rule re-implements the chain.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from jinbao.redact import redact

from ..registry import Rule
from ..verdicts import Finding, Verdict
from . import pki_ops

DEFAULT_CA_DIR = Path(os.environ.get("JINBAO_PKI_DIR") or Path.home() / ".jinbao" / "pki")
CERTS = (("root", "root/root.crt"), ("issuing", "issuing/issuing.crt"), ("ocsp signer", "ocsp/ocsp.crt"))
CRLS = (("root", "crl/root.crl", "root/root.crt"), ("issuing", "crl/issuing.crl", "issuing/issuing.crt"))
MIN_RSA, MIN_EC = 2048, 256
EXPIRY_MARGIN = dt.timedelta(days=30)


def _cert(ca: Path, rel: str) -> x509.Certificate | None:
    try:
        return x509.load_pem_x509_certificate((ca / rel).read_bytes())
    except (OSError, ValueError):
        return None


def ca_keys(ca: Path, now: dt.datetime) -> list[Finding]:
    out = []
    for what, rel in CERTS:
        c = _cert(ca, rel)
        if c is None:
            continue
        key = c.public_key()
        size = key.key_size if isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey) else None
        weak = (
            (isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA)
            or (isinstance(key, ec.EllipticCurvePublicKey) and key.key_size < MIN_EC)
            or size is None
        )
        if weak:
            kind = type(key).__name__.removeprefix("_").replace("PublicKey", "")
            out.append(
                Finding(
                    f"the {what} CA key is {kind} {size or '?'} bits", str(ca / rel), ref=f"serial {c.serial_number:x}"
                )
            )
    return out


# A CA certificate, and the CRL of the CA above it that would list it (the root revokes the
# issuing CA in an offline ceremony, `jinbao pki revoke-issuing-ca`; the issuing CA revokes its
# OCSP signer).
REVOKED_BY = {"issuing": ("crl/root.crl", "root/root.crt"), "ocsp signer": ("crl/issuing.crl", "issuing/issuing.crt")}


def _revoked(ca: Path, what: str, c: x509.Certificate) -> x509.RevokedCertificate | None:
    """Its entry on the CRL above it, if that CRL verifies (one that does not is crl_fresh's finding)."""
    if what not in REVOKED_BY:
        return None
    rel, issuer_rel = REVOKED_BY[what]
    issuer = _cert(ca, issuer_rel)
    try:
        crl = x509.load_der_x509_crl((ca / rel).read_bytes())
    except (OSError, ValueError):
        return None
    if issuer is None or not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
        return None
    return crl.get_revoked_certificate_by_serial_number(c.serial_number)


def cert_validity(ca: Path, now: dt.datetime) -> list[Finding]:
    out = []
    for what, rel in CERTS:
        c = _cert(ca, rel)
        if c is None:
            continue
        ref = f"serial {c.serial_number:x}"
        entry = _revoked(ca, what, c)
        if entry is not None:
            reasons = [e.value.reason.name for e in entry.extensions if isinstance(e.value, x509.CRLReason)]
            why = f" ({reasons[0]})" if reasons else ""
            out.append(
                Finding(
                    f"the {what} certificate was revoked on {entry.revocation_date_utc:%Y-%m-%d}{why}: "
                    f"it is on {ca / REVOKED_BY[what][0]}, and nothing it signed is trusted",
                    str(ca / rel),
                    ref=ref,
                )
            )
            continue
        if now < c.not_valid_before_utc:
            out.append(
                Finding(
                    f"the {what} certificate is not valid before {c.not_valid_before_utc:%Y-%m-%d}",
                    str(ca / rel),
                    ref=ref,
                )
            )
        elif now > c.not_valid_after_utc:
            out.append(
                Finding(f"the {what} certificate expired on {c.not_valid_after_utc:%Y-%m-%d}", str(ca / rel), ref=ref)
            )
        elif c.not_valid_after_utc - now < EXPIRY_MARGIN:
            out.append(
                Finding(f"the {what} certificate expires on {c.not_valid_after_utc:%Y-%m-%d}", str(ca / rel), ref=ref)
            )
    return out


def crl_fresh(ca: Path, now: dt.datetime) -> list[Finding]:
    out = []
    for what, rel, issuer_rel in CRLS:
        path, issuer = ca / rel, _cert(ca, issuer_rel)
        try:
            crl = x509.load_der_x509_crl(path.read_bytes())
        except OSError:
            out.append(Finding(f"the {what} CRL is missing", str(path)))
            continue
        except ValueError:
            out.append(Finding(f"the {what} CRL cannot be parsed", str(path)))
            continue
        nxt = crl.next_update_utc
        if nxt is None or nxt < now:
            when = f"{nxt:%Y-%m-%d %H:%M} UTC" if nxt else "never (no next update)"
            out.append(Finding(f"the {what} CRL is stale: its next update was due {when}", str(path)))
        if issuer is not None and not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
            out.append(Finding(f"the {what} CRL is not signed by the {what} CA", str(path)))
    return out


def audit_chain(ca: Path, operator: str | None) -> tuple[str, list[Finding], str]:
    if not operator:
        return "no_evidence", [], "pass --pki-as PREFIX (an auditor's credential) to verify the CA's audit log"
    cmd = [sys.executable, "-m", "jinbao.cli", "pki", "audit", "verify", "--ca-dir", str(ca), "--as", operator]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    said = redact((r.stdout + r.stderr).strip())[-2000:]
    if r.returncode == 0:
        return "conforms", [], said.splitlines()[-1] if said else ""
    if r.returncode == 1:
        return (
            "finding",
            [Finding("`jinbao pki audit verify` found the log broken", text=said, ref="pki audit verify")],
            "",
        )
    return "no_evidence", [], f"`jinbao pki audit verify` could not run: {said}"


def evaluate(
    rules: tuple[Rule, ...],
    ca: Path,
    operator: str | None,
    now: dt.datetime | None = None,
    ocsp_url: str | None = None,
    deployed: Path | None = None,
    lab_only: bool = False,
) -> tuple[list[Verdict], str]:
    now = now or dt.datetime.now(dt.UTC)
    subject = f"CA {ca}"
    if not (ca / "issuing" / "issuing.crt").is_file():
        note = f"no CA in {ca} (run `jinbao pki init`, or pass --pki-dir)"
        return [Verdict(r.id, subject, "no_evidence", note=note, device_class="ca") for r in rules], note
    probes = {"ca_keys": ca_keys, "cert_validity": cert_validity, "crl_fresh": crl_fresh}
    judged = {
        "audit_chain": lambda: audit_chain(ca, operator),
        "ocsp_answers": lambda: pki_ops.ocsp_answers(ca, ocsp_url, lab_only=lab_only),
        "role_separation": lambda: pki_ops.role_separation(ca, operator),
        "revoked_deployed": lambda: pki_ops.revoked_deployed(ca, deployed),
    }
    out = []
    for r in rules:
        if r.probe in judged:
            status, findings, note = judged[r.probe]()
            out.append(Verdict(r.id, subject, status, tuple(findings), note=note, device_class="ca"))
        elif r.probe in probes:
            findings = probes[r.probe](ca, now)
            out.append(
                Verdict(r.id, subject, "finding" if findings else "conforms", tuple(findings), device_class="ca")
            )
    return out, f"CA folder {ca}"
