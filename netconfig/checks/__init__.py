"""Check a rendering with the platform's own parser before anything can push it.

`check(syntax, text)` imports `netconfig.checks.<syntax>` (or its short name: `cisco_ios` → `ios`,
`huawei_vrp` → `vrp`, `h3c_comware` → `comware`) and returns what its `check(text)` finds: a list
of problems, empty when the text passes. None means no checker exists for that syntax.

Secret markers are replaced by a dummy value first: a checker sees a config as the device would.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType

from jinbao.secrets import resolve_secrets

# Short enough for every field a secret fills: FRR's OSPF MD5 key takes at most 16 characters,
# net-snmp's keys at least 8.
DUMMY_SECRET = "jinbao-dummy-0"


@dataclass(frozen=True)
class CheckProblem:
    """What a checker found: the line of the rendered file (None: the whole file) and why."""

    line: int | None
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


def _module(syntax: str) -> ModuleType | None:
    for name in dict.fromkeys((syntax, syntax.rsplit("_", 1)[-1])):
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{name}":
                raise  # the checker exists but needs something missing: say so, do not skip it
    return None


def has_checker(syntax: str) -> bool:
    return _module(syntax) is not None


def check(syntax: str, text: str) -> Sequence[object] | None:
    """Problems the platform's checker finds in a rendered text; None when there is no checker."""
    mod = _module(syntax)
    if mod is None:
        return None
    return list(mod.check(resolve_secrets(text, lambda ref: DUMMY_SECRET)))
