"""The CA in operation: its OCSP responder answering, its operators' separation of duties, and
certificates it revoked that a server still carries.

- OCSP: `openssl ocsp` asks the responder (the URL the CA's certificates carry, from ca.yml, or
  the one the auditor gives) about a serial it must know, the CA's own OCSP signer, and checks the
  answer is signed and says "good". No answer, an error status or a bad signature is a finding.
- Separation of duties: pki's role model (docs/security-officer.md) gives the CA administrator
  the operators (who may act) and the officer the signing of certificates, and the auditor the log.
  The evidence is `jinbao pki list` as the auditor's credential (each row carries its key's
  sha256): each role must be held, and no key may hold credentials of two roles or two operators.
  (A CA administrator may renew an officer's credential from a CSR; made with the administrator's
  own key, it would let one person both approve operators and sign as an officer, which the CA
  does not refuse.)
- Revoked but deployed: pki_cert keeps what it deployed on the controller (`<CA dir>/deployed/
  HOST.crt`); each of those the issuing CA's published CRL lists is one finding, with serial and host.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509

from jinbao.problems import ProblemList
from jinbao.redact import redact

from .. import yamlfile
from ..verdicts import Finding

ROLES = {
    "ca_admin": "adds and removes operators (approves who may act)",
    "officer": "issues and revokes certificates (signs)",
    "auditor": "verifies the audit log",
}
Judged = tuple[str, list[Finding], str]  # status, findings, note


def ocsp_url(ca: Path) -> str | None:
    # Through the one strict loader: a damaged ca.yml (a FIFO, NUL bytes, a date that does not
    # exist) means no URL to ask, as a missing one does, never a traceback.
    doc = yamlfile.load(ca / "ca.yml", ProblemList(), "pki")
    url = doc.data.get("ocsp_url") if doc is not None and isinstance(doc.data, dict) else None
    return url if isinstance(url, str) else None


def _loopback(url: str) -> bool:
    try:
        return ipaddress.ip_address(urlsplit(url).hostname or "").is_loopback
    except ValueError:
        return False


def ocsp_answers(ca: Path, url: str | None, timeout: float = 10, lab_only: bool = False) -> Judged:
    """lab_only: a run against a lab asks only what the operator named (or loopback), never the
    production responder the CA's ca.yml names: a lab run sends nothing outside the lab."""
    given = url
    url = url or ocsp_url(ca)
    signer = ca / "ocsp" / "ocsp.crt"
    if not url:
        return "no_evidence", [], f"no OCSP URL in {ca / 'ca.yml'}; pass --pki-ocsp-url"
    if lab_only and not given and not _loopback(url):
        return "no_evidence", [], f"a lab run does not ask the CA's own responder ({url}); pass --pki-ocsp-url"
    try:
        serial = format(x509.load_pem_x509_certificate(signer.read_bytes()).serial_number, "x")
    except (OSError, ValueError):
        return "no_evidence", [], f"no OCSP signer certificate at {signer} to ask about"
    cmd = [
        "openssl",
        "ocsp",
        "-issuer",
        str(ca / "issuing" / "issuing.crt"),
        "-cert",
        str(signer),
        "-CAfile",
        str(ca / "chain.pem"),
        "-url",
        url,
        "-timeout",
        str(int(timeout)),
    ]
    ref = f"serial {serial} (the OCSP signer) at {url}"
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 5)
    except subprocess.TimeoutExpired:
        return "finding", [Finding(f"the OCSP responder at {url} did not answer within {timeout:.0f} s", ref=ref)], ""
    said = (r.stdout + r.stderr).strip()
    status = next((ln.split(":", 1)[1].strip() for ln in r.stdout.splitlines() if ln.startswith(str(signer))), None)
    # openssl prints the status it read even when the answer fails to verify (and then exits 1)
    if status is None:
        first = said.splitlines()[0] if said else f"openssl exit {r.returncode}"
        msg = f"the OCSP responder at {url} gave no usable answer: {first}"
        return "finding", [Finding(msg, text=said[-1000:], ref=ref)], ""
    if "Response verify OK" not in said:
        msg = f"the OCSP responder at {url} answered, but its signature does not verify against {ca / 'chain.pem'}"
        return "finding", [Finding(msg, text=said[-1000:], ref=ref)], ""
    if status != "good" or r.returncode != 0:
        msg = f"the OCSP responder at {url} says {status!r} for the CA's own OCSP signer (openssl exit {r.returncode})"
        return "finding", [Finding(msg, text=said[-1000:], ref=ref)], ""
    return "conforms", [], f"{url} answered 'good' for serial {serial}, signed by the CA's responder"


def _pki(ca: Path, operator: str, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "jinbao.cli", "pki", *args, "--ca-dir", str(ca), "--as", operator]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def _name(subject: str, key: str) -> str | None:
    # pki's subjects are written RFC 4514 style by cryptography: OU=officer,CN=wang,O=…
    parts = dict(p.split("=", 1) for p in subject.split(",") if "=" in p)
    return parts.get(key)


def role_separation(ca: Path, operator: str | None) -> Judged:
    if not operator:
        return "no_evidence", [], "pass --pki-as PREFIX (an auditor's credential) to read the CA's operators"
    r = _pki(ca, operator, "list", "--profile", "operator", "--status", "valid", "--json")
    if r.returncode != 0:
        return "no_evidence", [], f"`jinbao pki list` could not run: {redact(r.stderr.strip())[-500:]}"
    listed = json.loads(r.stdout or "[]")  # each with its key's sha256: one key in two roles shows
    creds = [(c["serial"], _name(c["subject"], "CN"), _name(c["subject"], "OU")) for c in listed]
    findings = []
    held = {role for _, _, role in creds}
    for role, does in ROLES.items():
        if role not in held:
            findings.append(
                Finding(
                    f"no operator holds a valid {role} credential: nobody apart from the other roles {does}",
                    ref=f"roles held: {', '.join(sorted(h for h in held if h)) or 'none'}",
                )
            )
    by_key: dict[str, list[tuple[str, str | None, str | None]]] = defaultdict(list)
    for c, (serial, name, role) in zip(listed, creds, strict=True):
        by_key[c["key_sha256"]].append((serial, name, role))
    for key, group in sorted(by_key.items()):
        if len({(n or "").lower() for _, n, _ in group}) > 1 or len({r for _, _, r in group}) > 1:
            who = "; ".join(f"{n} ({r}, {ROLES.get(r or '', '?')}) serial {s}" for s, n, r in group)
            findings.append(
                Finding(
                    f"one key holds the credentials of {who}: whoever holds it acts in each role",
                    ref="serials " + ", ".join(s for s, _, _ in group),
                    text=f"public key sha256 {key}",
                )
            )
    note = f"{len(creds)} valid operator credential(s), roles held: {', '.join(sorted(h for h in held if h))}"
    return ("finding" if findings else "conforms"), findings, note


def revoked_deployed(ca: Path, deployed: Path | None = None) -> Judged:
    deployed = deployed or ca / "deployed"
    crl_path = ca / "crl" / "issuing.crl"
    certs = sorted(p for p in deployed.glob("*.crt") if not p.name.endswith(".next.crt"))
    if not certs:
        return "no_evidence", [], f"no deployed certificates recorded in {deployed} (where pki_cert keeps them)"
    try:
        crl = x509.load_der_x509_crl(crl_path.read_bytes())
    except (OSError, ValueError):
        return "no_evidence", [], f"no readable CRL at {crl_path} to check the deployed certificates against"
    findings, checked, foreign = [], 0, []
    for path in certs:
        try:
            cert = x509.load_pem_x509_certificate(path.read_bytes())
        except ValueError:
            foreign.append(path.name)
            continue
        if cert.issuer != crl.issuer:
            foreign.append(path.name)
            continue
        checked += 1
        entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
        if entry is None:
            continue
        try:
            reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason.name
        except x509.ExtensionNotFound:
            reason = "unspecified"
        host, serial = path.stem, format(cert.serial_number, "x")
        findings.append(
            Finding(
                f"certificate {serial} of {host} was revoked on {entry.revocation_date_utc:%Y-%m-%d %H:%M} UTC "
                f"({reason}) but is still the one deployed on {host}",
                str(path),
                ref=f"serial {serial} on {host}",
            )
        )
    note = f"{checked} deployed certificate(s) in {deployed} checked against {crl_path}" + (
        f"; not this CA's or unreadable: {', '.join(foreign)}" if foreign else ""
    )
    if not checked:
        return "no_evidence", [], note
    return ("finding" if findings else "conforms"), findings, note
