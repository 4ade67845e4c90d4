"""Secrets out of everything jinbao stores or prints from a device: backups, plans, drift reports,
driver diffs and errors, `config get … config`.

Two passes, in this order:
1. **Known values.** Every secret reference the estate holds (`jinbao.secrets.estate_refs`),
   resolved for the device's target, is replaced by its `<secret REF>` marker, wherever it
   appears. This is exact and says which secret was there, so a diff against the intent (which
   carries the same markers) shows no difference where the device holds the intended secret.
2. **Patterns.** A secret nobody referenced (typed by hand on a device, or a rotated key whose
   old value still runs) is caught by the shape of its line: FRR/IOS `message-digest-key N md5
   X`, `authentication-key X`, `password X`, `secret X`, SNMP `community`, net-snmp `createUser`
   keys, VRP/Comware `cipher X`, SNMPv3 user keys after `auth sha`/`priv aes` or `authentication-mode`/
   `privacy-mode`. Its value becomes `<redacted>`. `redact(text)` is this pass alone, for text of
   a device whose estate is not at hand (a driver's diff).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from jinbao.errors import SecretError
from jinbao.model import Estate
from jinbao.secrets import estate_refs, marker
from jinbao.target import Target

REDACTED = "<redacted>"
# A value already turned into a marker (pass 1) is left as it is.
_VALUE = r"(?!<secret )(?!<redacted>)(?!(?:irreversible-cipher|cipher|simple)\b)\S+"
PATTERNS = [
    # ip ospf message-digest-key 1 md5 VALUE / ntp authentication-key 1 md5 VALUE
    re.compile(
        rf"((?<![<\w-])(?:message-digest-key|authentication-key)[ \t]+\d+[ \t]+(?:md5|sha\S*)[ \t]+)({_VALUE})", re.I
    ),
    # ip ospf authentication-key VALUE / isis password VALUE / enable secret 5 VALUE / username u password 7 VALUE
    re.compile(rf"((?<![<\w-])(?:authentication-key|password|secret)[ \t]+(?:\d[ \t]+)?)({_VALUE})", re.I),
    # VRP / Comware: local-user x password cipher VALUE, irreversible-cipher VALUE, simple VALUE
    re.compile(rf"((?<![<\w-])(?:cipher|irreversible-cipher|simple)[ \t]+)({_VALUE})", re.I),
    # snmp-server community VALUE / snmp-agent community read VALUE / rocommunity VALUE
    re.compile(rf"((?<![<\w-])(?:snmp-server community|rocommunity6?|rwcommunity6?)[ \t]+)({_VALUE})", re.I),
    re.compile(
        rf"((?<![<\w-])snmp-agent community[ \t]+(?:read|write)[ \t]+(?:cipher[ \t]+|simple[ \t]+)?)({_VALUE})", re.I
    ),
    # IOS trap/inform targets carry the community in clear: snmp-server host A [traps|informs]
    # [version 1|2c] VALUE ... (with version 3 the word there is a user name, not a secret)
    re.compile(
        rf"((?<![<\w-])snmp-server host[ \t]+\S+[ \t]+(?:(?:traps|informs)[ \t]+)?(?:version[ \t]+(?:1|2c)[ \t]+)?)"
        rf"(?!version\b)(?!traps\b)(?!informs\b)({_VALUE})",
        re.I,
    ),
    # SNMPv3 users: IOS `auth sha K priv aes 128 K`, VRP/Comware `authentication-mode sha2-256 K privacy-mode aes128 K`
    # (VRP's OSPF `authentication-mode md5 1 cipher K` is the cipher pattern's: its 1 is a key id)
    re.compile(rf"((?<![<\w-])(?:auth[ \t]+(?:sha|md5)|authentication-mode[ \t]+sha)\S*[ \t]+)({_VALUE})", re.I),
    re.compile(rf"((?<![<\w-])(?:priv|privacy-mode)[ \t]+(?:aes|des|3des)\S*[ \t]+(?:\d+[ \t]+)?)({_VALUE})", re.I),
]
# net-snmp: createUser NAME SHA AUTHKEY AES PRIVKEY (each key optional after the first)
CREATE_USER = re.compile(
    rf"((?<![<\w-])createUser[ \t]+\S+[ \t]+(?:-e[ \t]+\S+[ \t]+)?\S+[ \t]+)({_VALUE})(?:([ \t]+\S+[ \t]+)({_VALUE}))?",
    re.I,
)


class Redactor:
    """Redacts one device's text: the known secret values first, then secret-looking lines."""

    def __init__(self, values: dict[str, str]):
        # Longest first, so a value that contains another is replaced whole.
        self._values = sorted(((v, m) for v, m in values.items() if v), key=lambda vm: -len(vm[0]))

    @classmethod
    def for_target(cls, estate: Estate, target: Target) -> Redactor:
        """The secrets of estate as target resolves them (a reference it cannot resolve is skipped:
        its value cannot be known here, and the patterns still catch the line)."""
        return cls.from_refs(estate_refs(estate), target.secret)

    @classmethod
    def from_refs(cls, refs: Iterable[str], lookup) -> Redactor:
        values: dict[str, str] = {}
        for ref in refs:
            try:
                values[lookup(ref)] = marker(ref)
            except SecretError:
                continue
        return cls(values)

    def __call__(self, text: str) -> str:
        for value, mark in self._values:
            # whole tokens only: a short key must not garble (and so give away) other words
            text = re.sub(rf"(?<![^\s\"]){re.escape(value)}(?![^\s\"])", mark, text)
        return redact(text)


def redact(text: str) -> str:
    """Pass 2 alone: every secret value the text's own syntax reveals becomes <redacted>."""
    for pattern in PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return CREATE_USER.sub(_create_user, text)


def _create_user(m: re.Match) -> str:
    tail = f"{m.group(3)}{REDACTED}" if m.group(4) else ""
    return f"{m.group(1)}{REDACTED}{tail}"
