"""Names in an estate (sites, devices, zones, templates, SNMP profiles): one rule for all of them,
and messages that say what is wrong with a name rather than quoting a regex.

A name becomes a host name, a DNS label, an Ansible group and a file name, so it is lower-case
ASCII: letters, digits, '-' and '_', starting with a letter or digit, at most 63 characters
(a DNS label). Device and zone names may also hold {placeholders} that templates fill in.
"""

from __future__ import annotations

import difflib
import unicodedata

MAX_NAME = 63  # RFC 1035: a DNS label
NAME_RE = r"^[a-z0-9][a-z0-9_-]*$"
# In a template or for_each entry: '{site}-wan1', '{each}-db{n}'.
PATTERN_NAME_RE = r"^[a-z0-9{][a-z0-9{}_-]*$"

_ALLOWED = set("abcdefghijklmnopqrstuvwxyz0123456789-_")


def non_ascii_note(text: str) -> str:
    """Point at the first non-ASCII character: a Cyrillic 'о' looks exactly like a Latin 'o'."""
    for i, c in enumerate(text):
        if not c.isascii():
            what = unicodedata.name(c, "unnamed character")
            return (
                f"character {i + 1} of {text!r} is {c!r} (U+{ord(c):04X} {what}), not ASCII; "
                "it may look like a Latin letter"
            )
    return ""


def did_you_mean(name, options, otherwise: str = "check the name against the inventory") -> str:
    """How to fix a name that refers to nothing: the closest name there is, and, for a name with
    a non-ASCII look-alike in it, which character that is."""
    close = difflib.get_close_matches(name, list(options), n=1) if isinstance(name, str) else []
    hint = f"did you mean {close[0]!r}?" if close else otherwise
    if isinstance(name, str) and not name.isascii():
        hint = f"{non_ascii_note(name)}: retype it ({hint})"
    return hint


def name_problem(value, what: str, placeholders: bool = True) -> tuple[str, str]:
    """Message and fix for a name that breaks the rule above."""
    fix = "use lower-case letters, digits, '-' and '_', starting with a letter or digit (see docs/inventory.md)"
    if not isinstance(value, str):
        return f"{value!r} is not a valid {what}", fix
    allowed = _ALLOWED | (set("{}") if placeholders else set())
    if not value.isascii():
        return f"{value!r} is not a valid {what}: {non_ascii_note(value)}", "retype the name in plain ASCII"
    if value != value.lower() and all(c in allowed for c in value.lower()):
        return f"{value!r} is not a valid {what}: names are lower case", f"write {value.lower()!r}"
    bad = sorted({c for c in value if c not in allowed})
    if not placeholders and "{" in value and set(bad) <= set("{}"):
        # '{site}-hall' as a zone name: placeholders are filled into device names, link ends and
        # for_each entries only, so it would stay those very characters.
        return (
            f"{value!r} is not a valid {what}: no placeholder is filled into a {what} here",
            "write the name itself, such as hall (placeholders work in device names, link ends and for_each entries)",
        )
    if bad:
        return (
            f"{value!r} is not a valid {what}: {', '.join(repr(c) for c in bad)} "
            f"{'is' if len(bad) == 1 else 'are'} not allowed in a name"
        ), fix
    if value[:1] in ("-", "_", "}"):
        return f"{value!r} is not a valid {what}: it must start with a letter or digit", fix
    return f"{value!r} is not a valid {what}", fix
