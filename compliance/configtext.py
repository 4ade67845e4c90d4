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

# The prompt, then the cursor moved back, blanked with spaces and moved back again.
_PAGER = re.compile(r"[ \t]*-{2,} ?More ?-{2,}(?:\x1b\[\d*D *\x1b\[\d*D| *\x1b\[\d*D)?|\x1b\[[\d;]*[A-Za-z]")


@dataclass(frozen=True)
class ConfigText:
    file: str
    lines: tuple[str, ...]
    encoding: str
    platform: str
    dialect: str | None
    complete: bool
    text: str = ""  # the lines joined: one MULTILINE search over it costs less than one per line


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 (with or without BOM), else GB18030, the superset of GBK."""
    data = data.replace(b"\x00", b"")
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace"), "gbk"


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
    text, encoding = decode(data)
    return classify(shown_as or str(path), text, platform, encoding, check)


def classify(
    name: str, text: str, platform: str | None = None, encoding: str = "utf-8", check: bool = False
) -> ConfigText:
    lines = split(text)
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
    return ConfigText(name, lines, encoding, plat, dialect(plat, whole), complete(plat, lines, whole), whole)
