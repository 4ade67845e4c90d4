"""The checks `jinbao inventory validate` runs, one small module per concern.

`written` looks at what was written, before templates and for_each expand, so each entry is
reported once at its own line. The others look at the resolved estate; they take a `Where`
(from resolve) to name the line of one field, and fall back to an item's origin without it.
"""

from __future__ import annotations

from ..loader import Src
from ..yamlsrc import Origin


def at(src: Src | None, fallback: Origin | None, *fields) -> Origin | None:
    """The line of a field of an item, or the item's own line when its source is unknown."""
    return src.at(*fields) if src is not None else fallback


def was_written(src: Src | None, *fields) -> bool:
    """Whether the field was written in the YAML (not defaulted, not made up by the resolver)."""
    return src is not None and (src.path + fields) in src.pos.lines
