"""The rule registry: compliance/rules/*.yml loaded into frozen rules, or every problem at once.

A rule is data: an id, the GB/T 22239-2019 clause it supports, a title in Chinese and English,
a severity, the evidence it reads and the check. Device rules carry their check as patterns per
platform (rules/device.yml says how they read); the others name a probe (compliance/probes.py),
and the inventory's design rules name the core check they reuse (`core_check: design`), so a
rule `jinbao inventory validate` enforces is written once and used by both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType

from jinbao.platforms import PLATFORMS
from jinbao.problems import ProblemList
from jinbao.yamlsrc import Origin, Positions

from . import yamlfile
from .errors import RuleFileError
from .probes import CORE_CHECKS, PROBES

HERE = Path(__file__).resolve().parent
RULES_DIR = HERE / "rules"
CLAUSES_FILE = HERE / "clauses.yml"

SEVERITIES = ("high", "medium", "low")
EVIDENCE = ("device_config", "inventory", "servers", "pki", "dr", "monitoring")
DIALECTS = ("comware5", "comware7")
_RULE_KEYS = {"id", "clause", "title", "severity", "evidence", "fix", "check"}
_STEP_KINDS = ("forbid", "require", "block", "each")
_STEP_KEYS = {*_STEP_KINDS, "unless", "when", "skip_if", "dialect", "within", "having"}
_BLOCK_ONLY = ("within", "having")
_ID = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")


@dataclass(frozen=True)
class Clause:
    id: str
    zh: str
    en: str


@dataclass(frozen=True)
class Step:
    """One pattern check on a config (rules/device.yml describes each kind)."""

    kind: str
    pattern: re.Pattern
    origin: Origin
    forbid: re.Pattern | None = None
    require: re.Pattern | None = None
    unless: str | None = None
    when: re.Pattern | None = None
    skip_if: re.Pattern | None = None
    dialect: str | None = None
    within: re.Pattern | None = None  # a block step: only blocks inside a block headed like this
    having: re.Pattern | None = None  # a block step: only blocks holding a line like this


@dataclass(frozen=True)
class PlatformCheck:
    steps: tuple[Step, ...]
    evidence: re.Pattern | None = None


@dataclass(frozen=True)
class Rule:
    id: str
    clause: str
    title_zh: str
    title_en: str
    severity: str
    evidence: str
    fix: str
    origin: Origin
    platforms: Mapping[str, PlatformCheck] = field(default_factory=dict)
    probe: str | None = None
    core_check: str | None = None
    field: re.Pattern | None = None  # which of a core check's problems are this rule's


@dataclass(frozen=True)
class Registry:
    clauses: Mapping[str, Clause]
    rules: tuple[Rule, ...]

    def of(self, evidence: str) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.evidence == evidence)

    def rule(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)


@cache
def registry() -> Registry:
    """The installed rules (built once); raises RuleFileError naming every problem."""
    return load(RULES_DIR, CLAUSES_FILE)


def load(rules_dir: Path, clauses_file: Path) -> Registry:
    p = ProblemList()
    clauses = _clauses(clauses_file, p)
    rules: list[Rule] = []
    seen: dict[str, Origin] = {}
    files = sorted(rules_dir.glob("*.yml"))
    # Refused, not loaded: every rule file is *.yml, and a *.yaml beside them is most likely a
    # copy or a misnamed file whose rules would silently not apply.
    for odd in sorted(rules_dir.glob("*.yaml")):
        p.add(
            Origin(yamlfile.shown(odd), 1),
            "(file)",
            "a rule file must be named *.yml; this one is not loaded",
            f"rename it to {odd.stem}.yml (or move it out of {yamlfile.shown(rules_dir)})",
            "rules",
        )
    if not files:
        p.add(Origin(yamlfile.shown(rules_dir), 1), "(folder)", "no rule files (*.yml)", "add rule files", "rules")
    for path in files:
        doc = yamlfile.load(path, p, "rules")
        if doc is None:
            continue
        items = doc.data.get("rules") if isinstance(doc.data, dict) else None
        for key in sorted(set(doc.data) - {"rules"} if isinstance(doc.data, dict) else (), key=str):
            p.add(doc.pos.at((key,)), str(key), f"unknown top-level key {key!r}", "list rules under `rules:`", "rules")
        if not isinstance(items, list):
            p.add(
                doc.pos.at(()), "rules", "expected a top-level `rules:` list", "start the file with `rules:`", "rules"
            )
            continue
        for i, item in enumerate(items):
            rule = _rule(item, ("rules", i), doc.pos, clauses, p)
            if rule is None:
                continue
            if rule.id in seen:
                p.add(
                    rule.origin,
                    "id",
                    f"rule {rule.id} is also defined at {seen[rule.id]}",
                    "give each rule its own id",
                    "rules",
                )
                continue
            seen[rule.id] = rule.origin
            rules.append(rule)
    if p:
        raise RuleFileError(p.folded())
    return Registry(MappingProxyType(clauses), tuple(rules))


def _clauses(path: Path, p: ProblemList) -> dict[str, Clause]:
    doc = yamlfile.load(path, p, "rules")
    if doc is None:
        return {}
    body = doc.data.get("clauses") if isinstance(doc.data, dict) else None
    if not isinstance(body, dict):
        p.add(
            doc.pos.at(()),
            "clauses",
            "expected a top-level `clauses:` mapping",
            "map each clause id to {zh, en}",
            "rules",
        )
        return {}
    out = {}
    for cid, names in body.items():
        at = doc.pos.at(("clauses", cid))
        if not isinstance(names, dict) or not all(isinstance(names.get(k), str) and names[k] for k in ("zh", "en")):
            p.add(at, f"clauses.{cid}", "a clause needs a Chinese and an English name", "write {zh: …, en: …}", "rules")
            continue
        out[str(cid)] = Clause(str(cid), names["zh"], names["en"])
    return out


def _rule(item, path: tuple, pos: Positions, clauses: Mapping[str, Clause], p: ProblemList) -> Rule | None:
    at = pos.at(path)
    if not isinstance(item, dict):
        p.add(at, "rules", "a rule must be a mapping", "write the rule's id, clause, title, … as keys", "rules")
        return None
    before = len(p)
    rid = item.get("id")
    name = f"rule {rid}" if isinstance(rid, str) else "rule"

    def bad(key: str, message: str, fix: str) -> None:
        p.add(pos.at((*path, key)), key, f"{name}: {message}", fix, "rules")

    for key in sorted(set(item) - _RULE_KEYS):
        bad(key, f"unknown field {key!r}", f"use only {', '.join(sorted(_RULE_KEYS))}")
    for key in sorted(_RULE_KEYS - set(item)):
        p.add(at, key, f"{name}: `{key}` is missing", f"add `{key}:` to the rule", "rules")
    if len(p) > before:
        return None
    if not isinstance(rid, str) or not _ID.match(rid):
        bad("id", f"id {rid!r} is not like DEV-TELNET", "use capitals, digits and '-', e.g. DEV-TELNET")
    clause = str(item["clause"])
    if clause not in clauses:
        bad("clause", f"clause {clause!r} is not in clauses.yml", f"use one of {', '.join(clauses)} or add it there")
    title = item["title"]
    if not isinstance(title, dict) or not all(isinstance(title.get(k), str) and title[k] for k in ("zh", "en")):
        bad("title", "the title needs Chinese and English text", "write title: {zh: …, en: …}")
    if item["severity"] not in SEVERITIES:
        bad("severity", f"severity {item['severity']!r} is unknown", f"use one of {', '.join(SEVERITIES)}")
    if item["evidence"] not in EVIDENCE:
        bad("evidence", f"evidence {item['evidence']!r} is unknown", f"use one of {', '.join(EVIDENCE)}")
    if not isinstance(item["fix"], str) or not item["fix"].strip():
        bad("fix", "the fix is empty", "say what to change, as the auditor will read it")
    if item["evidence"] not in EVIDENCE:
        return None
    # The check is read even when a field above is wrong, so one pass names every problem.
    check, cpath = item["check"], (*path, "check")
    platforms: dict[str, PlatformCheck] = {}
    probe = core_check = field_re = None
    if not isinstance(check, dict) or not check:
        bad("check", "the check must be a mapping", "see rules/device.yml for the shapes")
        return None
    if item["evidence"] == "device_config":
        for plat, body in check.items():
            pc = _platform_check(plat, body, (*cpath, plat), pos, name, p)
            if pc is not None:
                platforms[plat] = pc
    else:
        if set(check) - {"probe", "core_check", "field"} or len(set(check) & {"probe", "core_check"}) != 1:
            bad(
                "check",
                "a non-device check is `probe: NAME` or `core_check: NAME` (with `field: RE`)",
                "write one of them",
            )
        probe, core_check = check.get("probe"), check.get("core_check")
        if "field" in check:
            field_re = _regex(check["field"], pos.at((*cpath, "field")), "check.field", name, p)
        if probe is not None and probe not in PROBES.get(item["evidence"], ()):
            known = ", ".join(PROBES.get(item["evidence"], ())) or "none"
            p.add(
                pos.at((*cpath, "probe")),
                "check.probe",
                f"{name}: no {item['evidence']} probe {probe!r}",
                f"use one of: {known}",
                "rules",
            )
        if core_check is not None and (item["evidence"] != "inventory" or core_check not in CORE_CHECKS):
            p.add(
                pos.at((*cpath, "core_check")),
                "check.core_check",
                f"{name}: no core check {core_check!r} for {item['evidence']} evidence",
                f"inventory rules may name: {', '.join(CORE_CHECKS)}",
                "rules",
            )
    if len(p) > before or not isinstance(rid, str):  # a bad id was added to p above
        return None
    return Rule(
        rid,
        clause,
        title["zh"],
        title["en"],
        item["severity"],
        item["evidence"],
        " ".join(item["fix"].split()),
        at,
        MappingProxyType(platforms),
        probe,
        core_check,
        field_re,
    )


def _regex(value, where: Origin, field_name: str, rule: str, p: ProblemList) -> re.Pattern | None:
    if not isinstance(value, str) or not value:
        p.add(
            where,
            field_name,
            f"{rule}: expected a regular expression, found {value!r}",
            "quote the pattern in single quotes",
            "rules",
        )
        return None
    try:
        return re.compile(value)
    except re.error as e:
        p.add(
            where,
            field_name,
            f"{rule}: bad regular expression {value!r}: {e}",
            "fix the pattern (Python `re` syntax)",
            "rules",
        )
        return None


def _platform_check(plat, body, path: tuple, pos: Positions, rule: str, p: ProblemList) -> PlatformCheck | None:
    at = pos.at(path)
    if plat not in PLATFORMS:
        p.add(at, f"check.{plat}", f"{rule}: unknown platform {plat!r}", f"use one of {', '.join(PLATFORMS)}", "rules")
        return None
    if not isinstance(body, dict) or not isinstance(body.get("steps"), list) or set(body) - {"steps", "evidence"}:
        p.add(
            at,
            f"check.{plat}",
            f"{rule}: a platform's check is {{evidence: RE, steps: [...]}}",
            "list the steps under `steps:`",
            "rules",
        )
        return None
    evidence = (
        _regex(body["evidence"], pos.at((*path, "evidence")), f"check.{plat}.evidence", rule, p)
        if "evidence" in body
        else None
    )
    if not body["steps"]:
        # No step finds nothing, so every config of the platform would "conform".
        p.add(
            pos.at((*path, "steps")),
            f"check.{plat}.steps",
            f"{rule}: no steps for {plat}: every {plat} config would conform",
            f"add a step, or remove {plat} from the check to leave the rule not applicable to it",
            "rules",
        )
        return None
    steps = []
    for i, raw in enumerate(body["steps"]):
        spath = (*path, "steps", i)
        step = _step(raw, spath, pos, f"check.{plat}.steps[{i}]", rule, p)
        if step is not None:
            steps.append(step)
    return PlatformCheck(tuple(steps), evidence)


def _step(raw, path: tuple, pos: Positions, fname: str, rule: str, p: ProblemList) -> Step | None:
    at = pos.at(path)
    if not isinstance(raw, dict):
        p.add(at, fname, f"{rule}: a step must be a mapping", "write forbid:, require:, block: or each:", "rules")
        return None
    kinds = [k for k in _STEP_KINDS if k in raw]
    # A block carries forbid/require for its own lines, so `block` wins when present.
    kind = "block" if "block" in raw else kinds[0] if len(kinds) == 1 else None
    unknown = sorted(set(raw) - _STEP_KEYS)
    if unknown or kind is None:
        what = f"unknown field(s) {', '.join(unknown)}" if unknown else f"needs exactly one of {', '.join(_STEP_KINDS)}"
        p.add(
            at,
            fname,
            f"{rule}: step {what}",
            f"a step is one of {', '.join(_STEP_KINDS)}, with when/skip_if/dialect",
            "rules",
        )
        return None
    if kind == "block" and not ({"forbid", "require"} & set(raw)):
        p.add(
            at, fname, f"{rule}: a block step checks nothing", "add forbid: or require: for the block's lines", "rules"
        )
        return None
    if kind == "each" and not isinstance(raw.get("unless"), str):
        p.add(
            at,
            fname,
            f"{rule}: an each step needs `unless:`",
            "write the line that makes each match acceptable, with {1} for its group",
            "rules",
        )
        return None
    misplaced = [k for k in _BLOCK_ONLY if k in raw] if kind != "block" else []
    if misplaced:
        p.add(
            pos.at((*path, misplaced[0])),
            f"{fname}.{misplaced[0]}",
            f"{rule}: `{misplaced[0]}` narrows the blocks of a block step; this step is `{kind}`",
            f"remove `{misplaced[0]}` or make the step a `block:`",
            "rules",
        )
        return None
    if raw.get("dialect") is not None and raw["dialect"] not in DIALECTS:
        p.add(
            pos.at((*path, "dialect")),
            f"{fname}.dialect",
            f"{rule}: unknown dialect {raw['dialect']!r}",
            f"use {' or '.join(DIALECTS)}",
            "rules",
        )
        return None
    compiled: dict[str, re.Pattern] = {}
    for key in ("forbid", "require", "block", "each", "when", "skip_if", *_BLOCK_ONLY):
        if key in raw:
            rx = _regex(raw[key], pos.at((*path, key)), f"{fname}.{key}", rule, p)
            if rx is None:
                return None
            compiled[key] = rx
    if kind == "each":
        try:
            re.compile(raw["unless"].format(*(["x"] * (compiled["each"].groups + 1))))
        except (IndexError, KeyError, ValueError, re.error) as e:
            p.add(
                pos.at((*path, "unless")),
                f"{fname}.unless",
                f"{rule}: `unless` does not fit the groups of `each`: {e}",
                "use {1}…{n} for the groups of the `each` pattern",
                "rules",
            )
            return None
    return Step(
        kind,
        compiled[kind],
        at,
        compiled.get("forbid") if kind == "block" else None,
        compiled.get("require") if kind == "block" else None,
        raw.get("unless"),
        compiled.get("when"),
        compiled.get("skip_if"),
        raw.get("dialect"),
        compiled.get("within"),
        compiled.get("having"),
    )
