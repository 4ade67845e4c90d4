"""The building blocks of the estate's YAML format that more than one schema module uses."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

# '<' and '>' are refused in paths too: a reference travels inside a `<secret REF>` marker.
_SECRET_RE = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]*|file:[^\s<>]+|vault:[^\s<>#]+#[^\s<>#]+)$")
# Kernel views, not files a secret is kept in: /proc/self/environ would hand over every variable.
_NOT_SECRET_FILES = ("/proc/", "/sys/", "/dev/")


def _secret_path_problem(path: str) -> str | None:
    """Why a file: or vault: path cannot name a secret file, or None. A relative path is read from
    whatever folder a command happens to run in, '~' is never expanded, and a '..' climbs out of
    the root-only folder the path seems to name (file:/etc/jinbao/secrets/../../shadow)."""
    if not path.startswith("/"):
        return "its path is not absolute, so it would be read from whatever folder the command runs in"
    parts = path.split("/")[1:]
    if any(s in ("..", ".") for s in parts):
        return "its path holds a '.' or '..' step, which leaves the folder it names"
    if "" in parts:
        return "its path holds '//' or ends in '/': it names no file (a file: reference is not a URL)"
    if path.startswith(_NOT_SECRET_FILES):
        return "its path is under /proc, /sys or /dev, which hold no secret files"
    return None


def _secret_ref(v: str) -> str:
    if v != v.strip() and _SECRET_RE.fullmatch(v.strip()):
        # Python's $ let 'env:X\n' (a | block) through: a variable of that name is never set, and the
        # `<secret …>` marker a config carries would not be found.
        raise ValueError("the reference has a line break or spaces around it (a '|' block, or a quoted \\n)")
    if not _SECRET_RE.fullmatch(v):
        # Do not echo the value: it may be the secret someone pasted in.
        raise ValueError("must be a secret reference (env:NAME, file:PATH or vault:FILE#KEY), never the secret itself")
    kind, _, rest = v.partition(":")
    why = _secret_path_problem(rest.partition("#")[0]) if kind in ("file", "vault") else None
    if why:
        # Still not echoed: a mistyped reference may hold part of a secret.
        raise ValueError(f"the {kind}: reference is unusable: {why}")
    return v


SecretRefStr = Annotated[str, AfterValidator(_secret_ref)]


def _printable(v: str) -> str:
    # A name or reference is compared and echoed; a tab or an escape sequence in it is a paste accident.
    if not v.isprintable():
        raise ValueError(f"{v!r} contains a control character")
    return v


def not_blank(v: str) -> str:
    # '  ' passes a length check but names nothing: a carrier of spaces is no carrier at all.
    if v and not v.strip():
        raise ValueError("the value is only spaces")
    return v


Text = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_printable), AfterValidator(not_blank)]


def _one_line(v: str) -> str:
    # Free text lands in configs: a policy's `why` is a comment in the nftables ruleset and a rule
    # description on VRP and Comware. A line break in it starts a line of its own on the device,
    # which a parser checks as a command ('accept' in a forward chain passed nft -c).
    for c in v:
        # Cf: invisible format characters (U+200B, U+FEFF) and bidi overrides (U+202E), which
        # make a config line read differently from what the device does with it.
        if unicodedata.category(c) in ("Cc", "Zl", "Zp", "Cf"):
            raise ValueError(
                f"{v!r} holds {c!r}, a line break or control character"
                + (f" (U+{ord(c):04X}, invisible)" if unicodedata.category(c) == "Cf" else "")
                + ": free text is one printable line"
            )
    return v


# A title, a vendor, the reason for a policy: anything printable, on one line, and may be empty.
Line = Annotated[str, Field(max_length=500), AfterValidator(_one_line)]


def _number(v):
    # YAML's `yes` or "80" where a limit belongs is a mistake, not a number.
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ValueError(f"expected a number, found {type(v).__name__}: write the limit itself, such as 80")
    return v


# A percentage limit: above 0 (a limit of 0 alerts always), at most 100.
Percent = Annotated[float, BeforeValidator(_number), Field(gt=0, le=100)]


def once_each(v: list) -> list:
    """A list that is a set in meaning (protocols, a wave's kinds): a repeat adds nothing, and is
    most often a typo for the item that was meant."""
    seen = set()
    for item in v:
        if item in seen:
            raise ValueError(f"{item} is listed twice; each is listed once, since the list is a set")
        seen.add(item)
    return v
