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

from .errors import InventoryError
from .problems import Problem, ProblemList
from .schema import InventoryFile
from .yamlsrc import Origin, Positions, load

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
    text = str(name_or_path)
    # A bare name is an estate under inventory/ (the repo also has a lab/ code folder).
    if "/" not in text and (base / text).is_dir():
        return base / text
    if "/" in text and Path(text).is_dir():
        return Path(text)
    known = sorted(d.name for d in base.iterdir() if d.is_dir()) if base.is_dir() else []
    raise InventoryError([
        Problem(None, "estate", f"no estate named {name_or_path!r} under {base}",
                f"use one of {', '.join(known) or '(none)'} or give a path to an estate folder")
    ])


_FIXES = {
    "extra_forbidden": "remove the field or correct its spelling",
    "missing": "add this field",
    "literal_error": "use one of the allowed values",
    "ip_v4_address": "write a dotted IPv4 address such as 10.34.1.10",
    "ip_v4_network": "write an IPv4 network with its prefix, host bits zero, such as 10.34.0.0/16",
    "ip_v4_interface": "write an address with prefix length, such as 10.34.1.10/24",
    "string_pattern_mismatch": "use lower-case letters, digits and '-' (see docs/inventory.md)",
    "int_parsing": "write a whole number",
    "bool_parsing": "write true or false",
}


_PATTERN_FIXES = {
    "services": "write icmp, tcp/PORT, udp/PORT or tcp/LOW-HIGH, e.g. tcp/443",
    "domain": "write a DNS domain in lower case, e.g. hrss.ah.example",
}


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
        msg, fix = e["msg"], _FIXES.get(e["type"], "correct the value")
        if e["type"] == "value_error":
            msg = msg.removeprefix("Value error, ")
        elif e["type"] == "string_pattern_mismatch":
            # The regex means nothing to an operator; say what form is wanted instead.
            key = next((p for p in reversed(clean) if isinstance(p, str)), "")
            msg = f"{e['input']!r} is not a valid {key.rstrip('s') or 'value'}"
            fix = _PATTERN_FIXES.get(key, fix)
        problems.add(pos.at(clean), _fmt_loc(clean), msg, fix)


def read_estate(name_or_path: str | os.PathLike) -> RawEstateFiles:
    """Parse and schema-check every file of an estate. Raises InventoryError with all problems."""
    root = estate_dir(name_or_path)
    problems = ProblemList()
    raw = RawEstateFiles(root=root)
    files = sorted(p for p in root.rglob("*") if p.suffix in (".yml", ".yaml") and ".jinbao." not in p.name)
    if not files:
        problems.add(Origin(str(root), 1), "estate", "the estate folder has no .yml files",
                     "add estate.yml and the site, link and policy files (see inventory/lab)")
    for path in files:
        shown = _shown(path)
        try:
            doc = load(path, shown)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            line = mark.line + 1 if mark else 1
            problems.add(Origin(shown, line), "(yaml)", f"YAML syntax: {getattr(e, 'problem', e)}",
                         "fix the YAML syntax at this line (indentation, quotes, ':' spacing)")
            continue
        for keypath, line in doc.duplicate_keys:
            problems.add(Origin(shown, line), _fmt_loc(keypath), "key given twice in one mapping",
                         "keep one of the two; YAML would silently use the last")
        if not isinstance(doc.data, dict):
            problems.add(doc.pos.at(()), "(file)", "the file must be a mapping of sections",
                         "start the file with a section such as 'sites:' or 'links:'")
            continue
        try:
            parsed = InventoryFile.model_validate(doc.data)
        except ValidationError as e:
            _schema_problems(e, doc.pos, problems)
            continue
        _merge(raw, parsed, doc.pos, problems)
    if raw.estate is None and not problems:
        problems.add(Origin(str(root), 1), "estate", "no file defines the 'estate:' section",
                     "add estate.yml with name, domain, supernet, management and links")
    if problems:
        raise InventoryError(problems)
    return raw


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


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
        for name, val in (getattr(parsed, mapping) or {}).items():
            target = getattr(raw, mapping)
            if name in target:
                problems.add(pos.at((mapping, name)), f"{mapping}.{name}",
                             f"already defined at {target[name][1].at()}", "rename one of the two")
                continue
            target[name] = (val, Src(pos, (mapping, name)))
    for seq in ("sites", "links", "policies", "dr_pairs"):
        for i, val in enumerate(getattr(parsed, seq) or []):
            getattr(raw, seq).append((val, Src(pos, (seq, i))))
