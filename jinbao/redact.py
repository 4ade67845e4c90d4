"""Secrets out of everything jinbao stores or prints from a device: backups, plans, drift reports,
driver diffs and errors, `config get … config`.

Two passes, in this order:
1. **Known values.** Every secret reference the estate holds (`jinbao.secrets.estate_refs`),
   resolved for the device's target, is replaced by its `<secret REF>` marker, wherever it
   appears. This is exact and says which secret was there, so a diff against the intent (which
   carries the same markers) shows no difference where the device holds the intended secret.
2. **Grammar.** A secret nobody referenced (typed by hand on a device, or a rotated key whose
   old value still runs) is caught by the grammar of its line: for each secret-bearing construct
   of FRR, IOS, VRP, Comware, net-snmp and the servers' PAM/LDAP files, `jinbao.redact_grammar`
   knows which word is the secret. Its value becomes `<redacted>`. `redact(text)` is this pass alone, for text of
   a device whose estate is not at hand (a driver's diff).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from jinbao.errors import SecretError
from jinbao.model import Estate
from jinbao.redact_grammar import REDACTED, mask
from jinbao.secrets import estate_refs, marker
from jinbao.target import Target

__all__ = ["REDACTED", "Redactor", "redact"]


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
    """Pass 2 alone: every secret value the text's own syntax reveals becomes <redacted>
    (jinbao.redact_grammar says, construct by construct, which word is the secret)."""
    return mask(text)
