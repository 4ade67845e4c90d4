"""YAML that remembers where every value came from.

Validation errors must name file and line. PyYAML's composer keeps a mark on every node, so
we compose once, construct the plain data from the same nodes, and record the line of each
value keyed by its path (a tuple of keys and list indexes).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a value was written: a file (as given to the loader) and a 1-based line."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class Positions:
    """Lines of every value in one file, looked up by path; falls back to the nearest parent."""

    def __init__(self, file: str):
        self.file = file
        self.lines: dict[tuple, int] = {}

    def at(self, path: tuple) -> Origin:
        path = tuple(path)
        while path and path not in self.lines:
            path = path[:-1]
        return Origin(self.file, self.lines.get(path, 1))


@dataclass
class YamlDoc:
    data: Any
    pos: Positions
    duplicate_keys: list[tuple[tuple, int]]


def load(path: Path, shown_as: str | None = None) -> YamlDoc:
    """Parse one YAML file. Raises yaml.YAMLError (with its own mark) on syntax errors."""
    text = Path(path).read_text(encoding="utf-8")
    pos = Positions(shown_as or str(path))
    node = yaml.compose(text, Loader=_Loader)
    if node is None:
        return YamlDoc({}, pos, [])
    constructor = yaml.constructor.SafeConstructor()
    data = constructor.construct_document(node)
    dups: list[tuple[tuple, int]] = []
    _walk(node, (), pos.lines, dups)
    return YamlDoc(data, pos, dups)


def _walk(node, path: tuple, lines: dict, dups: list) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen = set()
        for knode, vnode in node.value:
            key = knode.value
            if key in seen:
                # PyYAML keeps the last value silently; a second 'mgmt_ip:' is almost always a typo.
                dups.append((path + (key,), knode.start_mark.line + 1))
            seen.add(key)
            _walk(vnode, path + (key,), lines, dups)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, path + (i,), lines, dups)
