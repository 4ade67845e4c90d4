"""load_estate(): the one entry point for reading an estate. Validate first, then trust it."""

from __future__ import annotations

import os

from .errors import InventoryError
from .loader import read_estate
from .model import Estate
from .problems import ProblemList
from .resolve import resolve
from .validate import validate


def load_estate(name_or_path: str | os.PathLike = "province") -> Estate:
    """Load, resolve and validate an estate. Raises InventoryError listing every problem.

    Commands call this before touching any device, so nothing is half-applied on bad input.
    """
    raw = read_estate(name_or_path)
    estate, problems, where = resolve(raw)
    problems.extend(raw.problems)
    validate(estate, problems, where=where, raw=raw)
    if problems:
        raise InventoryError(ProblemList(sorted(problems, key=_where)).folded())
    return estate


def _where(p):
    return (p.origin.file, p.origin.line) if p.origin else ("", 0)
