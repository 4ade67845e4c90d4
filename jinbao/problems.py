"""A problem found in the inventory: where, which field, what is wrong, and how to fix it."""
from __future__ import annotations

from dataclasses import dataclass

from .yamlsrc import Origin


@dataclass(frozen=True, slots=True)
class Problem:
    origin: Origin | None
    field: str
    message: str
    fix: str
    check: str = "schema"

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
        self.append(Problem(origin, field, message, fix, check))
