"""YAML that remembers where every value came from, and refuses shapes that would hurt us.

Validation errors must name file and line. PyYAML's composer keeps a mark on every node, so
we compose once, construct the plain data from the same nodes, and record the line of each
value keyed by its path (a tuple of keys and list indexes).

Before composing we look at the event stream, because libyaml's composer recurses in C and
crashes the interpreter (segfault, no traceback) on deeply nested flow collections, and
because aliases can expand a small file into billions of values (the "billion laughs").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from .secret_fields import secret_line

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# An estate file nests about six levels deep; 64 leaves room for any honest layout.
MAX_DEPTH = 64
# Values after expanding aliases. The province's biggest file has a few thousand; the
# 40,000-device national benchmark stays far below this.
MAX_VALUES = 1_000_000


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a value was written: a file (as given to the loader) and a 1-based line."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class Positions:
    """Lines of every value in one file, looked up by path; falls back to the nearest parent.

    A mapping entry is at the line of its key: `v3-monitor:` is where a person looks for a
    duplicate profile or a missing `auth_key`, not the first line of the block beneath it.
    Where a block value starts on a later line, that line is kept too, for problems about the
    value itself ("expected a mapping, found a list").
    """

    def __init__(self, file: str):
        self.file = file
        self.lines: dict[tuple, int] = {}
        self.value_lines: dict[tuple, int] = {}

    def at(self, path: tuple) -> Origin:
        path = tuple(path)
        while path and path not in self.lines:
            path = path[:-1]
        return Origin(self.file, self.lines.get(path, 1))

    def value_at(self, path: tuple) -> Origin:
        path = tuple(path)
        if path in self.value_lines:
            return Origin(self.file, self.value_lines[path])
        return self.at(path)


@dataclass
class YamlDoc:
    data: Any
    pos: Positions
    duplicate_keys: list[tuple[tuple, int]]
    empty: bool = False


class YamlShapeError(Exception):
    """Parseable YAML we refuse to load: too deep, too big through aliases, or self-referring."""

    def __init__(self, line: int, message: str, fix: str):
        super().__init__(message)
        self.line, self.message, self.fix = line, message, fix


def parse(text: str, shown_as: str) -> YamlDoc:
    """Parse one file's text. Raises yaml.YAMLError (with its mark) or YamlShapeError."""
    pos = Positions(shown_as)
    _check_depth(text)
    node = yaml.compose(text, Loader=_Loader)
    if node is None:
        return YamlDoc({}, pos, [], empty=True)
    _check_size(node)
    dups: list[tuple[tuple, int]] = []
    # Walk before constructing: the constructor flattens merge keys (<<) into the mapping in
    # place, after which merged keys would look written twice.
    _walk(node, (), None, pos, dups, set())
    constructor = yaml.constructor.SafeConstructor()
    data = constructor.construct_document(node)
    return YamlDoc(data, pos, dups)


_OPEN = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSE = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


_STANDARD_TAG = "tag:yaml.org,2002:"


def _tag_problem(ev, text: str) -> YamlShapeError | None:
    """A tag YAML's safe loader would obey: `!!binary` turns base64 into a name, `!!set` a mapping
    into a list, `!!str 0110` hides a number, `!!python/...` asks for objects. An estate file holds
    plain values, so any such tag is refused where it is written. Other tags (`!vault`) are the
    constructor's to refuse, as before."""
    tag = getattr(ev, "tag", None)
    if not tag or not (tag.startswith(_STANDARD_TAG) or tag == "!"):
        return None
    line = ev.start_mark.line + 1
    lines = text.split("\n")
    shown = "!!" + tag[len(_STANDARD_TAG) :] if tag != "!" else "!"
    # The line of a secret field may hold the secret itself in the tag.
    if 0 < line <= len(lines) and secret_line(lines[line - 1]):
        shown = "(value not shown)"
    return YamlShapeError(
        line,
        f"the YAML tag {shown} is not allowed: an estate file holds plain values, not typed or binary data",
        "remove the tag and write the value itself (quote it if YAML would read it as a number or a date)",
    )


def _check_depth(text: str) -> None:
    # libyaml's parser keeps its own stack, so walking events is safe at any depth.
    depth = 0
    for ev in yaml.parse(text, Loader=_Loader):
        bad_tag = _tag_problem(ev, text)
        if bad_tag is not None:
            raise bad_tag
        if isinstance(ev, _OPEN):
            depth += 1
            if depth > MAX_DEPTH:
                raise YamlShapeError(
                    ev.start_mark.line + 1,
                    f"the YAML nests deeper than {MAX_DEPTH} levels",
                    "flatten the structure; an estate file needs about six levels",
                )
        elif isinstance(ev, _CLOSE):
            depth -= 1


def _check_size(root) -> None:
    """Measure values and depth as they will be once aliases expand; refuse cycles and blow-ups.

    Each node is measured once (aliases share nodes), so this costs one pass over the file.
    """
    measured: dict[int, tuple[int, int]] = {}
    active: set[int] = set()

    def measure(node) -> tuple[int, int]:
        key = id(node)
        if key in measured:
            return measured[key]
        if isinstance(node, yaml.ScalarNode):
            return 1, 0
        if key in active:
            raise YamlShapeError(
                node.start_mark.line + 1,
                "an alias refers to the collection that contains it",
                "replace the alias (*name) with the values it should hold",
            )
        active.add(key)
        children = [c for kv in node.value for c in kv] if isinstance(node, yaml.MappingNode) else node.value
        count, depth = 1, 0
        for child in children:
            n, d = measure(child)
            count, depth = count + n, max(depth, d + 1)
        active.discard(key)
        line = node.start_mark.line + 1
        if count > MAX_VALUES:
            raise YamlShapeError(
                line,
                f"aliases expand this file to more than {MAX_VALUES:,} values",
                "write the values out, or use a site template or for_each instead of nested aliases",
            )
        if depth > MAX_DEPTH:
            raise YamlShapeError(
                line,
                f"aliases nest the data deeper than {MAX_DEPTH} levels",
                "write the values out instead of chaining aliases",
            )
        measured[key] = (count, depth)
        return count, depth

    measure(root)


# YAML 1.1 (PyYAML) reads a number with a leading zero as octal and one with colons as base 60:
# `vlan: 0110` is VLAN 72, `cost: 1:00` is 60. Nobody writing an estate means either, so such a
# plain scalar stays the text it was written as, and the schema refuses it with its field and line.
_SURPRISING_INT = re.compile(r"[-+]?(0[0-7_]+|[0-9][0-9_]*(:[0-5]?[0-9])+)")
_INT_TAG = "tag:yaml.org,2002:int"


def surprising_int(text: str) -> str | None:
    """What YAML 1.1 would have made of a number written like this, or None when it reads as written."""
    if not _SURPRISING_INT.fullmatch(text):
        return None
    # Build the one scalar alone: it is a number by the pattern, so this cannot fail.
    value = yaml.constructor.SafeConstructor().construct_yaml_int(yaml.ScalarNode(_INT_TAG, text))
    how = "octal" if ":" not in text else "base 60"
    return f"YAML 1.1 would read it as {value} ({how})"


def _walk(node, path: tuple, key_line: int | None, pos: Positions, dups: list, seen_nodes: set) -> None:
    line = node.start_mark.line + 1
    plain_int = isinstance(node, yaml.ScalarNode) and node.tag == _INT_TAG and not node.style
    if plain_int and _SURPRISING_INT.fullmatch(node.value):
        node.tag = "tag:yaml.org,2002:str"
    pos.lines[path] = key_line or line
    if key_line and key_line != line:
        pos.value_lines[path] = line
    # An aliased collection is walked once, where its anchor is; uses of the alias then fall
    # back to the line of the alias itself, which is where a person would look.
    if id(node) in seen_nodes:
        return
    seen_nodes.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: set = set()
        merged = []
        for knode, vnode in node.value:
            if not isinstance(knode, yaml.ScalarNode):
                continue
            key = knode.value
            if key == "<<" and knode.tag == "tag:yaml.org,2002:merge":
                merged.append(vnode)
                continue
            if key in seen:
                # PyYAML keeps the last value silently; a second 'mgmt_ip:' is almost always a typo.
                dups.append((path + (key,), knode.start_mark.line + 1))
            seen.add(key)
            _walk(vnode, path + (key,), knode.start_mark.line + 1, pos, dups, seen_nodes)
        for vnode in merged:
            _merge_lines(vnode, path, seen, pos)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, path + (i,), None, pos, dups, seen_nodes)


def _merge_lines(vnode, path: tuple, written: set, pos: Positions) -> None:
    """Keys merged in with `<<: *anchor` are at the anchor's lines; keys written beside `<<`
    override them (the YAML merge spec), so they are neither duplicates nor replaced here."""
    sources = vnode.value if isinstance(vnode, yaml.SequenceNode) else [vnode]
    for src in sources:
        if not isinstance(src, yaml.MappingNode):
            continue  # the constructor reports a merge of something that is not a mapping
        for knode, _ in src.value:
            if isinstance(knode, yaml.ScalarNode) and knode.value not in written:
                written.add(knode.value)
                pos.lines[path + (knode.value,)] = knode.start_mark.line + 1
