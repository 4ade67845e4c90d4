"""The building blocks of the estate's YAML format that more than one schema module uses."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

# '<' and '>' are refused in paths too: a reference travels inside a `<secret REF>` marker.
_SECRET_RE = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]*|file:[^\s<>]+|vault:[^\s<>#]+#[^\s<>]+)$")


def _secret_ref(v: str) -> str:
    if not _SECRET_RE.match(v):
        # Do not echo the value: it may be the secret someone pasted in.
        raise ValueError("must be a secret reference (env:NAME, file:PATH or vault:FILE#KEY), never the secret itself")
    return v


SecretRefStr = Annotated[str, AfterValidator(_secret_ref)]


def _printable(v: str) -> str:
    # A name or reference is compared and echoed; a tab or an escape sequence in it is a paste accident.
    if not v.isprintable():
        raise ValueError(f"{v!r} contains a control character")
    return v


Text = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_printable)]


def _one_line(v: str) -> str:
    # Free text lands in configs: a policy's `why` is a comment in the nftables ruleset and a rule
    # description on VRP and Comware. A line break in it starts a line of its own on the device,
    # which a parser checks as a command ('accept' in a forward chain passed nft -c).
    for c in v:
        if unicodedata.category(c) in ("Cc", "Zl", "Zp"):
            raise ValueError(f"{v!r} holds {c!r}, a line break or control character: free text is one printable line")
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
