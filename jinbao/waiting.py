"""Waiting for a state by polling it: the one way jinbao waits (never sleep-and-hope)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from .errors import JinbaoError

T = TypeVar("T")


def until(
    what: str, check: Callable[[], T], timeout: float, every: float = 0.2, error: type[Exception] = JinbaoError
) -> T:
    """Poll check() until it returns something truthy and return that; after timeout seconds
    raise `error` naming `what`, so the message says what never happened."""
    deadline = time.time() + timeout
    while True:
        v = check()
        if v:
            return v
        if time.time() > deadline:
            raise error(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)
