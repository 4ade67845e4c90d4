"""Small validators for what people type: each returns the clean value or raises a PkiError that
says what is wrong, in which option, and how to fix it. They run before anything is signed. Below
them, the same for the small JSON records the CA reads back from files anyone may have edited."""

from __future__ import annotations

import json
import math
import re
import unicodedata

from .errors import PkiError

# Operator names become audit-log actors and certificate CNs: plain ASCII, so "аlice" (Cyrillic а)
# cannot pass for "alice"; uniqueness is checked case-insensitively by the store.
OPERATOR_NAME = re.compile(r"[A-Za-z][A-Za-z0-9._-]{0,31}")
# An addr-spec's dot-atom form (RFC 5322 3.4.1) in ASCII: what every relying party accepts.
EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+"
)
# Actors the CA itself writes into the audit log; no operator may pass for them.
RESERVED = {"root", "init", "unknown"}
SERIAL = re.compile(r"(0x)?[0-9a-f]{1,40}")
CN_MAX = 64  # RFC 5280 ub-common-name


def days(value, maximum: int, what: str, option: str = "--days", minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise PkiError(f"{option} {value}: give a whole number of days from {minimum} to {maximum}")
    if value > maximum:
        raise PkiError(f"{option} {value}: {value} days exceeds {what}'s maximum of {maximum}")
    return value


def hours(value, option: str, maximum: float = 24 * 366) -> float:
    if not isinstance(value, (int, float)) or math.isnan(value) or not 0 <= value <= maximum:
        raise PkiError(f"{option} {value}: give a number of hours from 0 to {maximum:g}")
    return float(value)


def person(value: str) -> str:
    if (
        not value
        or value != value.strip()
        or len(value) > CN_MAX
        or any(unicodedata.category(c).startswith(("C", "Z")) and c != " " for c in value)
    ):
        raise PkiError(
            f"--person {value!r}: give the person's name as printed, 1 to {CN_MAX} characters, without "
            "leading or trailing spaces, tabs, line breaks or control characters"
        )
    return value


def email(value: str) -> str:
    if len(value) > 254 or not EMAIL.fullmatch(value) or len(value.split("@")[0]) > 64:
        raise PkiError(
            f"--email {value!r}: give one ASCII address of the form name@domain (at most 64 characters "
            "before the @, 254 in all); relying parties reject anything else"
        )
    local, domain = value.split("@")
    return f"{local}@{domain.lower()}"


def operator_name(value: str) -> str:
    if not OPERATOR_NAME.fullmatch(value):
        raise PkiError(
            f"operator name {value[:40]!r}: use 1 to 32 ASCII letters, digits, '.', '_' or '-', starting with a letter"
        )
    if value.lower() in RESERVED:
        raise PkiError(f"operator name {value!r} is what the audit log calls the CA itself; choose another name")
    return value


def shown(value, limit: int = 60) -> str:
    """Something from a request, fit to echo in a message: printable and short (no terminal escapes)."""
    text = str(value)
    return text if text.isprintable() and len(text) <= limit else ascii(text[:limit])


def serial(value: str) -> str:
    """A serial as the CA stores it: lower-case hex without 0x or leading zeros."""
    s = value.strip().lower()
    if not SERIAL.fullmatch(s):
        raise PkiError(f"serial {value[:50]!r}: give the certificate's serial in hex, as 'jinbao pki list' shows it")
    return s.removeprefix("0x").lstrip("0") or "0"


# -- small JSON records the CA reads back (audit.head, the auditor's checkpoint, the seal) -----------------------
# Each is a flat object the CA wrote itself. Whoever can write the file can put anything there: a number too big
# for SQLite (1e999, 2**63 - 1), JSON nested 100,000 deep (a RecursionError in the parser). Each is refused as
# "not a record" (ValueError) before any value is used.
RECORD_DEPTH = 3
SEQ_MAX = 2**62  # far beyond any log; seq + 1 always fits SQLite's INTEGER


def record(data: bytes, what: str, limit: int = 4096) -> dict:
    if len(data) > limit:
        raise ValueError(f"{what} is larger than {limit} bytes")
    try:
        text = data.decode()
    except UnicodeDecodeError:
        raise ValueError(f"{what} is not UTF-8 text") from None
    if _depth(text) > RECORD_DEPTH:
        raise ValueError(f"{what} is nested deeper than {RECORD_DEPTH} levels")
    obj = json.loads(text, parse_constant=_no_constant)
    if not isinstance(obj, dict):
        raise ValueError(f"{what} is not a JSON object")
    return obj


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number")


def _depth(text: str) -> int:
    """How deep brackets nest, outside strings: counted before json.loads recurses into them."""
    depth = deepest = 0
    in_string = escaped = False
    for c in text:
        if in_string:
            escaped, in_string = (not escaped and c == "\\"), (in_string and (escaped or c != '"'))
        elif c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth -= 1
    return deepest


def whole(obj: dict, key: str, what: str, lo: int = 0, hi: int = SEQ_MAX) -> int:
    v = obj.get(key)
    if type(v) is not int or not lo <= v <= hi:  # type(): True is an int to isinstance, 1e999 is a float
        raise ValueError(f"{what}: {key} must be a whole number from {lo} to {hi}")
    return v


def hex_text(obj: dict, key: str, what: str, length: int | None = None, limit: int = 2048) -> str:
    v = obj.get(key)
    if (
        not isinstance(v, str)
        or not re.fullmatch(r"[0-9a-f]*", v)
        or len(v) > limit
        or (length is not None and len(v) != length)
        or len(v) % 2
    ):
        raise ValueError(f"{what}: {key} must be lower-case hex" + (f" of {length} digits" if length else ""))
    return v
