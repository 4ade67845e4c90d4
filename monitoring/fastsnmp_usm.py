"""SNMPv3 messages and the User-based Security Model, for the fast engine (monitoring/fastsnmp.py).

- Message framing: RFC 3412 §6 (msgVersion, msgGlobalData, msgSecurityParameters, msgData).
- USM: RFC 3414 — password to key (§A.2: the password repeated to 1 MiB, hashed) and key
  localisation (Kul = H(Ku | engineID | Ku)); HMAC-MD5-96 and HMAC-SHA-96 (§6, §7), HMAC-SHA-2
  (RFC 7860: SHA-256 truncated to 24 octets, SHA-512 to 48).
- Privacy: AES-CFB128 (RFC 3826: IV = engineBoots | engineTime | 64-bit salt, the key's first 16
  octets). AES-256 extends a short localised key the way pysnmp's `usmAesCfb256Protocol` does
  (the Reeder draft, as Cisco and others do), so both engines agree with the same agents.

Localised keys are cached per (protocol, password, engine id): the 1 MiB hash is paid once per
password, the localisation once per agent engine, never per request.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

from . import fastsnmp_ber as ber

try:  # cryptography 47 moved CFB to "decrepit" (still RFC 3826's mode, and what agents speak)
    from cryptography.hazmat.decrepit.ciphers.modes import CFB
except ImportError:  # pragma: no cover - older cryptography
    from cryptography.hazmat.primitives.ciphers.modes import CFB

# The estate's auth protocol names (SnmpProfile.auth_protocol): hash and truncated MAC length.
AUTH = {"md5": ("md5", 12), "sha": ("sha1", 12), "sha256": ("sha256", 24), "sha512": ("sha512", 48)}
# The estate's priv protocol names: AES key length. DES is left to the pysnmp engine.
PRIV = {"aes": 16, "aes256": 32}
FLAG_AUTH, FLAG_PRIV, FLAG_REPORTABLE = 1, 2, 4
MAX_SIZE = 65507  # msgMaxSize: the largest UDP payload; agents cap their answers by their own too

_MIB = 1_048_576


@lru_cache(maxsize=256)
def password_key(hash_name: str, password: bytes) -> bytes:
    """Ku of RFC 3414 §A.2: the hash of the password repeated to 1,048,576 octets."""
    if not password:
        raise ValueError("an empty SNMPv3 key")
    stream = (password * (_MIB // len(password) + 1))[:_MIB]
    return hashlib.new(hash_name, stream).digest()


@lru_cache(maxsize=8192)
def localised(hash_name: str, password: bytes, engine_id: bytes) -> bytes:
    """Kul: Ku localised to one authoritative engine."""
    ku = password_key(hash_name, password)
    return hashlib.new(hash_name, ku + engine_id + ku).digest()


@lru_cache(maxsize=8192)
def priv_key(hash_name: str, password: bytes, engine_id: bytes, size: int) -> bytes:
    """The privacy key: localised with the auth protocol's hash; a key shorter than the cipher's
    is extended by localising the password-to-key of what is there so far (Reeder)."""
    key = localised(hash_name, password, engine_id)
    while len(key) < size:
        key += localised(hash_name, key, engine_id)
    return key[:size]


@dataclass(frozen=True)
class User:
    """A USM user with its passwords; keys are derived per engine id, never stored elsewhere."""

    name: bytes
    auth: str | None = None  # a key of AUTH
    auth_password: bytes = field(default=b"", repr=False)
    priv: str | None = None  # a key of PRIV
    priv_password: bytes = field(default=b"", repr=False)

    @property
    def flags(self) -> int:
        return (FLAG_AUTH if self.auth else 0) | (FLAG_PRIV if self.priv else 0)

    def auth_key(self, engine_id: bytes) -> bytes:
        assert self.auth is not None
        return localised(AUTH[self.auth][0], self.auth_password, engine_id)

    def priv_key(self, engine_id: bytes) -> bytes:
        assert self.auth is not None and self.priv is not None
        return priv_key(AUTH[self.auth][0], self.priv_password, engine_id, PRIV[self.priv])


def _aes(key: bytes, boots: int, time: int, salt: bytes) -> Cipher:
    return Cipher(algorithms.AES(key), CFB(boots.to_bytes(4, "big") + time.to_bytes(4, "big") + salt))


def encode(
    msg_id: int,
    user: User,
    engine: tuple[bytes, int, int],
    scoped: bytes,
    salt: bytes = b"",
    flags: int | None = None,
) -> bytes:
    """A whole v3 message around a plaintext scopedPDU, encrypted and authenticated as the
    user's flags (or the given ones, a subset) ask. engine = (engine id, boots, time)."""
    engine_id, boots, etime = engine
    flags = user.flags if flags is None else flags
    auth_len = AUTH[user.auth][1] if flags & FLAG_AUTH and user.auth else 0
    priv_params = b""
    if flags & FLAG_PRIV:
        enc = _aes(user.priv_key(engine_id), boots, etime, salt).encryptor()
        scoped = ber.octets(enc.update(scoped) + enc.finalize())
        priv_params = salt
    before_auth = ber.octets(engine_id) + ber.integer(boots) + ber.integer(etime) + ber.octets(user.name)
    sp_body = before_auth + ber.octets(b"\x00" * auth_len) + ber.octets(priv_params)
    sp = ber.tlv(ber.SEQ, sp_body)
    glob = ber.tlv(
        ber.SEQ,
        ber.integer(msg_id) + ber.integer(MAX_SIZE) + ber.octets(bytes((flags | FLAG_REPORTABLE,))) + ber.integer(3),
    )
    sp_wrapped = ber.octets(sp)
    body = b"\x02\x01\x03" + glob + sp_wrapped + scoped
    msg = ber.tlv(ber.SEQ, body)
    if not auth_len:
        return msg
    off = len(msg) - len(body) + 3 + len(glob) + (len(sp_wrapped) - len(sp)) + (len(sp) - len(sp_body))
    off += len(before_auth) + 2
    mac = hmac.digest(user.auth_key(engine_id), msg, AUTH[user.auth][0])[:auth_len]  # type: ignore[index]
    return msg[:off] + mac + msg[off + auth_len :]


def scoped_pdu(context_engine_id: bytes, context: bytes, pdu: bytes) -> bytes:
    return ber.tlv(ber.SEQ, ber.octets(context_engine_id) + ber.octets(context) + pdu)


@dataclass
class Message:
    """A received v3 message, parsed down to its (still encrypted, maybe) msgData."""

    msg_id: int
    flags: int
    engine_id: bytes
    boots: int
    time: int
    user: bytes
    auth_params: bytes
    auth_at: int  # where the auth parameters' value starts in the datagram
    priv_params: bytes
    data_at: int  # the msgData TLV
    raw: bytes


def parse(buf: bytes) -> Message:
    """The v3 header of a datagram; raises ber.Malformed for anything else."""
    end = len(buf)
    pos, stop = ber.expect(buf, 0, end, ber.SEQ, "message")
    if stop != end:
        raise ber.Malformed("octets after the message")
    version, pos = ber.read_int(buf, pos, stop, "msgVersion")
    if version != 3:
        raise ber.Malformed(f"msgVersion {version} in a v3 exchange")
    g, g_end = ber.expect(buf, pos, stop, ber.SEQ, "msgGlobalData")
    msg_id, g = ber.read_int(buf, g, g_end, "msgID")
    _, g = ber.read_int(buf, g, g_end, "msgMaxSize")
    flags, _, g = ber.read_octets(buf, g, g_end, "msgFlags")
    model, g = ber.read_int(buf, g, g_end, "msgSecurityModel")
    if len(flags) != 1 or model != 3:
        raise ber.Malformed("msgFlags or msgSecurityModel is not USM's")
    sp, sp_end = ber.expect(buf, g_end, stop, ber.OCTETS, "msgSecurityParameters")
    p, p_end = ber.expect(buf, sp, sp_end, ber.SEQ, "UsmSecurityParameters")
    engine_id, _, p = ber.read_octets(buf, p, p_end, "msgAuthoritativeEngineID")
    boots, p = ber.read_int(buf, p, p_end, "msgAuthoritativeEngineBoots")
    etime, p = ber.read_int(buf, p, p_end, "msgAuthoritativeEngineTime")
    user, _, p = ber.read_octets(buf, p, p_end, "msgUserName")
    auth_params, auth_at, p = ber.read_octets(buf, p, p_end, "msgAuthenticationParameters")
    priv_params, _, p = ber.read_octets(buf, p, p_end, "msgPrivacyParameters")
    return Message(msg_id, flags[0], engine_id, boots, etime, user, auth_params, auth_at, priv_params, sp_end, buf)


def authentic(m: Message, user: User) -> bool:
    """Does the message carry the right MAC for this user's key at its engine?"""
    if not user.auth:
        return False
    hash_name, n = AUTH[user.auth]
    if len(m.auth_params) != n:
        return False
    zeroed = m.raw[: m.auth_at] + b"\x00" * n + m.raw[m.auth_at + n :]
    mac = hmac.digest(user.auth_key(m.engine_id), zeroed, hash_name)[:n]
    return hmac.compare_digest(mac, m.auth_params)


def scoped(m: Message, user: User | None) -> tuple[bytes, int, int]:
    """(buffer, start, end) of the plaintext scopedPDU's contents: decrypted when the message
    is encrypted (with the key of the user the request was sent as)."""
    buf, end = m.raw, len(m.raw)
    if m.flags & FLAG_PRIV:
        if user is None or not user.priv or len(m.priv_params) != 8:
            raise ber.Malformed("an encrypted message this request cannot decrypt")
        data, _, after = ber.read_octets(buf, m.data_at, end, "encryptedPDU")
        if after != end:
            raise ber.Malformed("octets after the encryptedPDU")
        dec = _aes(user.priv_key(m.engine_id), m.boots, m.time, m.priv_params).decryptor()
        buf = dec.update(data) + dec.finalize()
        # CFB has no padding; whatever follows the scopedPDU is garbage that decrypted fine.
        start, stop = ber.expect(buf, 0, len(buf), ber.SEQ, "scopedPDU (decrypted)")
        return buf, start, stop
    start, stop = ber.expect(buf, m.data_at, end, ber.SEQ, "scopedPDU")
    if stop != end:
        raise ber.Malformed("octets after the scopedPDU")
    return buf, start, stop


def scoped_contents(buf: bytes, start: int, stop: int) -> tuple[bytes, bytes, int]:
    """(contextEngineID, contextName, start of the PDU) of a scopedPDU's contents."""
    ctx_engine, _, p = ber.read_octets(buf, start, stop, "contextEngineID")
    ctx_name, _, p = ber.read_octets(buf, p, stop, "contextName")
    return ctx_engine, ctx_name, p


def community_message(version: int, community: bytes, pdu: bytes) -> bytes:
    """An SNMPv1 (0) or v2c (1) message (RFC 3416 §3 / RFC 1157)."""
    return ber.tlv(ber.SEQ, ber.integer(version) + ber.octets(community) + pdu)


def parse_community(buf: bytes) -> tuple[int, bytes, int]:
    """(version, community, start of the PDU) of a v1/v2c datagram."""
    end = len(buf)
    pos, stop = ber.expect(buf, 0, end, ber.SEQ, "message")
    if stop != end:
        raise ber.Malformed("octets after the message")
    version, pos = ber.read_int(buf, pos, stop, "version")
    community, _, pos = ber.read_octets(buf, pos, stop, "community")
    return version, community, pos
