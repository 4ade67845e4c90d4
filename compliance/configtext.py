"""A config dump read as it really arrives, and its platform told from its text.

Exports handed to assessors are rarely clean UTF-8: Huawei and H3C tools on Chinese Windows
save GBK, terminals leave CRLF line ends, and capture tools pad the file with NUL bytes up to a
block. Paging prompts (`---- More ----`) and the ANSI codes that erase them are left in the
middle of lines. All of that is cleaned without moving a line, so line numbers stay the file's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from jinbao.errors import JinbaoError

from . import inputs

# The prompt, then the cursor moved back, blanked with spaces and moved back again. A match is
# only tried at the start of a run of blanks or dashes (the lookbehinds): tried at each of N
# spaces, `[ \t]*` ran on to the run's end every time, N² steps (80,000 spaces took 33 s).
_PAGER = re.compile(
    r"(?<![ \t])[ \t]*(?<!-)-{2,} ?More ?-{2,}(?:\x1b\[\d*D *\x1b\[\d*D| *\x1b\[\d*D)?|\x1b\[[\d;]*[A-Za-z]"
)


@dataclass(frozen=True)
class ConfigText:
    file: str
    lines: tuple[str, ...]
    encoding: str
    platform: str
    dialect: str | None
    complete: bool
    text: str = ""  # the lines joined: one MULTILINE search over it costs less than one per line


def _utf16(data: bytes) -> str | None:
    """The UTF-16 codec of a dump saved by Windows PowerShell (`>` writes UTF-16 LE with a BOM),
    from its BOM or, without one, from its NUL pattern: ASCII text in UTF-16 has a NUL in every
    other byte, all on one side. None for any other file."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    sample = data.rstrip(b"\x00")[:4096]  # capture tools pad with NULs up to a block
    pairs = len(sample) // 2
    if pairs < 2:
        return None
    even, odd = sample[0 : 2 * pairs : 2].count(0), sample[1 : 2 * pairs : 2].count(0)
    if odd >= 0.3 * pairs and even <= 0.02 * pairs:
        return "utf-16-le"
    if even >= 0.3 * pairs and odd <= 0.02 * pairs:
        return "utf-16-be"
    return None


# C0 controls no config or terminal capture writes (tab, line ends, form feed, ESC, bell and
# backspace are left out: captures carry them).
_BINARY = re.compile(r"[\x01-\x06\x0e-\x1a\x1c-\x1f\x7f]")


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-16 (by BOM or NUL pattern), UTF-8 (with or without BOM), else
    GB18030, the superset of GBK. NUL padding is dropped wherever it is."""
    codec = _utf16(data)
    if codec is not None:
        body = data.rstrip(b"\x00")
        body += b"\x00" * (len(body) % 2)  # the last character's NUL half went with the padding
        return body.decode(codec, errors="replace").lstrip("\ufeff").replace("\x00", ""), codec
    data = data.replace(b"\x00", b"")
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace"), "gbk"


def not_text(data: bytes) -> str | None:
    """Why the bytes are no config dump at all (empty, or binary), or None. Told before the
    platform: no --platform makes an image or an empty file a config with nothing to find."""
    if not data.replace(b"\x00", b"").strip():
        return "is empty" if not data else "is empty (only blanks or NUL bytes)"
    if _utf16(data) is not None:
        return None
    body = data.rstrip(b"\x00")
    nuls = body.count(0)
    if nuls > max(8, len(body) // 100):
        return f"is not text ({nuls:,} NUL bytes inside it, not UTF-16's pattern)"
    return None


def _control_bytes(text: str) -> str | None:
    found = _BINARY.findall(text)
    if len(found) > max(8, len(text) // 200):
        return f"is not text ({len(found):,} control bytes, e.g. 0x{ord(found[0]):02x})"
    return None


def split(text: str) -> tuple[str, ...]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "More" in text or "\x1b" in text:
        text = _PAGER.sub("", text)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return tuple(line.rstrip() for line in lines)


@dataclass(frozen=True)
class Signature:
    """What text a platform's config shows: lines only it writes, and its first and last lines.

    `opens`: a first line that also says the file is whole when its last line is not `tail` (a
    saved file may lack the last line the `show` command prints). `always`: lines a whole config
    of the platform always holds, so a dump trimmed by hand is read as the fragment it is."""

    platform: str
    marks: tuple[re.Pattern, ...]
    head: re.Pattern
    tail: re.Pattern
    opens: re.Pattern | None = None
    always: tuple[re.Pattern, ...] = ()


def _sig(
    platform: str, head: str, tail: str, *marks: str, opens: str | None = None, always: tuple[str, ...] = ()
) -> Signature:
    # Searched once over the whole text (MULTILINE), not line by line: detection of the province's
    # 1,211 configs took 5 s line by line.
    return Signature(
        platform,
        tuple(re.compile(m, re.M) for m in marks),
        re.compile(head, re.M),
        re.compile(tail),
        re.compile(opens) if opens else None,
        tuple(re.compile(a, re.M) for a in always),
    )


# A list, not a table keyed by platform: the platform facts stay in jinbao/platforms.py; this is
# only how each one's text looks. VRP writes `sysname` at the margin, Comware indents it.
SIGNATURES = (
    # A server's config is the bundle of its files, each after a `# ==> PATH` line (as netconfig
    # renders it, and as `tail -n +1 FILE…` prints them): a whole one holds its sshd config.
    _sig(
        "linux",
        r"^# ==> /etc/ssh/sshd_config",
        r".",
        r"^# ==> /etc/",
        r"^(ListenAddress|PermitRootLogin|ClientAliveInterval|MaxAuthTries)\s",
        r"^agentAddress\s",
        r"^\*\.\*\s",
    ),
    # frr.conf as vtysh writes it starts with `frr version` and, unlike `show running-config`, has
    # no `end`; a short one may have nothing else of FRR's own but `frr defaults` and its
    # addresses with a prefix length (IOS, VRP and Comware give a mask), while its `line vty`
    # is also IOS's.
    _sig(
        "frr",
        r"^hostname \S",
        r"^end$",
        r"^frr version\b",
        r"^frr defaults\b",
        r"^service integrated-vtysh-config",
        r"^exit$",
        r"^ ip address \d+\.\d+\.\d+\.\d+/\d+",
        opens=r"^frr version\b",
    ),
    # IOS always writes its console and vty lines, configured or not: without them, a dump was
    # trimmed by hand (oxidized's recorded C9200L) and is read as a fragment.
    _sig(
        "cisco_ios",
        r"^hostname \S",
        r"^end$",
        r"^version \d+\.\d+",
        r"^service (timestamps|password-encryption)",
        r"^line (vty|con)\b",
        r"^ip (ssh|http|domain)",
        r"^ (no )?switchport\b|^ no shutdown$",
        r"^Building configuration",
        r"^Current configuration",
        always=(r"^line con 0$", r"^line vty \d"),
    ),
    _sig(
        "huawei_vrp",
        r"^sysname \S",
        r"^return$",
        r"^sysname \S",
        r"^user-interface (vty|con|console)\b",
        r"^aaa$",
        r"^ local-user \S+ (password|privilege|service-type)",
        r"^!Software Version V\d",
        r"^(undo )?(telnet|stelnet) server enable",
        r"irreversible-cipher",
        r"^firewall zone name\b",
        # as IOS, VRP always writes its console and vty user interfaces
        always=(r"^user-interface (con|console) 0$", r"^user-interface vty 0 "),
    ),
    # A Linux firewall's ruleset, as `nft list ruleset` prints it (or as netconfig renders it):
    # `[ \t]*`, not `\s*`, since over a dump padded with blank lines `^\s*` is quadratic.
    _sig(
        "nftables",
        r"^[ \t]*table (inet|ip6?|arp|bridge|netdev) \S+",
        r"^\s*\}$",
        r"^[ \t]*table (inet|ip6?|arp|bridge|netdev) \S+( \{)?$",
        r"^[ \t]*chain \S+ \{$",
        r"^[ \t]*type (filter|nat|route) hook \w+",
        r"^(#!/usr/sbin/nft|flush ruleset)",
    ),
    _sig(
        "h3c_comware",
        r"^ sysname \S",
        r"^return$",
        r"^ sysname \S",
        r"^ version [57]\.\d",
        r"^line (vty|aux|con)\b",
        r"^local-user \S+( class \S+)?$",
        r"^ password-control\b",
        r"^domain \S+$",
        r"^ (undo )?telnet server enable",
        r"^ (ssh server enable|snmp-agent)",
    ),
)


def detect(text: str) -> str | None:
    """The platform whose marks the text shows most; None when none or a tie."""
    scores = sorted(((sum(1 for m in s.marks if m.search(text)), s.platform) for s in SIGNATURES), reverse=True)
    if scores[0][0] == 0 or scores[0][0] == scores[1][0]:
        return None
    return scores[0][1]


def dialect(platform: str, text: str) -> str | None:
    if platform != "h3c_comware":
        return None
    # Comware 5 prints `version 5.20…` and names its lines `user-interface`; Comware 7 says `line`.
    m = re.search(r"^ version ([57])\.", text, re.M)
    if m:
        return f"comware{m.group(1)}"
    if re.search(r"^user-interface ", text, re.M) and not re.search(r"^line ", text, re.M):
        return "comware5"
    return "comware7"


def complete(platform: str, lines: tuple[str, ...], text: str) -> bool:
    """A whole config: the platform's name line and its last line (or its opening line) are both
    there, with every line the platform always writes."""
    sig = next((s for s in SIGNATURES if s.platform == platform), None)
    if sig is None:
        return False
    last = next((x for x in reversed(lines) if x.strip()), None)
    first = next((x for x in lines if x.strip()), None)
    ends = last is not None and bool(sig.tail.search(last))
    opens = first is not None and sig.opens is not None and bool(sig.opens.search(first))
    return bool(sig.head.search(text)) and (ends or opens) and all(a.search(text) for a in sig.always)


def read(path: Path, platform: str | None = None, shown_as: str | None = None, check: bool = False) -> ConfigText:
    """Read and classify one dump. An unreadable file or an unknown platform is bad input; with
    `check`, so is a file that plainly is not of the platform given (compliance.plausible)."""
    data = inputs.read_bytes(path)  # a FIFO, a device or an oversized file is refused, not read
    name = shown_as or str(path)
    why = not_text(data)
    text, encoding = decode(data)
    why = why or _control_bytes(text)
    if why:
        raise inputs.InputFileError(name, why, "pass the config dump itself, saved as text")
    return classify(name, text, platform, encoding, check)


# A terminal session's prompt lines around a dump (`host#show running-config` … `host#`, or
# `<host>display current-configuration` … `<host>`, `[host]`): only at the very start and end.
_PROMPT = re.compile(r"^(?:[A-Za-z0-9_.:/()-]+[#>]|<[^<>\s]+>|\[[^\[\]\s]+\])(?P<cmd>.*)$")
_SHOWS = re.compile(r"\s*(sh(ow?)?|dis(p(l(ay?)?)?)?|more|cat|terminal|screen-length)\b", re.I)


def unprompt(lines: tuple[str, ...]) -> tuple[str, ...]:
    """The lines with the session's prompt lines blanked (not dropped: line numbers stay the
    file's). A leading prompt line counts only with a command that shows or pages the config, so
    a config's own first line is never taken for one."""
    out = list(lines)
    i = 0
    while i < len(out) and (not out[i].strip() or _is_prompt(out[i], leading=True)):
        out[i] = ""
        i += 1
    j = len(out) - 1
    while j > i and (not out[j].strip() or _is_prompt(out[j], leading=False)):
        out[j] = ""
        j -= 1
    return tuple(out) if i or j < len(out) - 1 else lines


def _is_prompt(line: str, leading: bool) -> bool:
    m = _PROMPT.match(line)
    return m is not None and (not leading or _SHOWS.match(m.group("cmd")) is not None)


# Where a whole config starts: its name line, or the banner its `show` command prints first.
_STARTS = re.compile(
    r"^(hostname \S| ?sysname \S|Building configuration|Current configuration :|!Software Version|frr version)"
)


def several(name: str, platform: str, lines: tuple[str, ...]) -> None:
    """InputFileError when the file holds more than one config (two name lines, or one start
    twice): judged as one, each config's lines would make up for the other's missing ones."""
    if platform == "linux":  # a server bundle is many files by design
        return
    seen: dict[str, list[int]] = {}
    for i, x in enumerate(lines, 1):
        m = _STARTS.match(x)
        if m:
            kind = "name" if "sysname" in m.group(1) or m.group(1).startswith("hostname") else m.group(1)
            seen.setdefault(kind, []).append(i)
    for kind, at in sorted(seen.items(), key=lambda kv: kv[0] != "name"):  # name lines say most
        if len(at) > 1:
            what = "hostname/sysname" if kind == "name" else f"`{kind}`"
            raise inputs.InputFileError(
                name,
                f"holds {len(at)} configs ({what} at lines {', '.join(map(str, at))})",
                "split it into one file per device and pass each",
            )


def classify(
    name: str, text: str, platform: str | None = None, encoding: str = "utf-8", check: bool = False
) -> ConfigText:
    lines = unprompt(split(text))
    whole = "\n".join(lines)
    if check and platform is not None:
        from .plausible import problem  # it reads SIGNATURES from here

        why = problem(name, platform, lines, whole)
        if why:
            raise JinbaoError(why)
    plat = platform or detect(whole)
    if plat is None:
        raise JinbaoError(
            f"{name}: cannot tell the platform from the text (VRP, Comware, IOS/IOS-XE, FRR or nftables); "
            "pass --platform"
        )
    several(name, plat, lines)
    return ConfigText(name, lines, encoding, plat, dialect(plat, whole), complete(plat, lines, whole), whole)
