"""OCSP responder (RFC 6960) over HTTP: POST of a DER request, or GET with it in base64.

It answers from the CA database directly, so a revocation shows the moment its transaction
commits. Responses are signed by the delegated OCSP signer (EKU OCSPSigning) and carry its
certificate; a request for another issuer gets 'unauthorized'.
"""
from __future__ import annotations

import base64
import hashlib
import sqlite3
import threading
import urllib.parse
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import ocsp

from . import keys
from .authority import REASONS


class Responder:
    def __init__(self, ca_dir: Path):
        ca_dir = Path(ca_dir)
        self.cfg = yaml.safe_load((ca_dir / "ca.yml").read_text())
        self.db_path = ca_dir / "ca.db"
        self.issuer = x509.load_pem_x509_certificate((ca_dir / "issuing" / "issuing.crt").read_bytes())
        self.cert = x509.load_pem_x509_certificate((ca_dir / "ocsp" / "ocsp.crt").read_bytes())
        self.key = keys.load_private(ca_dir / "ocsp" / "ocsp.key")
        self.validity = timedelta(minutes=self.cfg["ocsp_validity_minutes"])
        name_der = self.issuer.subject.public_bytes()
        key_der = self.issuer.public_key().public_bytes(serialization.Encoding.DER,
                                                        serialization.PublicFormat.SubjectPublicKeyInfo)
        # issuerKeyHash is over the subjectPublicKey BIT STRING, i.e. the key bits without the SPKI header.
        spki_bits = _subject_public_key_bits(key_der)
        self._issuer_hashes = {
            name: (hashlib.new(name, name_der).digest(), hashlib.new(name, spki_bits).digest())
            for name in ("sha1", "sha256", "sha384", "sha512")}
        self._local = threading.local()

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=30, check_same_thread=False)
            self._local.db = db
        return db

    def respond(self, der: bytes) -> bytes:
        try:
            req = ocsp.load_der_ocsp_request(der)
        except ValueError:
            return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST) \
                .public_bytes(serialization.Encoding.DER)
        algo = req.hash_algorithm.name
        if self._issuer_hashes.get(algo) != (req.issuer_name_hash, req.issuer_key_hash):
            return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED) \
                .public_bytes(serialization.Encoding.DER)
        row = self._db().execute("SELECT revoked_at, revoke_reason FROM certs WHERE serial = ?",
                                 (format(req.serial_number, "x"),)).fetchone()
        now = datetime.now(timezone.utc).replace(microsecond=0)
        if row is None:
            status, rev_time, reason = ocsp.OCSPCertStatus.UNKNOWN, None, None
        elif row[0] is not None:
            status = ocsp.OCSPCertStatus.REVOKED
            rev_time = datetime.fromtimestamp(row[0], tz=timezone.utc).replace(microsecond=0)
            reason = REASONS.get(row[1]) if row[1] not in (None, "unspecified") else None
        else:
            status, rev_time, reason = ocsp.OCSPCertStatus.GOOD, None, None
        b = (ocsp.OCSPResponseBuilder()
             .add_response_by_hash(issuer_name_hash=req.issuer_name_hash, issuer_key_hash=req.issuer_key_hash,
                                   serial_number=req.serial_number, algorithm=req.hash_algorithm, cert_status=status,
                                   this_update=now, next_update=now + self.validity, revocation_time=rev_time,
                                   revocation_reason=reason)
             .responder_id(ocsp.OCSPResponderEncoding.HASH, self.cert)
             .certificates([self.cert]))
        for ext in req.extensions:
            if isinstance(ext.value, x509.OCSPNonce):
                b = b.add_extension(ext.value, critical=False)
        return b.sign(self.key, keys.hash_for(self.key)).public_bytes(serialization.Encoding.DER)


def _subject_public_key_bits(spki_der: bytes) -> bytes:
    """The contents of the subjectPublicKey BIT STRING (minus its unused-bits byte)."""
    def read_len(buf, i):
        n = buf[i]
        if n < 0x80:
            return n, i + 1
        k = n & 0x7F
        return int.from_bytes(buf[i + 1:i + 1 + k], "big"), i + 1 + k

    _, i = read_len(spki_der, 1)          # outer SEQUENCE
    alg_len, j = read_len(spki_der, i + 1)  # AlgorithmIdentifier SEQUENCE
    k = j + alg_len
    bits_len, m = read_len(spki_der, k + 1)  # BIT STRING
    return spki_der[m + 1:m + bits_len]


class _Handler(BaseHTTPRequestHandler):
    responder: Responder
    protocol_version = "HTTP/1.1"

    def _send(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/ocsp-response")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):  # noqa: N802 - http.server's naming
        n = int(self.headers.get("Content-Length", "0"))
        self._send(self.responder.respond(self.rfile.read(n)))

    def do_GET(self):  # noqa: N802
        raw = urllib.parse.unquote(self.path.lstrip("/"))
        try:
            der = base64.b64decode(raw)
        except ValueError:
            der = b""
        self._send(self.responder.respond(der))

    def log_message(self, fmt, *args):  # one line per request would flood the terminal
        pass


def serve(ca_dir: Path, host: str, port: int) -> ThreadingHTTPServer:
    """A started server (call serve_forever); binding is refused for anything but loopback or lab addresses."""
    handler = type("Handler", (_Handler,), {"responder": Responder(ca_dir)})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


