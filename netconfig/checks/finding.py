"""What a check reports: one line of a config that a device would reject or MLPS level 3 forbids.

Every checker returns these, whether its verdict comes from the platform's own parser (FRR's
`vtysh --dryrun`, `nft -c`) or from jinbao's rule tables for the vendor CLIs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    """One problem in a rendered config.

    `line` is 1-based; 0 means the config as a whole (something required is missing, or the
    parser failed without naming a line). `rule` names who found it (`vrp.stelnet`, `frr.vtysh`);
    `fix` is empty when the finder cannot say more than its message.
    """

    line: int
    text: str
    rule: str
    message: str
    fix: str = ""

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "config"
        shown = f": {self.text}" if self.text else ""
        fix = f" (fix: {self.fix})" if self.fix else ""
        return f"{where}{shown} [{self.rule}] {self.message}{fix}"


def line_text(text: str, number: int) -> str:
    """The config's line `number` (1-based), stripped; empty when there is none."""
    lines = text.splitlines()
    return lines[number - 1].strip() if 0 < number <= len(lines) else ""
