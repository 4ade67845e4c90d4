"""Read one YAML file of compliance data with the inventory's line-aware parser."""

from __future__ import annotations

from pathlib import Path

import yaml

from jinbao.problems import ProblemList
from jinbao.yaml_errors import syntax_problem
from jinbao.yamlsrc import Origin, YamlDoc, YamlShapeError, parse


def shown(path: Path) -> str:
    """A path as a person finds it: relative to the working folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def load(path: Path, problems: ProblemList, check: str) -> YamlDoc | None:
    """The parsed file, or None after adding its syntax problem (file and line) to problems."""
    name = shown(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        problems.add(Origin(name, 1), "(file)", f"cannot read the file: {e}", "save it as UTF-8 text", check)
        return None
    try:
        return parse(text, name)
    except yaml.MarkedYAMLError as e:
        line, message, fix = syntax_problem(e, text)
        problems.add(Origin(name, line), "(yaml)", message, fix, check)
    except YamlShapeError as e:
        problems.add(Origin(name, e.line), "(yaml)", e.message, e.fix, check)
    return None
