"""The few DER encoding and walking helpers the CA needs where cryptography has no API."""

from __future__ import annotations


def length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + length(len(content)) + content


def elements(buf: bytes, start: int, end: int):
    """(start, end) of each TLV between start and end."""
    i = start
    while i < end:
        j = i + 1
        n = buf[j]
        if n & 0x80:
            k = n & 0x7F
            n = int.from_bytes(buf[j + 1 : j + 1 + k], "big")
            j += k
        j += 1
        yield i, j + n
        i = j + n


def content(buf: bytes) -> tuple[int, int]:
    """Start and end of the content of the TLV at the start of buf."""
    n = buf[1]
    j = 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(buf[2 : 2 + k], "big")
        j = 2 + k
    return j, j + n
