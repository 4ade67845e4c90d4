"""Read an estate folder: every *.yml under it, each validated against the file schema.

Schema errors are mapped back to file:line through yamlsrc.Positions. Sections from all files
are merged (lists concatenate, named maps must not repeat a name), each item keeping its source.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import ValidationError

from . import estate_files, secret_fields
from .errors import InventoryError
from .problems import Problem, ProblemList
from .schema import (
    InventoryFile,
    RawDrPair,
    RawEstate,
    RawLink,
    RawManagementPlane,
    RawMonitoring,
    RawPolicy,
    RawRouting,
    RawSite,
    RawSiteTemplate,
    RawSnmpProfile,
    RawWave,
)
from .schema_errors import KINDS, fmt_loc, schema_problems, value_at
from .schema_snmp import profile_problems
from .yaml_errors import syntax_problem
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
    estate: tuple[RawEstate, Src] | None = None
    routing: tuple[RawRouting, Src] | None = None
    management_plane: tuple[RawManagementPlane, Src] | None = None
    monitoring: tuple[RawMonitoring, Src] | None = None
    snmp_profiles: dict[str, tuple[RawSnmpProfile, Src]] = field(default_factory=dict)
    site_templates: dict[str, tuple[RawSiteTemplate, Src]] = field(default_factory=dict)
    sites: list[tuple[RawSite, Src]] = field(default_factory=list)
    links: list[tuple[RawLink, Src]] = field(default_factory=list)
    policies: list[tuple[RawPolicy, Src]] = field(default_factory=list)
    dr_pairs: list[tuple[RawDrPair, Src]] = field(default_factory=list)
    change_waves: list[tuple[RawWave, Src]] = field(default_factory=list)
    root: Path = Path(".")
    # Problems that leave the estate readable (a name defined in two files keeps its first
    # definition, a copied file is skipped): resolve goes on, so the rest is reported too.
    problems: ProblemList = field(default_factory=ProblemList)


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
    # '.' and '..' are folders, as in `cd inventory/lab && jinbao --estate . inventory validate`.
    if "/" not in text and os.sep not in text and text not in (".", ".."):
        raise InventoryError([Problem(None, "estate", f"no estate named {text!r} under {base}", choices)])
    path = Path(text)
    if path.is_dir():
        # Any section may be in any file, so no file name is required; but an estate keeps its
        # files at its top. A folder with none there is some other folder (say '/'), and
        # reading every .yml beneath it would be slow and meaningless.
        if not estate_files.has_estate_files(path):
            raise InventoryError(
                [
                    Problem(
                        None,
                        "estate",
                        f"{text!r} is not an estate folder: it has no .yml or .yaml file at its top level",
                        "give the folder that holds the estate's .yml files (see docs/inventory.md)",
                    )
                ]
            )
        return path
    if path.exists() or path.is_symlink():
        raise InventoryError(
            [
                Problem(
                    Origin(estate_files.shown(path), 1),
                    "estate",
                    f"{text!r} is a file, not an estate folder",
                    f"give the folder that holds the estate's files, e.g. {str(path.parent)!r}",
                )
            ]
        )
    raise InventoryError([Problem(None, "estate", f"there is no estate folder at {text!r}", choices)])


def read_estate(name_or_path: str | os.PathLike) -> RawEstateFiles:
    """Parse and schema-check every file of an estate. Raises InventoryError with all problems."""
    root = estate_dir(name_or_path)
    problems = ProblemList()
    raw = RawEstateFiles(root=root)
    files = estate_files.find(root, problems)
    if not files and not problems:
        problems.add(
            Origin(estate_files.shown(root), 1),
            "estate",
            "the estate folder has no .yml files",
            "add estate.yml and the site, link and policy files (see inventory/lab)",
        )
    # All texts first: of two files with the same text, the copy is skipped whichever is first.
    texts = []
    for path in files:
        shown = estate_files.shown(path)
        texts.append((shown, estate_files.read_text(path, shown, problems, root)))
    copies = estate_files.copies(texts)
    for shown, text in texts:
        if shown in copies:
            raw.problems.add(
                Origin(shown, 1),
                "(file)",
                f"the file is a copy of {copies[shown]} (the same text), so everything in it would be defined twice",
                "delete the copy, or move it out of the estate folder (a backup belongs in git, not beside the estate)",
            )
            continue
        doc = _parse(text, shown, problems) if text is not None else None
        if doc is None:
            continue
        for keypath, line in doc.duplicate_keys:
            # The key may be a secret written as a key: shown as any path into a secret section.
            shown_path = secret_fields.shown_path(keypath, lambda n, k=keypath, data=doc.data: value_at(data, k[:n]))
            problems.add(
                Origin(shown, line),
                fmt_loc(shown_path),
                "key given twice in one mapping",
                "keep one of the two; YAML would silently use the last",
            )
        if doc.empty or doc.data == {}:
            # A file commented out as a whole (or not yet written) adds nothing, as in Ansible.
            continue
        if not isinstance(doc.data, dict):
            problems.add(
                doc.pos.at(()),
                "(file)",
                f"the file must be a mapping of sections, not {KINDS.get(type(doc.data), 'a value')}",
                "start the file with a section such as 'sites:' or 'links:'",
            )
            continue
        try:
            parsed = InventoryFile.model_validate(doc.data)
        except ValidationError as e:
            schema_problems(e, doc.pos, problems, doc.data, InventoryFile)
            continue
        _merge(raw, parsed, doc.pos, raw.problems)
    if raw.estate is None and not problems:
        problems.add(
            Origin(estate_files.shown(root), 1),
            "estate",
            "no file defines the 'estate:' section",
            "add estate.yml with name, domain, supernet, management and links",
        )
    if problems:
        problems.extend(raw.problems)
        problems.sort(key=lambda p: (p.origin.file, p.origin.line) if p.origin else ("", 0))
        raise InventoryError(problems.folded())
    return raw


def _parse(text: str, shown: str, problems: ProblemList) -> YamlDoc | None:
    try:
        return parse(text, shown)
    except YamlShapeError as e:
        problems.add(Origin(shown, e.line), "(yaml)", e.message, e.fix)
    except yaml.MarkedYAMLError as e:
        line, message, fix = syntax_problem(e, text)
        problems.add(Origin(shown, line), "(yaml)", message, fix)
    except yaml.reader.ReaderError as e:
        line = text.count("\n", 0, e.position) + 1
        problems.add(
            Origin(shown, line),
            "(yaml)",
            f"YAML cannot hold character {e.character!r} (control characters are not allowed)",
            "remove the character; is this really a YAML text file?",
        )
    except yaml.YAMLError as e:
        problems.add(Origin(shown, 1), "(yaml)", f"YAML: {e}", "fix the YAML syntax")
    except RecursionError:
        problems.add(Origin(shown, 1), "(yaml)", "the YAML nests too deeply to read", "flatten the structure")
    return None


def _merge(raw: RawEstateFiles, parsed: InventoryFile, pos: Positions, problems: ProblemList) -> None:
    for single in ("estate", "routing", "management_plane", "monitoring"):
        val = getattr(parsed, single)
        if val is None:
            continue
        if getattr(raw, single) is not None:
            prev = getattr(raw, single)[1].at()
            problems.add(
                pos.at((single,)),
                single,
                f"'{single}' is already defined at {prev}",
                f"keep one '{single}:' section for the estate",
            )
            continue
        setattr(raw, single, (val, Src(pos, (single,))))
    for mapping in ("snmp_profiles", "site_templates"):
        target = getattr(raw, mapping)
        folded = {n.casefold(): n for n in target}
        for name, val in (getattr(parsed, mapping) or {}).items():
            # 'V3-monitor' beside 'v3-monitor' is a typo waiting to be referenced.
            same = folded.get(name.casefold())
            if same is not None:
                problems.add(
                    pos.at((mapping, name)),
                    f"{mapping}.{name}",
                    f"already defined at {target[same][1].at()}" + (f" as {same!r}" if same != name else ""),
                    "rename one of the two",
                )
                continue
            target[name] = (val, Src(pos, (mapping, name)))
            folded[name.casefold()] = name
            if mapping == "snmp_profiles":
                for f, msg, fix, check in profile_problems(val):
                    problems.add(pos.at((mapping, name, f)), f"{mapping}.{name}.{f}", msg, fix, check)
    for seq in ("sites", "links", "policies", "dr_pairs", "change_waves"):
        for i, val in enumerate(getattr(parsed, seq) or []):
            getattr(raw, seq).append((val, Src(pos, (seq, i))))
