"""Read an estate folder: every *.yml under it, each validated against the file schema.

Schema errors are mapped back to file:line through yamlsrc.Positions. Sections from all files
are merged (lists concatenate, named maps must not repeat a name), each item keeping its source.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from . import estate_files
from .errors import InventoryError
from .problems import Problem, ProblemList
from .schema import InventoryFile
from .yamlsrc import Origin, Positions, YamlDoc, YamlShapeError, parse

REPO_ROOT = Path(__file__).resolve().parent.parent
INVENTORY_DIR = REPO_ROOT / "inventory"


@dataclass(frozen=True)
class Src:
    """Where an item of a section was written, to find the line of any of its fields."""

    pos: Positions
    path: tuple

    def at(self, *more) -> Origin:
        return self.pos.at(self.path + more)


@dataclass
class RawEstateFiles:
    estate: tuple[Any, Src] | None = None
    routing: tuple[Any, Src] | None = None
    snmp_profiles: dict[str, tuple[Any, Src]] = field(default_factory=dict)
    site_templates: dict[str, tuple[Any, Src]] = field(default_factory=dict)
    sites: list[tuple[Any, Src]] = field(default_factory=list)
    links: list[tuple[Any, Src]] = field(default_factory=list)
    policies: list[tuple[Any, Src]] = field(default_factory=list)
    dr_pairs: list[tuple[Any, Src]] = field(default_factory=list)
    root: Path = Path(".")


def estate_dir(name_or_path: str | os.PathLike) -> Path:
    """An estate is named (a folder under inventory/) or given as a path to its folder."""
    base = Path(os.environ.get("JINBAO_INVENTORY", INVENTORY_DIR))
    text = os.fspath(name_or_path)
    try:
        known = sorted(d.name for d in base.iterdir() if d.is_dir() and not d.name.startswith("."))
    except OSError:
        known = []
    # A bare name is an estate under inventory/ (the repo also has a lab/ code folder).
    if text in known:
        return base / text
    choices = f"use one of {', '.join(known) or '(none)'} or give a path to an estate folder"
    if "/" not in text and os.sep not in text:
        raise InventoryError([Problem(None, "estate", f"no estate named {text!r} under {base}", choices)])
    path = Path(text)
    if path.is_dir():
        return path
    if path.exists() or path.is_symlink():
        raise InventoryError([Problem(Origin(estate_files.shown(path), 1), "estate",
                                      f"{text!r} is a file, not an estate folder",
                                      f"give the folder that holds the estate's files, e.g. {str(path.parent)!r}")])
    raise InventoryError([Problem(None, "estate", f"there is no estate folder at {text!r}", choices)])


# How to fix each kind of schema error; {ctx} values come from pydantic's error context.
_FIXES = {
    "extra_forbidden": "remove the field or correct its spelling",
    "missing": "add this field",
    "literal_error": "use one of the allowed values",
    "ip_v4_address": "write a dotted IPv4 address such as 10.34.1.10",
    "ip_v4_network": "write an IPv4 network with its prefix, host bits zero, such as 10.34.0.0/16",
    "ip_v4_interface": "write an address with prefix length, such as 10.34.1.10/24",
    "string_pattern_mismatch": "use lower-case letters, digits and '-' (see docs/inventory.md)",
    "int_type": "write a whole number, without quotes",
    "int_parsing": "write a whole number",
    "int_from_float": "write a whole number",
    "bool_type": "write true or false",
    "bool_parsing": "write true or false",
    "greater_than_equal": "use {ge} or more",
    "greater_than": "use a value above {gt}",
    "less_than_equal": "use {le} or less",
    "less_than": "use a value below {lt}",
    "too_short": "give at least {min_length} item(s)",
    "too_long": "give at most {max_length}",
    "string_too_short": "write a value; an empty one means nothing",
    "string_too_long": "shorten it to {max_length} characters",
    "string_type": "write text; quote it if YAML reads it as a number, date or null",
    "list_type": "write a list: one '- item' per line, or [a, b]",
    "dict_type": "write a mapping of 'key: value' lines",
    "model_type": "write a mapping of 'key: value' lines",
    "model_attributes_type": "write a mapping of 'key: value' lines",
}

# Value errors carry their own message; these say what form each field wants.
_FIELD_FIXES = {
    "services": "write icmp, tcp/PORT, udp/PORT or tcp/LOW-HIGH with ports 1-65535, e.g. tcp/443",
    "domain": "write a DNS domain in lower case, e.g. hrss.ah.example",
    "ospf_area": "write auto, a number 0-4294967295 or a dotted area id such as 0.0.0.1",
    "rto": "write a duration such as 15m, 4h or 2d",
    "rpo": "write a duration such as 0s, 30m or 1h",
    "loopback": "write true, false or an address of the site's loopback pool",
    "supernet": "use a private block (RFC 1918) such as 10.34.0.0/16",
    "block": "use a private block (RFC 1918) such as 10.35.0.0/16",
}

_BOUNDS = {"greater_than_equal": "below the smallest allowed value,", "greater_than": "not above",
           "less_than_equal": "above the largest allowed value,", "less_than": "not below"}

_WANT = {"model_type": "a mapping", "dict_type": "a mapping", "model_attributes_type": "a mapping",
         "list_type": "a list", "string_type": "text", "int_type": "a whole number", "bool_type": "true or false"}

_KINDS = {dict: "a mapping", list: "a list", str: "text", int: "a number", float: "a number", bool: "true/false",
          type(None): "nothing"}


def _fmt_loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _schema_problems(err: ValidationError, pos: Positions, problems: ProblemList) -> None:
    for e in err.errors():
        loc = tuple(p for p in e["loc"])
        # Union members show up as extra loc parts ('bool', 'function-after[...]'); the line of
        # the nearest real field is what a person needs.
        clean = tuple(p for p in loc if isinstance(p, int) or "[" not in str(p) and p not in ("bool", "str", "int"))
        key = next((p for p in reversed(clean) if isinstance(p, str)), "")
        kind = e["type"]
        msg = e["msg"]
        try:
            fix = _FIXES.get(kind, "correct the value").format(**(e.get("ctx") or {}))
        except (KeyError, IndexError):
            fix = _FIXES.get(kind, "correct the value")
        if kind == "value_error":
            msg = msg.removeprefix("Value error, ")
            fix = _FIELD_FIXES.get(key, "correct the value")
            if "control character" in msg:
                fix = "retype it; a tab or an escape sequence was pasted in"
        elif kind == "string_pattern_mismatch":
            # The regex means nothing to an operator; say what form is wanted instead.
            msg = f"{e['input']!r} is not a valid {key.rstrip('s') or 'value'}"
        elif kind == "too_short" and not e["input"]:
            msg = "the list is empty"
        elif kind in _BOUNDS:
            # Pydantic does not say what was written; the value is what a person looks for.
            bound = next(iter((e.get("ctx") or {}).values()), "?")
            msg = f"{e['input']!r} is {_BOUNDS[kind]} {bound}"
        elif kind in _WANT:
            # Pydantic names its own classes ('RawEstate'); say what YAML wrote instead.
            found = _KINDS.get(type(e["input"]), "something else")
            if isinstance(e["input"], (str, int, float, bool)):
                found += f" {e['input']!r}"
            msg = f"expected {_WANT[kind]}, found {found}"
        problems.add(pos.at(clean), _fmt_loc(clean), msg, fix)


def read_estate(name_or_path: str | os.PathLike) -> RawEstateFiles:
    """Parse and schema-check every file of an estate. Raises InventoryError with all problems."""
    root = estate_dir(name_or_path)
    problems = ProblemList()
    raw = RawEstateFiles(root=root)
    files = estate_files.find(root, problems)
    if not files and not problems:
        problems.add(Origin(estate_files.shown(root), 1), "estate", "the estate folder has no .yml files",
                     "add estate.yml and the site, link and policy files (see inventory/lab)")
    for path in files:
        shown = estate_files.shown(path)
        text = estate_files.read_text(path, shown, problems)
        doc = _parse(text, shown, problems) if text is not None else None
        if doc is None:
            continue
        for keypath, line in doc.duplicate_keys:
            problems.add(Origin(shown, line), _fmt_loc(keypath), "key given twice in one mapping",
                         "keep one of the two; YAML would silently use the last")
        if doc.empty or doc.data == {}:
            what = "is empty" if not text.strip() else "holds no sections, only comments" if doc.empty else "is an empty mapping"
            problems.add(Origin(shown, 1), "(file)", f"the file {what}",
                         "add its sections (estate:, sites:, links: ...) or delete the file")
            continue
        if not isinstance(doc.data, dict):
            problems.add(doc.pos.at(()), "(file)",
                         f"the file must be a mapping of sections, not {_KINDS.get(type(doc.data), 'a value')}",
                         "start the file with a section such as 'sites:' or 'links:'")
            continue
        try:
            parsed = InventoryFile.model_validate(doc.data)
        except ValidationError as e:
            _schema_problems(e, doc.pos, problems)
            continue
        _merge(raw, parsed, doc.pos, problems)
    if raw.estate is None and not problems:
        problems.add(Origin(estate_files.shown(root), 1), "estate", "no file defines the 'estate:' section",
                     "add estate.yml with name, domain, supernet, management and links")
    if problems:
        problems.sort(key=lambda p: (p.origin.file, p.origin.line) if p.origin else ("", 0))
        raise InventoryError(problems.folded())
    return raw


def _parse(text: str, shown: str, problems: ProblemList) -> YamlDoc | None:
    try:
        return parse(text, shown)
    except YamlShapeError as e:
        problems.add(Origin(shown, e.line), "(yaml)", e.message, e.fix)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else 1
        what = e.problem or e.context or "cannot be parsed"
        if e.context and e.problem and e.problem.startswith("but "):
            what = f"{e.context} {e.problem}"  # "expected a single document ... but found another"
        fix = "fix the YAML syntax at this line (indentation, quotes, ':' spacing)"
        lines = text.split("\n")
        here = lines[line - 1] if 0 < line <= len(lines) else ""
        if "\t" in here[:len(here) - len(here.lstrip())]:
            fix = "indent with spaces; YAML does not allow tabs for indentation"
        elif "another document" in str(what):
            fix = "keep one YAML document per file: remove the '---' line, or move what follows to its own file"
        elif "constructor for the tag" in str(what):
            fix = "remove the tag (an estate file holds plain values; secrets are env:, file: or vault: references)"
        problems.add(Origin(shown, line), "(yaml)", f"YAML syntax: {what}", fix)
    except yaml.reader.ReaderError as e:
        line = text.count("\n", 0, e.position) + 1
        problems.add(Origin(shown, line), "(yaml)", f"YAML cannot hold character {e.character!r} (control characters "
                     "are not allowed)", "remove the character; is this really a YAML text file?")
    except yaml.YAMLError as e:
        problems.add(Origin(shown, 1), "(yaml)", f"YAML: {e}", "fix the YAML syntax")
    except RecursionError:
        problems.add(Origin(shown, 1), "(yaml)", "the YAML nests too deeply to read", "flatten the structure")
    return None


def _merge(raw: RawEstateFiles, parsed: InventoryFile, pos: Positions, problems: ProblemList) -> None:
    for single in ("estate", "routing"):
        val = getattr(parsed, single)
        if val is None:
            continue
        if getattr(raw, single) is not None:
            prev = getattr(raw, single)[1].at()
            problems.add(pos.at((single,)), single, f"'{single}' is already defined at {prev}",
                         f"keep one '{single}:' section for the estate")
            continue
        setattr(raw, single, (val, Src(pos, (single,))))
    for mapping in ("snmp_profiles", "site_templates"):
        target = getattr(raw, mapping)
        folded = {n.casefold(): n for n in target}
        for name, val in (getattr(parsed, mapping) or {}).items():
            # 'V3-monitor' beside 'v3-monitor' is a typo waiting to be referenced.
            same = folded.get(name.casefold())
            if same is not None:
                problems.add(pos.at((mapping, name)), f"{mapping}.{name}",
                             f"already defined at {target[same][1].at()}"
                             + (f" as {same!r}" if same != name else ""), "rename one of the two")
                continue
            target[name] = (val, Src(pos, (mapping, name)))
            folded[name.casefold()] = name
    for seq in ("sites", "links", "policies", "dr_pairs"):
        for i, val in enumerate(getattr(parsed, seq) or []):
            getattr(raw, seq).append((val, Src(pos, (seq, i))))
