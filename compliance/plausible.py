"""Is a dump plausibly of the platform the auditor named with `--platform`?

A wrong `--platform` is not a harmless hint: the rules of the named platform find nothing to judge
in another platform's text, and the file comes out "not applicable" or without findings, exit 0,
a clean result for a config nobody looked at (`--platform nftables` on a Comware dump). So a named
platform must be recognisable in the text, cheaply:

- **Foreign lines.** Each family writes lines no other family writes: VRP and Comware `undo …`,
  `return`, `quit` and their bare `#` separators; IOS and FRR `!` separators and `no …`; nftables
  `table … {`, `chain … {` and its hooks. When a quarter of the config's lines belong to another
  family, the file is that family's. (Not for a server bundle, which holds files of any syntax.)
- **Marks.** When another platform shows two or more of its marks (compliance.configtext.SIGNATURES)
  and more than twice as many as the named platform (none at all, or one shared line such as
  `line vty`), the file is that one's.

A fragment with no marks at all is let through: it gets "no evidence", never "conforms".
"""

from __future__ import annotations

import re

from jinbao.platforms import PLATFORMS
from jinbao.redact import redact

from .configtext import SIGNATURES, detect

FAMILY_NAME = {"vrp": "VRP/Comware", "ios": "IOS/FRR", "nft": "nftables", "linux": "a server bundle"}
# (family, its lines no other family writes, the named families they are counted against)
_FOREIGN = (
    ("vrp", re.compile(r"^\s*(undo \S|return$|quit$|sysname \S|display \S)"), ("ios", "nft")),
    # VRP's bare `#` separators: a comment line elsewhere, but never in an IOS or FRR config
    ("vrp", re.compile(r"^\s*#$"), ("ios",)),
    ("ios", re.compile(r"^(!|\s*no \S|end$|hostname \S|\s*exit$|\s*exit-address-family$)"), ("vrp", "nft")),
    (
        "nft",
        re.compile(r"^\s*((table|chain|set|map) \S.*\{$|type (filter|nat|route) hook |policy (drop|accept);)"),
        ("vrp", "ios"),
    ),
)
SHARE = 0.25  # of the non-blank lines, foreign to the named family: the file is the other's
MIN_FOREIGN = 3
MIN_MARKS = 2
# (given, detected) pairs let through: FRR's vtysh config is IOS-like, and the IOS rules read it.
_READS = {("cisco_ios", "frr")}


def _family(platform: str | None) -> str | None:
    return PLATFORMS[platform].config_family if platform in PLATFORMS else None


def _marks(platform: str, text: str) -> int:
    sig = next((s for s in SIGNATURES if s.platform == platform), None)
    return sum(1 for m in sig.marks if m.search(text)) if sig else 0


def looks_like(text: str) -> str | None:
    """The platform the text shows most marks of (nftables included), or None."""
    guess = detect(text)
    nft = _marks("nftables", text)
    if nft and (guess is None or nft > _marks(guess, text)):
        return "nftables"
    return guess


def problem(name: str, platform: str, lines: tuple[str, ...], text: str) -> str | None:
    """Why the text is not plausibly `platform`'s (naming the file and what it looks like), or None."""
    family = _family(platform)
    if family is None:
        return None
    body = [(i, x) for i, x in enumerate(lines, 1) if x.strip()]
    guess = looks_like(text)
    other = _family(guess)
    why = None
    mine, theirs = _marks(platform, text), _marks(guess, text) if guess else 0
    if guess and guess != platform and mine == 0 and theirs >= MIN_MARKS:
        why = f"it shows none of {platform}'s marks and {theirs} of {guess}'s"
    elif guess and guess != platform and theirs >= MIN_MARKS and theirs > 2 * mine and (platform, guess) not in _READS:
        # One shared mark (`line vty`, a margin `sysname` in Comware 5's header) is not the
        # platform's config: VRP given for Comware 5 showed 1 mark of VRP's and 4 of Comware's.
        why = f"it shows {mine} of {platform}'s marks and {theirs} of {guess}'s"
    else:
        # A server bundle holds files of any syntax: only its marks can tell.
        counted: dict[str, list[tuple[int, str]]] = {}
        for fam, pat, against in _FOREIGN:
            if family in against:
                counted.setdefault(fam, []).extend((i, x) for i, x in body if pat.match(x))
        for fam, hits in counted.items():
            if len(hits) >= MIN_FOREIGN and len(hits) >= SHARE * len(body):
                i, x = min(hits)
                why = f"{len(hits)} of its {len(body)} lines are {FAMILY_NAME[fam]}'s (line {i}: `{redact(x.strip())}`)"
                if other != fam:
                    guess = None
                other = fam
                break
    if why is None:
        return None
    like = guess or FAMILY_NAME[other or ""]
    return (
        f"{name}: given as --platform {platform}, but it looks like {like}: {why}; "
        f"pass --platform {guess or '…'} or leave --platform out to tell the platform from the text"
    )
