"""Read one YAML file of compliance data with the inventory's line-aware parser, strictly.

Every YAML file compliance reads (rules, clauses, waivers, the CA's ca.yml) is loaded here, so
each refusal is said the same way, at its file and line: a FIFO, a device or an oversized file
(compliance/inputs.py), a NUL byte or another character YAML forbids, a date that does not exist
(`2026-02-30`), a key written twice in one mapping (PyYAML keeps the second silently: a second
`expiry:` would extend a waiver).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from jinbao.problems import ProblemList
from jinbao.yaml_errors import syntax_problem
from jinbao.yamlsrc import Origin, YamlDoc, YamlShapeError, parse

from .inputs import InputFileError, read_text


def shown(path: Path) -> str:
    """A path as a person finds it: relative to the working folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except (ValueError, OSError, RuntimeError):
        return str(path)


def load(path: Path, problems: ProblemList, check: str) -> YamlDoc | None:
    """The parsed file, or None after adding its problems (file, line, field, fix) to problems.
    A duplicate key is a problem too, but the document is still returned so that every other
    problem of the file is found in the same pass."""
    name = shown(path)
    try:
        text = read_text(path)
    except InputFileError as e:
        problems.add(Origin(name, 1), "(file)", e.why, e.fix, check)
        return None
    if "\x00" in text:
        at = text.index("\x00")
        line = text.count("\n", 0, at) + 1
        problems.add(
            Origin(name, line),
            "(file)",
            f"a NUL byte at line {line}, column {at - (text.rfind(chr(10), 0, at) + 1) + 1}",
            "save the file as plain UTF-8 text (the NUL bytes are damage, not content)",
            check,
        )
        return None
    try:
        doc = parse(text, name)
    except yaml.MarkedYAMLError as e:
        line, message, fix = syntax_problem(e, text)
        problems.add(Origin(name, line), "(yaml)", message, fix, check)
        return None
    except yaml.reader.ReaderError as e:
        line = text.count("\n", 0, max(e.position, 0)) + 1
        problems.add(
            Origin(name, line),
            "(yaml)",
            f"the character {e.character!r} at line {line} is not allowed in YAML",
            "remove the control character; save the file as plain UTF-8 text",
            check,
        )
        return None
    except YamlShapeError as e:
        problems.add(Origin(name, e.line), "(yaml)", e.message, e.fix, check)
        return None
    except (ValueError, TypeError, OverflowError) as e:
        # A value the resolver took for a date that does not exist: PyYAML raises a bare
        # ValueError with no line, so the line is found again by constructing each date alone.
        line, value = _bad_scalar(text)
        problems.add(
            Origin(name, line),
            "(yaml)",
            f"{value!r} is not a valid date or time ({e})" if value is not None else f"a value cannot be read: {e}",
            "write a real date as YYYY-MM-DD (or quote the value to keep it as text)",
            check,
        )
        return None
    for key_path, line in doc.duplicate_keys:
        key = key_path[-1]
        problems.add(
            Origin(name, line),
            str(key),
            f"the key {key!r} is given again here, in a mapping that already has it",
            f"keep one `{key}:`; YAML keeps only the last, silently",
            check,
        )
    return doc


def _bad_scalar(text: str) -> tuple[int, str | None]:
    """(line, value) of the first scalar that cannot be constructed, else (1, None)."""
    ctor = yaml.constructor.SafeConstructor()
    try:
        root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return 1, None
    stack = [root] if root is not None else []
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            try:
                ctor.construct_object(node, deep=True)
            except Exception:
                return node.start_mark.line + 1, node.value
        elif isinstance(node, yaml.MappingNode):
            stack.extend(reversed([c for kv in node.value for c in kv]))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(reversed(node.value))
    return 1, None
