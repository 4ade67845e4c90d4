"""Check a rendering with the platform's own parser before anything can push it.

`check(syntax, text)` imports `netconfig.checks.<syntax>` (the syntax is the entry template's name:
`frr`, `nftables`, `cisco_ios`, `huawei_vrp`, `h3c_comware`) and returns what its `check(text)`
finds: a list of `Finding`s, empty when the text passes. None means no checker exists for that
syntax.

Secret markers are replaced by a dummy value first: a checker sees a config as the device would.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from jinbao.secrets import resolve_secrets

from .finding import Finding

# Short enough for every field a secret fills: FRR's OSPF MD5 key takes at most 16 characters,
# net-snmp's keys at least 8.
DUMMY_SECRET = "jinbao-dummy-0"


def _module(syntax: str) -> ModuleType | None:
    name = f"{__name__}.{syntax}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name != name:
            raise  # the checker exists but needs something missing: say so, do not skip it
    return None


def has_checker(syntax: str) -> bool:
    return _module(syntax) is not None


def check(syntax: str, text: str) -> list[Finding] | None:
    """Problems the platform's checker finds in a rendered text; None when there is no checker."""
    mod = _module(syntax)
    if mod is None:
        return None
    found: list[Finding] = mod.check(resolve_secrets(text, lambda ref: DUMMY_SECRET))
    return found
