"""Structure checks on hier_config's reading of a config: every child line sits in a view that
allows it, indentation steps one level at a time, and each section is closed before the next.

A device reads a config as a walk through views (system view → interface view → …). A child
line under the wrong parent is either rejected ("Unrecognized command") or, worse, applied in
the wrong view; an unclosed section makes the next global command run inside it.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from hier_config import HConfig, HConfigChild

from netconfig.checks.finding import Finding
from netconfig.checks.loader import Line, Loaded


@dataclass(frozen=True)
class View:
    """A section kind: the line that opens it, the child lines it allows, and its nested views."""

    opener: str
    children: tuple[str, ...]
    subviews: tuple[View, ...] = ()

    def matches(self, text: str) -> bool:
        """Whether `text` opens this view."""
        return re.search(self.opener, text) is not None

    def allows(self, text: str) -> bool:
        """Whether `text` may stand in this view as a plain line."""
        return any(re.search(p, text) for p in self.children)


def _view_for(text: str, views: tuple[View, ...]) -> View | None:
    return next((v for v in views if v.matches(text)), None)


def _walk(
    node: HConfig | HConfigChild, views: tuple[View, ...], where: dict[tuple[str, ...], Line], out: list[Finding]
) -> None:
    """Check each section's children against the view its opening line selects, recursively."""
    for child in node.children:
        if not child.children:
            continue
        view = _view_for(child.text, views)
        if view is None:
            first = child.children[0]
            line = where.get(tuple(first.path()))
            out.append(
                Finding(
                    line.number if line else 0,
                    first.text,
                    "structure.not-a-view",
                    f"{child.text!r} opens no view on this platform, so its indented lines are not its sub-commands",
                    "put the lines at the top level, or under the section they belong to",
                )
            )
            continue
        for grandchild in child.children:
            if grandchild.children or _view_for(grandchild.text, view.subviews):
                continue
            if not view.allows(grandchild.text):
                line = where.get(tuple(grandchild.path()))
                out.append(
                    Finding(
                        line.number if line else 0,
                        grandchild.text,
                        "structure.not-in-view",
                        f"not a command of the view opened by {child.text!r}",
                        "move the line to the view it belongs to, or fix its spelling",
                    )
                )
        _walk(child, view.subviews, where, out)


def _indentation(loaded: Loaded) -> list[Finding]:
    out = []
    for line in loaded.lines:
        if line.indent < 0:
            out.append(
                Finding(
                    line.number,
                    line.text,
                    "structure.indent",
                    "a tab in the indentation",
                    "indent with one space per level",
                )
            )
            continue
        want = line.parent.indent + 1 if line.parent else 0
        # Comware's globals and IOS's top lines sit at column 0 once preprocessed; a child is
        # exactly one space deeper than its parent, as every one of these CLIs prints it.
        if line.parent and line.indent != want:
            out.append(
                Finding(
                    line.number,
                    line.text,
                    "structure.indent",
                    f"indented {line.indent} spaces under a parent at {line.parent.indent}",
                    f"indent it {want} space(s)",
                )
            )
    return out


def _first_word(text: str) -> str:
    return text.split()[0]


def _closure(loaded: Loaded) -> list[Finding]:
    """A top-level section must be closed before the next top-level line.

    Display output groups sibling sections of one kind without a separator (VRP's
    `user-interface con 0` then `user-interface vty 0 4`, IOS's `line con 0` then `line vty 0 4`),
    and the device reads that fine: a new section of the same kind replaces the open one. So only
    a change of kind needs the closer.
    """
    out = []
    top = loaded.top
    for section, following in itertools.pairwise(top):
        if not section.children or section.closed:
            continue
        if _first_word(following.text) == _first_word(section.text):
            continue
        closers = " or ".join(sorted(f"'{c}'" for c in loaded.dialect.closers))
        out.append(
            Finding(
                following.number,
                following.text,
                "structure.unclosed",
                f"section {section.text!r} (line {section.number}) is still open, so this line would be read inside it",
                f"close the section with {closers} first",
            )
        )
    return out


def check_structure(loaded: Loaded, views: tuple[View, ...]) -> list[Finding]:
    """Structure findings: hier_config parse errors, views, indentation, closure, stray exits."""
    out = [
        Finding(n, "", "structure.parse", f"hier_config cannot read the config: {why}", "fix the config text")
        for n, why in loaded.errors
    ]
    for number, text in loaded.stray:
        out.append(
            Finding(
                number,
                text,
                "structure.stray-exit",
                f"{text!r} at the top level closes no section: it leaves the configuration view"
                " and every later line is rejected",
                "remove it, or indent it under the section it closes",
            )
        )
    if loaded.tree is not None:
        _walk(loaded.tree, views, loaded.by_path(), out)
    out += _indentation(loaded)
    out += _closure(loaded)
    return out
