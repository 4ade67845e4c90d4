"""Reading a vendor config twice: once into numbered lines (so a finding can name its line), once
into hier_config's hierarchy (the same parser the plan's remediation uses).

A `Dialect` is what differs between the CLI families: which hier_config driver reads it, which
lines close a section, which lines are comments. Each platform module defines one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from hier_config import HConfig, get_hconfig
from hier_config.exceptions import DuplicateChildError
from hier_config.platforms.driver_base import HConfigDriverBase


@dataclass(frozen=True)
class Dialect:
    """How one platform's config text is laid out."""

    name: str
    driver: Callable[[], HConfigDriverBase]
    # Lines that end a section: '#'/'quit' on VRP and Comware, '!'/'exit' on IOS.
    closers: frozenset[str]
    # Lines the device ignores or prints as decoration ('!Software Version …', '#', '!').
    comment: re.Pattern[str]
    # Top-level lines that end the whole config ('return' on VRP/Comware, 'end' on IOS).
    terminators: frozenset[str]
    # Turns the text into the layout the line scanner and hier_config both read (Comware
    # indents its global commands by one space; see h3c_comware.dedent_global_blocks).
    preprocess: Callable[[str], str] = lambda text: text


@dataclass(eq=False)
class Line:
    """A command line of the config, with the section it sits in."""

    number: int
    indent: int
    text: str
    parent: Line | None
    children: list[Line] = field(default_factory=list)
    # A closer ('#', '!', 'quit', 'exit') came after this section's last child.
    closed: bool = False

    @property
    def path(self) -> tuple[str, ...]:
        """The texts from the top-level line down to this one (how hier_config names a child)."""
        up = self.parent.path if self.parent else ()
        return (*up, self.text)

    def child(self, pattern: re.Pattern[str]) -> Line | None:
        """The first direct child matching `pattern`, if any."""
        return next((c for c in self.children if pattern.search(c.text)), None)


@dataclass
class Loaded:
    """A config read both ways."""

    dialect: Dialect
    lines: list[Line]  # every command line, in order
    top: list[Line]  # the top-level ones
    tree: HConfig | None  # None when hier_config could not read it (see `errors`)
    errors: list[tuple[int, str]]  # (line, why) from hier_config
    duplicates: list[Line]  # lines that repeat an earlier line at the same place
    stray: list[tuple[int, str]]  # (line, text) of a 'quit'/'exit' that closed nothing

    def by_path(self) -> dict[tuple[str, ...], Line]:
        """First line of each path, to give hier_config's children their line numbers."""
        seen: dict[tuple[str, ...], Line] = {}
        for line in self.lines:
            seen.setdefault(line.path, line)
        return seen


def _is_banner(text: str) -> bool:
    return text.startswith("banner ") and len(text.split()) >= 3


def scan(dialect: Dialect, text: str) -> tuple[list[Line], list[Line], list[tuple[int, str]]]:
    """Numbered command lines with their sections; comments, closers and banner bodies dropped.

    Also returns the closers that closed nothing (a top-level 'quit' or 'exit').
    """
    stray: list[tuple[int, str]] = []
    lines: list[Line] = []
    top: list[Line] = []
    stack: list[Line] = []
    banner_end: str | None = None
    for number, raw in enumerate(dialect.preprocess(text).splitlines(), start=1):
        if banner_end is not None:
            # An IOS banner runs to its delimiter; its body is text, not commands.
            if banner_end in raw:
                banner_end = None
            continue
        body = raw.rstrip()
        stripped = body.lstrip(" \t")
        if not stripped:
            continue
        words = " ".join(stripped.split())
        indent = len(body) - len(stripped)
        if words in ("quit", "exit") and words in dialect.closers:
            # 'quit' closes the section it is indented under (hier_config reads it as that
            # section's last child). At the top it would leave system view instead.
            while stack and stack[-1].indent >= indent:
                stack.pop()
            if stack:
                stack.pop().closed = True
            else:
                stray.append((number, words))
            continue
        if words in dialect.closers or dialect.comment.match(stripped):
            # '#' or '!' in the first column ends every open section; indented ones are decoration.
            if indent == 0 and stack:
                stack[0].closed = True
                stack.clear()
            continue
        while stack and stack[-1].indent >= indent:
            stack.pop()
        line = Line(number, indent, words, stack[-1] if stack else None)
        if "\t" in body[:indent]:
            line.indent = -1  # marks a tab: structure reports it
        (line.parent.children if line.parent else top).append(line)
        lines.append(line)
        stack.append(line)
        if _is_banner(words):
            delim = words.split()[2]
            delim = delim[:2] if delim.startswith("^") else delim[:1]
            rest = words.split(None, 2)[2][len(delim) :]
            banner_end = None if delim in rest else delim
    return lines, top, stray


def _duplicates(lines: list[Line]) -> list[Line]:
    seen: set[tuple[str, ...]] = set()
    dups = []
    for line in lines:
        if line.path in seen:
            dups.append(line)
        seen.add(line.path)
    return dups


def _without(text: str, dialect: Dialect, drop: list[Line]) -> str:
    """The text without the duplicated lines (and their children), so hier_config can read the rest."""
    numbers: set[int] = set()

    def mark(line: Line) -> None:
        numbers.add(line.number)
        for c in line.children:
            mark(c)

    for line in drop:
        mark(line)
    kept = [raw for n, raw in enumerate(dialect.preprocess(text).splitlines(), start=1) if n not in numbers]
    return "\n".join(kept) + "\n"


def hierarchy(dialect: Dialect, text: str) -> HConfig:
    """hier_config's reading of `text` with the dialect's driver (raises on what it cannot read)."""
    return get_hconfig(dialect.driver(), dialect.preprocess(text))


def load(dialect: Dialect, text: str) -> Loaded:
    """Read `text` into numbered lines and into hier_config's tree, keeping going past problems."""
    lines, top, stray = scan(dialect, text)
    dups = _duplicates(lines)
    errors: list[tuple[int, str]] = []
    tree: HConfig | None
    try:
        # hier_config refuses a repeated section outright; the duplicates are reported by the
        # syntax rules with their line numbers, and the rest is still checked.
        tree = get_hconfig(dialect.driver(), _without(text, dialect, dups) if dups else dialect.preprocess(text))
    except (DuplicateChildError, ValueError) as e:
        tree = None
        errors.append((0, str(e)))
    return Loaded(dialect, lines, top, tree, errors, dups, stray)
