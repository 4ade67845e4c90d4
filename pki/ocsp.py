"""OCSP responder (RFC 6960) over HTTP: POST of a DER request, or GET with it in base64.

It answers from the CA database directly, so a revocation shows the moment its transaction
commits; but only from a database whose revocations are what the CA sealed (store/seal.py), checked
whenever the database changed: an erased revocation is never answered 'good'. Responses are signed
by the delegated OCSP signer the CA records as in use (EKU OCSPSigning) and carry its certificate;
the responder switches to a renewed signer by itself and never signs with a revoked one. A request
for another issuer gets 'unauthorized'. Once the offline root has revoked the issuing CA, every
serial is answered 'revoked' (root_ceremony.py).

Every request gets an answer: a well-formed HTTP request an OCSP status (malformedRequest,
unauthorized, internalError, tryLater: RFC 6960 4.2.1), anything else an HTTP error (400, 405,
408, 411, 413, 431). A client that stalls is dropped after a timeout.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import sqlite3
import sys
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import ocsp

from . import der, files, folder, signer
from .clock import CLOCK_SKEW
from .config import parse as config
from .errors import PkiError
from .revocation import REASONS
from .store import Reader, settings

CACHE_SECONDS = 300  # well inside the response's own validity (ocsp_validity_minutes)
MAX_HEAD = 8 * 1024  # request line and headers; openssl sends about 200 bytes
MAX_BODY = 64 * 1024  # an OCSP request for one certificate is about 100 bytes, with a signature a few kB


class Responder:
    def __init__(self, ca_dir: Path):
        # Only what answering needs: the issuing CA's certificate, never its key; the signer's key is the OCSP one.
        ca_dir = Path(ca_dir)
        if not (ca_dir / "ca.yml").is_file() or not (ca_dir / "ca.db").is_file():
            raise PkiError(f"no CA at {ca_dir}; create one with 'jinbao pki init --ca-dir {ca_dir}'")
        if loose := folder.problems(ca_dir):
            raise PkiError(folder.message(loose))
        cfg = files.load(ca_dir / "ca.yml", config, "CA configuration")
        self.cfg = cfg
        self.dir = ca_dir
        self.db_path = ca_dir / "ca.db"
        self.issuer = files.load(ca_dir / "issuing" / "issuing.crt", x509.load_pem_x509_certificate, "CA certificate")
        self.signer = self._signer()
        self.validity = timedelta(minutes=cfg["ocsp_validity_minutes"])
        name_der = self.issuer.subject.public_bytes()
        key_der = self.issuer.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        # issuerKeyHash is over the subjectPublicKey BIT STRING, i.e. the key bits without the SPKI header.
        spki_bits = _subject_public_key_bits(key_der)
        self._issuer_hashes = {
            name: (hashlib.new(name, name_der).digest(), hashlib.new(name, spki_bits).digest())
            for name in ("sha1", "sha256", "sha384", "sha512")
        }
        self._reader = Reader(self.db_path)
        self._cache: dict = {}
        self._version = None
        self._revoked: dict = {}
        self._issuing_revoked: dict | None = None
        self.problem: str | None = None  # why nothing is signed now (answered internalError), once found
        self._serving = False
        try:
            self._refresh()
        except sqlite3.Error as e:
            raise PkiError(f"CA database {self.db_path} cannot be read ({e}); restore it from a backup") from None
        if self.problem:
            raise PkiError(self.problem)  # it does not start on a database it would not answer from
        self._serving = True

    @property
    def cert(self) -> x509.Certificate:
        return self.signer.certificate

    def _signer(self) -> signer.FileSigner:
        """The signer in ocsp/, if it is one: a certificate this CA issued, with its key."""
        ocsp_signer = signer.FileSigner(
            self.dir / "ocsp" / "ocsp.crt", self.dir / "ocsp" / "ocsp.key", what="OCSP signer certificate"
        )
        try:
            ocsp_signer.certificate.verify_directly_issued_by(self.issuer)
        except (ValueError, TypeError, InvalidSignature):
            raise PkiError(f"{self.dir / 'ocsp' / 'ocsp.crt'} is not an OCSP signer this CA issued") from None
        return ocsp_signer

    def _refresh(self) -> None:
        """When the database changed (a PRAGMA away otherwise): check the seal, and take the revocations and the
        signer in use from that one snapshot."""
        version = self._reader.version()
        if version == self._version:
            return
        snap = self._reader.snapshot(signer.Verifier(self.issuer).verify)
        self._version, self._cache = version, {}
        if snap.problems:
            return self._stop("the CA database is not what the CA sealed (" + "; ".join(snap.problems) + ")")
        if snap.config is not None and (moved := settings.differences(snap.config, self.cfg)):
            # a lifetime raised in ca.yml would have answers believed for days after a revocation
            return self._stop(
                "ca.yml is not the configuration the CA recorded (" + "; ".join(moved[:6]) + "); put it back, or "
                "have a CA administrator run 'jinbao pki config adopt', then restart 'ocsp serve'"
            )
        self._revoked = snap.revoked
        self._issuing_revoked = snap.issuing_revoked
        if snap.ocsp_signer and snap.ocsp_signer != format(self.cert.serial_number, "x"):
            self._switch(snap.ocsp_signer)
        mine = format(self.cert.serial_number, "x")
        if mine in snap.revoked:
            return self._stop(
                f"the OCSP signer {mine} is revoked; it signs nothing more. Run 'jinbao pki ocsp renew-signer'"
            )
        if snap.ocsp_signer and mine != snap.ocsp_signer:
            # e.g. a renew-signer killed after replacing ocsp/ but before its commit: a signer the CA has no record
            # of could be revoked by no one, so it signs nothing
            return self._stop(
                f"ocsp/ holds signer {mine}, but the CA records {snap.ocsp_signer} in use; run 'jinbao pki ocsp "
                "renew-signer'"
            )
        if self.problem:
            print("ocsp: answering again", file=sys.stderr, flush=True)
        self.problem = None

    def _switch(self, serial: str) -> None:
        """Take up the signer the CA now records as in use, if ocsp/ holds it."""
        try:
            renewed = self._signer()
        except PkiError as e:
            print(
                f"ocsp: the CA's signer is now {serial}, but ocsp/ does not hold it usably ({e})",
                file=sys.stderr,
                flush=True,
            )
            return
        if format(renewed.certificate.serial_number, "x") == serial:
            self.signer = renewed
            if self._serving:
                print(f"ocsp: now signing with the renewed signer {serial}", file=sys.stderr, flush=True)

    def _stop(self, why: str) -> None:
        if why != self.problem and self._serving:
            print(f"ocsp: answering internalError: {why}", file=sys.stderr, flush=True)
        self.problem = why

    def respond(self, der: bytes) -> bytes:
        """A DER OCSPResponse for any bytes: never an exception."""
        try:
            return self._respond(der)
        except sqlite3.OperationalError:
            return _unsuccessful(ocsp.OCSPResponseStatus.TRY_LATER)  # the database is locked or away for a moment
        except Exception as e:
            print(f"ocsp: internal error answering a request: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
            return _unsuccessful(ocsp.OCSPResponseStatus.INTERNAL_ERROR)

    def _respond(self, der: bytes) -> bytes:
        self._refresh()
        if self.problem:
            return _unsuccessful(ocsp.OCSPResponseStatus.INTERNAL_ERROR)
        try:
            req = ocsp.load_der_ocsp_request(der)
        except (ValueError, NotImplementedError):
            # NotImplementedError: several certificates in one request. RFC 5019 2.1.1 allows one; we answer that.
            return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
        try:
            algo = req.hash_algorithm.name
        except UnsupportedAlgorithm:
            algo = None  # a CertID hashed with something we cannot compute: we cannot be its authority
        if algo is None or self._issuer_hashes.get(algo) != (req.issuer_name_hash, req.issuer_key_hash):
            return _unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)
        try:
            nonces = [ext.value.nonce for ext in req.extensions if isinstance(ext.value, x509.OCSPNonce)]
        except (ValueError, x509.DuplicateExtension):
            return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
        if any(not 1 <= len(n) <= 32 for n in nonces):  # RFC 8954 2.1: a longer nonce is refused, not echoed
            return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
        nonce = bool(nonces)
        serial = format(req.serial_number, "x")
        known = self._reader.known(serial)
        # the revocation as of the last sealed snapshot (_refresh), never a row read on its own
        row = self._revoked.get(serial, (None, None)) if known else None
        if self._issuing_revoked is not None:
            row = _under_revoked_issuer(row, self._issuing_revoked)
        key = (algo, req.serial_number, row)
        if not nonce:
            # RFC 5019-style pre-produced answers: reuse a signed response for a few minutes while the
            # certificate's status is unchanged (the status is part of the key; the cache empties when the
            # database changes).
            hit = self._cache.get(key)
            if hit and hit[0] > time.monotonic():
                return hit[1]
        now = datetime.now(UTC).replace(microsecond=0)
        if row is None:
            status, rev_time, reason = ocsp.OCSPCertStatus.UNKNOWN, None, None
        elif row[0] is not None:
            status = ocsp.OCSPCertStatus.REVOKED
            rev_time = datetime.fromtimestamp(row[0], tz=UTC).replace(microsecond=0)
            reason = REASONS.get(row[1]) if row[1] not in (None, "unspecified") else None
        else:
            status, rev_time, reason = ocsp.OCSPCertStatus.GOOD, None, None
        b = (
            ocsp.OCSPResponseBuilder()
            .add_response_by_hash(
                issuer_name_hash=req.issuer_name_hash,
                issuer_key_hash=req.issuer_key_hash,
                serial_number=req.serial_number,
                algorithm=req.hash_algorithm,
                cert_status=status,
                this_update=now - CLOCK_SKEW,
                next_update=now + self.validity,
                revocation_time=rev_time,
                revocation_reason=reason,
            )
            .responder_id(ocsp.OCSPResponderEncoding.HASH, self.cert)
            .certificates([self.cert])
        )
        for ext in req.extensions:
            if isinstance(ext.value, x509.OCSPNonce):
                b = b.add_extension(ext.value, critical=False)
        body = self.signer.sign_ocsp(b).public_bytes(serialization.Encoding.DER)
        if not nonce:
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache[key] = (time.monotonic() + CACHE_SECONDS, body)
        return body


def _under_revoked_issuer(row, issuing: dict) -> tuple:
    """Every serial, known or not, is revoked once the root revoked the issuing CA: whoever holds its key can sign
    certificates the CA has no record of. A certificate revoked before keeps its own revocation."""
    if row is not None and row[0] is not None and row[0] <= issuing["revoked_at"]:
        return row
    reason = "ca_compromise" if issuing["reason"] in ("ca_compromise", "key_compromise") else issuing["reason"]
    return (issuing["revoked_at"], reason)


def _unsuccessful(status: ocsp.OCSPResponseStatus) -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(serialization.Encoding.DER)


def _subject_public_key_bits(spki_der: bytes) -> bytes:
    """The contents of the subjectPublicKey BIT STRING (minus its unused-bits byte)."""
    start, end = der.content(spki_der)
    _alg, (bs, be) = list(der.elements(spki_der, start, end))
    cs, _ = der.content(spki_der[bs:be])
    return spki_der[bs + cs + 1 : be]


class HttpError(Exception):
    """A request that gets an HTTP error instead of an OCSP response; the connection then closes."""

    def __init__(self, status: int, reason: str):
        super().__init__(f"{status} {reason}")
        self.status, self.reason = status, reason


class Server:
    """A small asyncio HTTP/1.1 server: one event loop, keep-alive, no thread per connection.

    http.server's thread-per-connection model spent about 1 ms per request on its own and made
    the responder 3x slower than `openssl ocsp -port`; signing a response takes about 0.1 ms.
    """

    def __init__(self, responder: Responder, host: str, port: int, timeout: float = 10.0):
        self.responder = responder
        self.timeout = timeout
        self._loop = asyncio.new_event_loop()
        try:
            self._server = self._loop.run_until_complete(asyncio.start_server(self._client, host, port, limit=MAX_HEAD))
        except OSError as e:
            self._loop.close()
            raise PkiError(
                f"--host {host} --port {port}: cannot listen there ({e.strerror or e}); give an address "
                "of this machine and a free port"
            ) from None
        self.server_address = self._server.sockets[0].getsockname()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    # one timeout covers an idle keep-alive connection and a header sent too slowly
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.timeout)
                    method, path, keep, length = _parse_head(head)
                    if method == "POST":
                        der = await asyncio.wait_for(reader.readexactly(length), self.timeout)
                    else:
                        try:
                            der = base64.b64decode(urllib.parse.unquote(path.lstrip("/")))
                        except ValueError:
                            der = b""
                except asyncio.IncompleteReadError as e:
                    if e.partial:
                        raise HttpError(400, "Bad Request") from None
                    break  # the client closed between requests
                except asyncio.LimitOverrunError:
                    raise HttpError(431, "Request Header Fields Too Large") from None
                except TimeoutError:
                    raise HttpError(408, "Request Timeout") from None
                body = self.responder.respond(der)
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/ocsp-response\r\nContent-Length: %d\r\n"
                    b"Connection: %s\r\n\r\n" % (len(body), b"keep-alive" if keep else b"close") + body
                )
                await writer.drain()
                if not keep:
                    break
        except HttpError as e:
            writer.write(
                b"HTTP/1.1 %d %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n" % (e.status, e.reason.encode())
            )
            await _linger(reader, writer)
        except ConnectionError:
            pass
        finally:
            writer.close()

    def serve_forever(self) -> None:
        try:
            self._loop.run_forever()
        finally:
            self._server.close()
            self._loop.close()


def _parse_head(head: bytes) -> tuple[str, str, bool, int]:
    """(method, path, keep-alive, body length) of a request head, or the HttpError it deserves."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise HttpError(400, "Bad Request")
    method, path, version = parts
    if method not in ("GET", "POST"):
        raise HttpError(405, "Method Not Allowed")
    headers = {}
    for line in lines[1:]:
        if line:
            name, sep, value = line.partition(":")
            name = name.strip().lower()
            if not sep or not name or (name == "content-length" and name in headers):
                raise HttpError(400, "Bad Request")  # two lengths: which one is the body? (request smuggling)
            headers[name] = value.strip()
    keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
    if method == "GET":
        return method, path, keep, 0
    if "transfer-encoding" in headers or "content-length" not in headers:
        raise HttpError(411, "Length Required")
    text = headers["content-length"]
    if not text.isascii() or not text.isdigit():
        raise HttpError(400, "Bad Request")
    if int(text) > MAX_BODY:
        raise HttpError(413, "Content Too Large")
    return method, path, keep, int(text)


async def _linger(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Send the error, then read and drop what the client is still sending for a moment: closing with
    unread input makes the kernel reset the connection, and the client would never see the error."""
    try:
        await asyncio.wait_for(writer.drain(), 1)
        writer.write_eof()
        async with asyncio.timeout(1):
            for _ in range(64):
                if not await reader.read(MAX_BODY):
                    break
    except (TimeoutError, ConnectionError, OSError):
        pass


def serve(ca_dir: Path, host: str, port: int, timeout: float = 10.0) -> Server:
    """A bound server; call serve_forever() to answer requests."""
    return Server(Responder(ca_dir), host, port, timeout)
