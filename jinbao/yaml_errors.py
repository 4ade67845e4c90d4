"""YAML syntax errors, at the line where the mistake was made.

libyaml notices an unclosed quote, '{' or '[' only where it runs out of text, often the end of
the file; its context mark says where the quoted value, the flow collection or the key began,
which is the line a person has to change. Both lines are named when they differ.
"""

from __future__ import annotations

import yaml

from . import secret_fields

# Contexts whose mark is where the unfinished thing began: (what it is, how to fix it).
_BEGAN = {
    "while scanning a quoted scalar": (
        "in the quoted value that begins on this line",
        "close the quote: a ' or \" is missing (or doubled) on this line",
    ),
    "while parsing a flow mapping": (
        "in the {…} that begins on this line",
        "add the missing '}', or a ',' between two entries, on this line",
    ),
    "while parsing a flow sequence": (
        "in the […] that begins on this line",
        "add the missing ']', or a ',' between two items, on this line",
    ),
    "while scanning a simple key": (
        "after the key that begins on this line",
        "add ':' and a space after the key on this line",
    ),
    "while scanning a block scalar": ("in the block text that begins on this line", "fix the | or > block here"),
    "while scanning an anchor": ("in the anchor (&name) on this line", "name anchors with letters, digits and '-'"),
    "while scanning an alias": ("in the alias (*name) on this line", "name aliases with letters, digits and '-'"),
    "while scanning a tag": ("in the tag (!name) on this line", "remove the tag"),
}
_DEFAULT_FIX = "fix the YAML syntax at this line (indentation, quotes, ':' spacing)"


def syntax_problem(e: yaml.MarkedYAMLError, text: str) -> tuple[int, str, str]:
    """(line, message, fix) for a YAML error from PyYAML or libyaml."""
    lines = text.split("\n")
    pmark, cmark = e.problem_mark, e.context_mark
    pline = pmark.line + 1 if pmark else None
    cline = cmark.line + 1 if cmark else None
    began = _BEGAN.get(e.context or "") if cline else None
    what = e.problem or e.context or "cannot be parsed"
    if e.context and e.problem and e.problem.startswith("but "):
        what = f"{e.context} {e.problem}"  # "expected a single document ... but found another"
    if began and cline is not None:  # began is only looked up with a context line
        line = cline
        where = f" at line {pline}" if pline and pline != cline else ""
        message, fix = f"YAML syntax: {what}{where}, {began[0]}", began[1]
    else:
        line = pline or cline or 1
        message, fix = f"YAML syntax: {what}", _DEFAULT_FIX
        if cline and line != cline and e.context and e.context.startswith("while "):
            # 'while parsing a block mapping' starts where the mapping does, often far above:
            # the line where the parser stopped is the one to look at, and that one is named.
            message += f" (in the {e.context.split(' a ', 1)[-1]} that begins at line {cline})"
        start = _runaway_scalar(lines, line) if "mapping values are not allowed" in str(what) else None
        if start:
            # 'b 1' on one line and 'c: 2' on the next read as one key 'b 1 c': the ':' is missing above.
            message = f"YAML syntax: {what} at line {line}: the text from this line runs on into it"
            fix, line = "add the missing ':' (and a space) after the key on this line", start
    here = lines[line - 1] if 0 < line <= len(lines) else ""
    if "\t" in here[: len(here) - len(here.lstrip())]:
        fix = "indent with spaces; YAML does not allow tabs for indentation"
    elif "another document" in str(what):
        fix = "keep one YAML document per file: remove the '---' line, or move what follows to its own file"
    elif "constructor for the tag" in str(what):
        fix = "remove the tag (an estate file holds plain values; secrets are env:, file: or vault: references)"
    # A tag, alias or anchor error quotes what was written: on a secret's line that is the secret.
    if any(secret_fields.secret_line(lines[n - 1]) for n in {line, pline, cline} if n and 0 < n <= len(lines)):
        message = secret_fields.scrub_quoted(message)
    return line, message, fix


def _runaway_scalar(lines: list[str], line: int) -> int | None:
    """The line where a key without ':' began, if the lines above `line` continue it."""
    start, j = None, line - 1
    while j >= 1:
        s = lines[j - 1].strip()
        if not s or s.startswith(("#", "-")) or ":" in s:
            break
        start, j = j, j - 1
    return start
