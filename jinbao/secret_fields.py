"""Which parts of an estate file may hold a secret, so that no message ever echoes them.

A key pasted where its reference belongs (`auth_key: 12345678901234`) is the mistake most
worth catching and the one most harmful to print: validate output lands in CI logs, tickets
and chat. Every message path (schema errors, YAML errors, suggestions) asks here first.
"""

from __future__ import annotations

import re

# Field names that hold secrets, in jinbao's schema or in what people paste into it.
SECRET_NAME = re.compile(r"(key|pass|secret|community|token|credential)", re.I)
# Sections whose every value is kept out of messages: an SNMP profile holds two keys, and a
# key misplaced by one indentation level lands in another field of the same profile.
SECRET_SECTIONS = frozenset({"snmp_profiles"})
# A written secret field on a line: `auth_key: …`, `"priv_key": …`.
_SECRET_LINE = re.compile(r"[\w\"']*(key|pass|secret|community|token|credential)[\w\"']*\s*:", re.I)
# An unknown key in a secret section is shown only if it looks like a field name; anything
# else may be the secret itself, written as a key (`{auth_key:Pa55word}`, `{Pa55word}`).
_FIELD_LIKE = re.compile(r"[a-z][a-z_]{0,31}")

HIDDEN = "(value not shown: it may be a secret)"


def in_secret_place(loc) -> bool:
    """Whether a path (keys and indexes) leads into a field or section that holds secrets."""
    return any(isinstance(p, str) and (p in SECRET_SECTIONS or SECRET_NAME.search(p)) for p in loc)


def field_like(key: str) -> bool:
    """Whether a key looks like a field name (and not like a secret)."""
    return _FIELD_LIKE.fullmatch(key) is not None


def shown_path(path: tuple, value_at) -> tuple:
    """A path into the data as it may be printed: in a secret section, a key that is not a
    profile (its value is not a mapping) or not a field name may be the secret itself, written
    as a key (`{auth_key:Pa55word}`, `{Pa55word}`). value_at(n) gives the value at path[:n]."""
    if not path or path[0] not in SECRET_SECTIONS:
        return tuple(path)
    out = [path[0]]
    for n, part in enumerate(path[1:], start=2):
        if n == 2:  # a profile name: shown if it names a profile (a mapping)
            ok = isinstance(value_at(n), dict)
        else:  # a field of a profile
            ok = isinstance(part, int) or _FIELD_LIKE.fullmatch(str(part)) is not None
        out.append(part if ok else "(unknown key)")
    return tuple(out)


def secret_line(text: str) -> bool:
    """Whether a line of YAML writes a secret field."""
    return bool(_SECRET_LINE.search(text))


def scrub(message: str, value) -> str:
    """The message without the value, in any of the forms a message may quote it."""
    text = str(value)
    for form in sorted(
        {repr(value), text, repr(text.lower()), text.lower(), repr(text.upper()), text.upper()}, key=len, reverse=True
    ):
        if form and len(form) > 1:
            message = message.replace(form, "(value not shown)")
    return message


# Tags people put on secrets on purpose; naming them tells nothing about the secret.
_KNOWN_TAGS = ("'!vault'", "'!unsafe'", "'!encrypted/pkcs1-oaep'")


def scrub_quoted(message: str) -> str:
    """A YAML error message without what it quotes (a tag, an alias, a character), unless that
    is a well-known tag such as Ansible's !vault."""
    return re.sub(r"'.*'|\".*\"", lambda m: m.group() if m.group() in _KNOWN_TAGS else "(value not shown)", message)
