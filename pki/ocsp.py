"""OCSP responder (RFC 6960) over HTTP: POST of a DER request, or GET with it in base64.

It answers from the CA database directly, so a revocation shows the moment its transaction
commits. Responses are signed by the delegated OCSP signer (EKU OCSPSigning) and carry its
certificate; a request for another issuer gets 'unauthorized'.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import sqlite3
import time
import urllib.parse
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import ocsp

from . import der, keys
from .authority import REASONS

CACHE_SECONDS = 300  # well inside the response's own validity (ocsp_validity_minutes)


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
        self._conn = None
        self._cache: dict = {}

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=30, check_same_thread=False)
        return self._conn

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
        nonce = any(isinstance(ext.value, x509.OCSPNonce) for ext in req.extensions)
        key = (algo, req.serial_number, tuple(row) if row else None)
        if not nonce:
            # RFC 5019-style pre-produced answers: reuse a signed response for a few minutes while the
            # certificate's status is unchanged (the status is part of the key, read fresh each time).
            hit = self._cache.get(key)
            if hit and hit[0] > time.monotonic():
                return hit[1]
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
        body = b.sign(self.key, keys.hash_for(self.key)).public_bytes(serialization.Encoding.DER)
        if not nonce:
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache[key] = (time.monotonic() + CACHE_SECONDS, body)
        return body


def _subject_public_key_bits(spki_der: bytes) -> bytes:
    """The contents of the subjectPublicKey BIT STRING (minus its unused-bits byte)."""
    start, end = der.content(spki_der)
    _alg, (bs, be) = list(der.elements(spki_der, start, end))
    cs, _ = der.content(spki_der[bs:be])
    return spki_der[bs + cs + 1:be]


class Server:
    """A small asyncio HTTP/1.1 server: one event loop, keep-alive, no thread per connection.

    http.server's thread-per-connection model spent about 1 ms per request on its own and made
    the responder 3x slower than `openssl ocsp -port`; signing a response takes about 0.1 ms.
    """

    def __init__(self, responder: Responder, host: str, port: int):
        self.responder = responder
        self._loop = asyncio.new_event_loop()
        self._server = self._loop.run_until_complete(asyncio.start_server(self._client, host, port))
        self.server_address = self._server.sockets[0].getsockname()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, version = (lines[0].split(" ") + ["", "", ""])[:3]
                headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:] if l)}
                if method == "POST":
                    der = await reader.readexactly(int(headers.get("content-length", "0")))
                elif method == "GET":
                    try:
                        der = base64.b64decode(urllib.parse.unquote(path.lstrip("/")))
                    except ValueError:
                        der = b""
                else:
                    writer.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    break
                body = self.responder.respond(der)
                keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/ocsp-response\r\nContent-Length: %d\r\n"
                             b"Connection: %s\r\n\r\n" % (len(body), b"keep-alive" if keep else b"close") + body)
                await writer.drain()
                if not keep:
                    break
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    def serve_forever(self) -> None:
        try:
            self._loop.run_forever()
        finally:
            self._server.close()
            self._loop.close()


def serve(ca_dir: Path, host: str, port: int) -> Server:
    """A bound server; call serve_forever() to answer requests."""
    return Server(Responder(ca_dir), host, port)
