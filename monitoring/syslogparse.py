"""Syslog messages as devices send them: RFC 5424, RFC 3164 (BSD), and what is neither.

`parse(data)` turns one datagram (or one TCP frame) into a `Message`, or raises `Malformed`
saying why. It never raises anything else, whatever the bytes: the receiver logs a `Malformed`
against its source and goes on.

What is accepted, and why:
- **RFC 5424** (`<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG`): every header field must be there
  (`-` for nil); the structured data is checked for balanced, quoted `[ID k="v"]` elements (with
  `\\"`, `\\\\` and `\\]` escapes); a missing field is reported as a truncated message.
- **RFC 3164**: `<PRI>`, then usually `Mmm dd hh:mm:ss HOST TAG[PID]: MSG`. Real devices vary
  (IOS puts a sequence number and `*Mar  1 00:01:23.456:` there; a relay may drop the host), so
  when the timestamp is not there the whole rest is the message, as RFC 3164 4.3.2 lets a relay
  take it.
- **Text**: the message is UTF-8 (RFC 5424's BOM is dropped). The estate's Huawei and H3C
  devices may send GB18030 (GBK) text: that is decoded as such and noted. Bytes that are neither
  are `Malformed`.
- **Size**: at most MAX_BYTES (RFC 5424 6.1 lets a receiver set its limit; 2,048 must be
  accepted). Larger is `Malformed` ("oversize"), so one sender cannot make the log huge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_BYTES = 16384

# RFC 5424 6.2.1, by code.
FACILITIES = (
    *("kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp"),
    *("ntp", "security", "console", "solaris-cron", *(f"local{i}" for i in range(8))),
)
SEVERITIES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")

_PRI = re.compile(rb"^<(\d{1,3})>")
_5424_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$")
_3164_HEAD = re.compile(
    r"^(?P<ts>(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d{2}:\d{2}:\d{2}) "
    r"(?:(?P<host>[^\s:\[]+) )?(?P<rest>.*)$",
    re.S,
)
_3164_TAG = re.compile(r"^(?P<app>[A-Za-z0-9_./-]{1,48})(?:\[(?P<pid>[^\]\s]{1,32})\])?: ?(?P<msg>.*)$", re.S)
_SD_ELEMENT = re.compile(r'\[[^\s\]=" ]{1,32}(?: [^\s\]=" ]{1,32}="(?:[^"\\\]]|\\["\\\]])*")*\]')


class Malformed(ValueError):
    """Not a syslog message this receiver can read; str(e) says why, for the log."""


@dataclass(frozen=True)
class Message:
    """One syslog message. `protocol` is rfc5424 or rfc3164; absent header fields are None."""

    protocol: str
    facility: str
    severity: str
    msg: str
    timestamp: str | None = None
    host: str | None = None
    app: str | None = None
    procid: str | None = None
    msgid: str | None = None
    sd: str | None = None
    notes: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if v not in (None, ())}
        if self.notes:
            d["notes"] = list(self.notes)
        return d


def _text(raw: bytes, notes: list[str]) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        utf8_error = e
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError:
        at = utf8_error.start
        raise Malformed(f"not UTF-8 (byte {at}: {raw[at : at + 4]!r}), nor GB18030") from None
    notes.append("not UTF-8: read as GB18030")
    return text


def _nil(field_: str) -> str | None:
    return None if field_ == "-" else field_


def _structured_data(rest: str) -> tuple[str | None, str]:
    """(SD or None for '-', what follows it); Malformed when the SD is not well formed."""
    if rest.startswith("-"):
        if len(rest) > 1 and rest[1] != " ":
            raise Malformed("structured data: '-' followed by text")
        return None, rest[2:]
    if not rest.startswith("["):
        raise Malformed("truncated: no STRUCTURED-DATA ('-' or '[…]') after MSGID")
    at = 0
    while at < len(rest) and rest[at] == "[":
        m = _SD_ELEMENT.match(rest, at)
        if m is None:
            raise Malformed(f"structured data not well formed at character {at}: {rest[at : at + 40]!r}")
        at = m.end()
    if at < len(rest) and rest[at] != " ":
        raise Malformed(f"structured data followed by {rest[at : at + 10]!r}, not a space")
    return rest[:at], rest[at + 1 :]


def _rfc5424(body: str, facility: str, severity: str, notes: list[str]) -> Message:
    parts = body.split(" ", 5)
    names = ("TIMESTAMP", "HOSTNAME", "APP-NAME", "PROCID", "MSGID", "STRUCTURED-DATA")
    if len(parts) < 6 or not parts[5] or not parts[0]:
        missing = names[0] if not parts[0] else names[len(parts)] if len(parts) < 6 else names[5]
        raise Malformed(f"truncated RFC 5424 message: no {missing}")
    ts, host, app, procid, msgid, rest = parts
    if ts != "-" and not _5424_TIME.match(ts):
        raise Malformed(f"RFC 5424 TIMESTAMP {ts[:40]!r} is not RFC 3339")
    for name, value, limit in (("HOSTNAME", host, 255), ("APP-NAME", app, 48), ("PROCID", procid, 128)):
        if not value or len(value) > limit:
            raise Malformed(f"RFC 5424 {name} is empty or longer than {limit}")
    if len(msgid) > 32:
        raise Malformed("RFC 5424 MSGID is longer than 32")
    sd, msg = _structured_data(rest)
    msg = msg.removeprefix("\ufeff")
    return Message(
        "rfc5424", facility, severity, msg.rstrip("\r\n\x00"), _nil(ts), _nil(host), _nil(app),
        _nil(procid), _nil(msgid), sd, tuple(notes),
    )  # fmt: skip


def _rfc3164(body: str, facility: str, severity: str, notes: list[str]) -> Message:
    body = body.rstrip("\r\n\x00")
    m = _3164_HEAD.match(body)
    ts = host = None
    rest = body
    if m:
        ts, host, rest = m["ts"], m["host"], m["rest"]
        tag = _3164_TAG.match(rest)
        if tag:
            app, pid = tag["app"], tag["pid"]
            return Message("rfc3164", facility, severity, tag["msg"], ts, host, app, pid, notes=tuple(notes))
    else:
        notes.append("no RFC 3164 timestamp: the whole text is the message")
    return Message("rfc3164", facility, severity, rest, ts, host, notes=tuple(notes))


def parse(data: bytes) -> Message:
    """One message from one datagram or frame; Malformed (with why) if it is not one."""
    if not data:
        raise Malformed("empty")
    if len(data) > MAX_BYTES:
        raise Malformed(f"oversize: {len(data)} bytes (this receiver takes {MAX_BYTES})")
    m = _PRI.match(data)
    if m is None:
        raise Malformed(f"no <PRI> at the start: {data[:24]!r}")
    pri = int(m.group(1))
    if pri > 191 or (len(m.group(1)) > 1 and m.group(1).startswith(b"0")):
        raise Malformed(f"<PRI> {m.group(1).decode()} is not 0-191 without leading zeros")
    facility, severity = FACILITIES[pri >> 3], SEVERITIES[pri & 7]
    notes: list[str] = []
    rest = data[m.end() :]
    if rest.startswith(b"1 "):
        return _rfc5424(_text(rest[2:], notes), facility, severity, notes)
    if not rest.strip():
        raise Malformed("truncated: nothing after <PRI>")
    return _rfc3164(_text(rest, notes), facility, severity, notes)
