"""A problem found in the inventory: where, which field, what is wrong, and how to fix it."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from dataclasses import field as dc_field

from .yamlsrc import Origin


@dataclass(frozen=True, slots=True)
class Problem:
    origin: Origin | None
    field: str
    message: str
    fix: str
    check: str = "schema"
    # Which check said it (code and line): repeats from one YAML line fold only with their like.
    said_by: tuple | None = dc_field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        where = str(self.origin) if self.origin else "<estate>"
        return f"{where}: {self.field}: {self.message} (fix: {self.fix})"

    def as_dict(self) -> dict:
        return {
            "file": self.origin.file if self.origin else None,
            "line": self.origin.line if self.origin else None,
            "field": self.field,
            "check": self.check,
            "message": self.message,
            "fix": self.fix,
        }


class ProblemList(list):
    """Collects problems; checks append and carry on, so one pass reports everything."""

    def add(self, origin, field, message, fix, check="schema") -> None:
        caller = sys._getframe(1)
        self.append(Problem(origin, field, message, fix, check, (caller.f_code, caller.f_lineno)))

    def folded(self) -> list[Problem]:
        """One problem per line and field, in order.

        A template line or a for_each entry is met once per site it makes; a wrong estate-wide
        setting once per site or device that uses it. The engineer changes one line, so that
        line is reported once, saying how many more it caused.
        """
        groups: dict[tuple, list[Problem]] = {}
        for p in self:
            key = (p.origin.file, p.origin.line, p.field) if p.origin else (None, id(p), p.field)
            groups.setdefault(key, []).append(p)
        out = []
        for same in groups.values():
            # Two different checks faulting one line (a management block both too small and
            # overlapping the supernet) are both said, in one problem for that line and field.
            alike: dict = {}
            for p in same:
                alike.setdefault(p.said_by or id(p), []).append(p)
            messages, fixes = [], []
            for ps in alike.values():
                more = f" (and {len(ps) - 1} more like it from this line)" if len(ps) > 1 else ""
                messages.append(ps[0].message + more)
                if ps[0].fix not in fixes:
                    fixes.append(ps[0].fix)
            first = same[0]
            if len(same) > 1:
                first = Problem(first.origin, first.field, "; also, ".join(messages), "; ".join(fixes), first.check)
            out.append(first)
        return out
