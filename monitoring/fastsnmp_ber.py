"""BER for exactly the SNMP the poller speaks (RFC 3416 PDUs, RFC 3412/3414 v3 framing).

Encoding: GetRequest, GetNextRequest and GetBulkRequest with NULL-valued varbinds.
Decoding: Response and Report PDUs into plain Python values, with no object per ASN.1 node:

| SNMP type | value |
|---|---|
| INTEGER, Counter32, Gauge32, TimeTicks, Counter64, UInteger32 | int |
| OCTET STRING, Opaque | bytes |
| IpAddress | IpAddress (bytes, 4 octets) |
| OBJECT IDENTIFIER | tuple of ints |
| NULL, noSuchObject, noSuchInstance | None |
| endOfMibView | END_OF_MIB |

That is what makes this engine cheap: pyasn1 builds several objects and runs its codec
machinery per varbind; here a varbind is a few slices and an int.from_bytes. Anything that is
not well-formed BER raises Malformed, never an IndexError or a partial result.
"""

from __future__ import annotations

OID = tuple[int, ...]

SEQ, INT, OCTETS, NULL, OBJID = 0x30, 0x02, 0x04, 0x05, 0x06
GET, GETNEXT, RESPONSE, GETBULK, REPORT = 0xA0, 0xA1, 0xA2, 0xA5, 0xA8
_UNSIGNED = frozenset((0x41, 0x42, 0x43, 0x46, 0x47))  # Counter32, Gauge32, TimeTicks, Counter64, UInteger32
_ABSENT = frozenset((0x80, 0x81))  # noSuchObject, noSuchInstance


class Malformed(Exception):
    """A datagram or PDU that is not the BER this module expects."""


class NotAnAnswer(Malformed):
    """A well-formed PDU that is not a Response or a Report (e.g. our own request, reflected)."""


class IpAddress(bytes):
    """An IpAddress value: its four octets (told apart from an OCTET STRING for the caller)."""


class _EndOfMib:
    def __repr__(self) -> str:
        return "endOfMibView"


END_OF_MIB = _EndOfMib()

# Decoded OIDs by their encoding: a province of agents answers the same column and index OIDs
# over and over, so most varbind names are a dict hit. Bounded, so a hostile agent cannot grow it.
_OID_CACHE: dict[bytes, OID] = {}
_OID_CACHE_MAX = 200_000
_ENC_CACHE: dict[OID, bytes] = {}


def length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes((tag, n)) + body
    return bytes((tag,)) + length(n) + body


def integer(n: int, tag: int = INT) -> bytes:
    return tlv(tag, n.to_bytes(n.bit_length() // 8 + 1, "big", signed=True))


def octets(b: bytes) -> bytes:
    return tlv(OCTETS, b)


def encode_oid(oid: OID) -> bytes:
    """The OID's content octets (no tag or length); RFC 2578 limits sub-ids to 2^32-1."""
    got = _ENC_CACHE.get(oid)
    if got is not None:
        return got
    if len(oid) < 2 or oid[0] > 2 or (oid[0] < 2 and oid[1] > 39):
        raise ValueError(f"not an OID: {oid}")
    out = bytearray()
    for i, sub in enumerate((oid[0] * 40 + oid[1], *oid[2:])):
        if sub < 0 or (i and sub > 0xFFFFFFFF):
            raise ValueError(f"sub-identifier out of range in {oid}")
        if sub < 0x80:
            out.append(sub)
            continue
        chunk, rest = [sub & 0x7F], sub >> 7
        while rest:
            chunk.append(0x80 | (rest & 0x7F))
            rest >>= 7
        out.extend(reversed(chunk))
    enc = bytes(out)
    if len(_ENC_CACHE) < _OID_CACHE_MAX:
        _ENC_CACHE[oid] = enc
    return enc


def decode_oid(raw: bytes) -> OID:
    got = _OID_CACHE.get(raw)
    if got is not None:
        return got
    if not raw or raw[-1] & 0x80:
        raise Malformed("an OID that is empty or ends inside a sub-identifier")
    if max(raw) < 0x80:  # every sub-identifier below 128: one octet each
        subs = list(raw)
    else:
        subs, acc = [], 0
        for b in raw:
            if acc == 0 and b == 0x80:
                raise Malformed("an OID sub-identifier with a leading 0x80 octet")
            acc = (acc << 7) | (b & 0x7F)
            if not b & 0x80:
                subs.append(acc)
                acc = 0
    first = subs[0]
    head = (first // 40, first % 40) if first < 80 else (2, first - 80)
    oid = (*head, *subs[1:])
    if len(_OID_CACHE) >= _OID_CACHE_MAX:
        _OID_CACHE.clear()
    _OID_CACHE[raw] = oid
    return oid


def request_pdu(tag: int, request_id: int, oids: list[OID] | tuple[OID, ...], a: int = 0, b: int = 0) -> bytes:
    """A GET/GETNEXT (a, b = 0, 0) or GETBULK (a = non-repeaters, b = max-repetitions) PDU."""
    vbs = b"".join(tlv(SEQ, tlv(OBJID, encode_oid(o)) + b"\x05\x00") for o in oids)
    return tlv(tag, integer(request_id) + integer(a) + integer(b) + tlv(SEQ, vbs))


def header(buf: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, start of contents, end of contents) of the TLV at pos, within end."""
    if pos + 2 > end:
        raise Malformed("truncated: a TLV header past the end")
    tag, n = buf[pos], buf[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 4 or pos + k > end:
            raise Malformed("an indefinite, oversized or truncated length")
        n = int.from_bytes(buf[pos : pos + k], "big")
        pos += k
    if pos + n > end:
        raise Malformed(f"truncated: {n} octets announced, {end - pos} left")
    return tag, pos, pos + n


def expect(buf: bytes, pos: int, end: int, tag: int, what: str) -> tuple[int, int]:
    t, start, stop = header(buf, pos, end)
    if t != tag:
        raise Malformed(f"{what}: tag 0x{t:02x} where 0x{tag:02x} belongs")
    return start, stop


def read_int(buf: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    """(value, position after it) of an INTEGER."""
    start, stop = expect(buf, pos, end, INT, what)
    if start == stop:
        raise Malformed(f"{what}: an INTEGER of no octets")
    return int.from_bytes(buf[start:stop], "big", signed=True), stop


def read_octets(buf: bytes, pos: int, end: int, what: str) -> tuple[bytes, int, int]:
    """(value, start of the value, position after it) of an OCTET STRING."""
    start, stop = expect(buf, pos, end, OCTETS, what)
    return buf[start:stop], start, stop


def pdu(buf: bytes, pos: int, end: int) -> tuple[int, int, int, int, list[tuple[OID, object]]]:
    """(pdu tag, request-id, error-status, error-index, varbinds) of a Response or Report PDU."""
    tag, pos, end = header(buf, pos, end)
    if tag not in (RESPONSE, REPORT):
        raise NotAnAnswer(f"PDU type 0x{tag:02x} is not a Response or a Report")
    rid, pos = read_int(buf, pos, end, "request-id")
    status, pos = read_int(buf, pos, end, "error-status")
    index, pos = read_int(buf, pos, end, "error-index")
    pos, stop = expect(buf, pos, end, SEQ, "varbind list")
    if stop != end:
        raise Malformed("octets after the varbind list")
    return tag, rid, status, index, varbinds(buf, pos, stop)


def varbinds(buf: bytes, pos: int, end: int) -> list[tuple[OID, object]]:
    """The varbind list's contents. The hot loop of the poller: short-form lengths are read
    inline (nearly every varbind has them), anything else through header()."""
    out: list[tuple[OID, object]] = []
    append, from_bytes, cache = out.append, int.from_bytes, _OID_CACHE
    try:
        while pos < end:
            if buf[pos] != SEQ:
                raise Malformed(f"varbind: tag 0x{buf[pos]:02x} where a SEQUENCE belongs")
            n = buf[pos + 1]
            if n < 0x80:
                pos, vb_end = pos + 2, pos + 2 + n
                if vb_end > end:
                    raise Malformed("truncated varbind")
            else:
                _, pos, vb_end = header(buf, pos, end)
            if buf[pos] != OBJID:
                raise Malformed("varbind: its name is not an OBJECT IDENTIFIER")
            n = buf[pos + 1]
            if n < 0x80:
                name_start, name_end = pos + 2, pos + 2 + n
            else:
                _, name_start, name_end = header(buf, pos, vb_end)
            if name_end >= vb_end:
                raise Malformed("truncated varbind name")
            raw = buf[name_start:name_end]
            name = cache.get(raw) or decode_oid(raw)
            tag, n = buf[name_end], buf[name_end + 1]
            if n < 0x80:
                vstart, vend = name_end + 2, name_end + 2 + n
            else:
                tag, vstart, vend = header(buf, name_end, vb_end)
            if vend != vb_end:
                raise Malformed("varbind: its value does not end where the varbind does")
            if tag == INT:
                if vstart == vend:
                    raise Malformed("an INTEGER of no octets")
                value: object = from_bytes(buf[vstart:vend], "big", signed=True)
            elif tag in _UNSIGNED:
                if vstart == vend:
                    raise Malformed("an unsigned value of no octets")
                value = from_bytes(buf[vstart:vend], "big")
            elif tag == OCTETS or tag == 0x44:  # OCTET STRING, Opaque
                value = buf[vstart:vend]
            elif tag == 0x40:
                if vend - vstart != 4:
                    raise Malformed("an IpAddress that is not 4 octets")
                value = IpAddress(buf[vstart:vend])
            elif tag == OBJID:
                value = decode_oid(buf[vstart:vend])
            elif tag == NULL or tag in _ABSENT:
                value = None
            elif tag == 0x82:
                value = END_OF_MIB
            else:
                raise Malformed(f"varbind: value type 0x{tag:02x} is not an SNMP type")
            append((name, value))
            pos = vb_end
    except IndexError:
        raise Malformed("truncated varbind list") from None
    return out
