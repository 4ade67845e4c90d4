"""What a check reports: one line of a config that a device would reject or MLPS level 3 forbids."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    """One problem in a rendered config.

    `line` is 1-based; 0 means the config as a whole (something required is missing).
    """

    line: int
    text: str
    rule: str
    message: str
    fix: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "config"
        shown = f": {self.text}" if self.text else ""
        return f"{where}{shown} [{self.rule}] {self.message} (fix: {self.fix})"
