"""The rule registry and the waivers: data loaded whole, or every problem named by file, line and field."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from compliance import configtext, devicecheck, waivers
from compliance import registry as reg_mod
from compliance.errors import RuleFileError
from compliance.verdicts import Finding, Verdict
from tests.support import REPO, run_cli


def test_installed_rules_load_and_cover_every_device_weakness():
    reg = reg_mod.registry()
    ids = {r.id for r in reg.rules}
    for want in (
        "DEV-TELNET",
        "DEV-SNMP-COMMUNITY",
        "DEV-PASSWORD-PLAIN",
        "DEV-NO-SYSLOG",
        "DEV-NO-NTP",
        "DEV-IDLE-TIMEOUT",
        "DEV-HTTP",
        "DEV-CONSOLE-AUTH",
        "DEV-ROUTING-AUTH",
        "DEV-WEAK-SSH",
        "DEV-LOGIN-LOCKOUT",
        "DEV-ZONE-DEFAULT-DENY",
    ):
        assert want in ids
    for r in reg.rules:
        assert r.clause in reg.clauses and r.title_zh and r.title_en and r.fix


def _copy(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(reg_mod.RULES_DIR, rules)
    return rules


def _problems(rules, clauses=reg_mod.CLAUSES_FILE):
    with pytest.raises(RuleFileError) as e:
        reg_mod.load(rules, clauses)
    return e.value.problems


def test_a_malformed_rule_is_named_by_file_line_and_field(tmp_path):
    rules = _copy(tmp_path)
    text = (rules / "device.yml").read_text()
    lines = text.splitlines()
    sev = next(i for i, x in enumerate(lines) if "severity: high" in x)
    lines[sev] = lines[sev].replace("high", "urgent")
    bad_re = next(i for i, x in enumerate(lines) if "telnet server enable'" in x and "forbid" in x)
    lines[bad_re] = lines[bad_re].replace("'^\\s*telnet server enable'", "'^(telnet'")
    (rules / "device.yml").write_text("\n".join(lines) + "\n")
    (rules / "extra.yml").write_text("rules:\n  - id: X-ONE\n    clause: '9.9.9'\n")
    found = {(p.origin.file.rsplit("/", 1)[-1], p.origin.line, p.field) for p in _problems(rules)}
    assert ("device.yml", sev + 1, "severity") in found
    assert ("device.yml", bad_re + 1, "check.huawei_vrp.steps[0].forbid") in found
    # a rule missing its fields is named at its own line, each field once
    assert {("extra.yml", 2, k) for k in ("title", "severity", "evidence", "fix", "check")} <= found


_RULE_HEAD = "rules:\n  - id: DEV-Y\n    clause: '8.1.3.2'\n    title: {zh: 甲, en: a}\n    severity: low\n"


def test_within_and_having_narrow_a_block_step_and_nothing_else(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "b.yml").write_text(
        _RULE_HEAD + "    evidence: device_config\n    fix: do it\n    check:\n      frr:\n        steps:\n"
        "          - forbid: x\n            within: '^router '\n"
    )
    [p] = _problems(rules)
    assert (p.origin.line, p.field) == (12, "check.frr.steps[0].within") and "block" in p.fix
    (rules / "b.yml").write_text(
        _RULE_HEAD + "    evidence: device_config\n    fix: do it\n    check:\n      frr:\n        steps:\n"
        "          - block: '^ rule \\d+'\n            within: '^policy$'\n            having: 'pass'\n"
        "            require: 'match'\n"
    )
    text = "hostname r\npolicy\n rule 1\n  pass\n rule 2\n  drop\n rule 3\n  pass\n  match a\nother\n rule 4\n  pass\nend\n"
    [v] = devicecheck.evaluate(configtext.classify("t", text, "frr"), reg_mod.load(rules, reg_mod.CLAUSES_FILE).rules)
    # rule 2 passes nothing, rule 3 matches something, rule 4 is outside `policy`
    assert [f.line for f in v.findings] == [3]


def test_yaml_syntax_and_unknown_clause_are_reported(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "a.yml").write_text("rules:\n  - id: 'DEV-X\n    clause: 1\n")
    (rules / "b.yml").write_text(
        "rules:\n  - id: DEV-Y\n    clause: '9.9'\n    title: {zh: 甲, en: a}\n    severity: low\n"
        "    evidence: device_config\n    fix: do it\n    check: {frr: {steps: [{forbid: x}]}}\n"
    )
    found = {(p.origin.file.rsplit("/", 1)[-1], p.origin.line, p.field): p for p in _problems(rules)}
    assert ("a.yml", 2, "(yaml)") in found
    assert ("b.yml", 3, "clause") in found and "9.9" in found[("b.yml", 3, "clause")].message


def test_the_cli_reports_a_bad_waiver_file_with_exit_2(tmp_path):
    w = tmp_path / "waivers.yml"
    w.write_text(
        "waivers:\n  - rule: DEV-NOPE\n    scope: '*'\n    justification: because\n    approver: 王\n    expiry: soon\n"
    )
    r = run_cli("audit", "config", "--waivers", str(w), str(REPO / "tests/compliance/configs/weak-frr.txt"), "--json")
    assert r.returncode == 2, r.stderr
    assert "DEV-NOPE" in r.stdout and '"line": 2' in r.stdout and '"field": "expiry"' in r.stdout


def test_a_live_waiver_waives_and_an_expired_one_says_so(tmp_path):
    reg = reg_mod.registry()
    w = tmp_path / "waivers.yml"
    w.write_text(
        "waivers:\n"
        "  - {rule: DEV-HTTP, scope: 'anqing-*', justification: vendor web UI until migration, approver: 李工, expiry: 2027-01-31}\n"
        "  - {rule: DEV-HTTP, scope: 'site:bengbu', justification: old, approver: 李工, expiry: 2026-01-31}\n"
    )
    ws = waivers.load(w, reg)
    f = (Finding("x", "f", 3, "ip http server"),)
    vs = [
        Verdict("DEV-HTTP", "anqing-core1", "finding", f),
        Verdict("DEV-HTTP", "bengbu-core1", "finding", f, site="bengbu"),
        Verdict("DEV-TELNET", "anqing-core1", "finding", f),
    ]
    a, b, c = waivers.apply(vs, ws, today=dt.date(2026, 12, 1))
    assert a.waived_by and "李工" in a.waived_by and "2027-01-31" in a.waived_by
    assert not b.waived_by and "expired on 2026-01-31" in (b.waiver_note or "") and "waivers.yml:3" in b.waiver_note
    assert not c.waived_by and not c.waiver_note
    # the day after its expiry the first one stops waiving too
    assert not waivers.apply(vs[:1], ws, today=dt.date(2027, 2, 1))[0].waived_by


def test_the_shipped_waivers_file_loads():
    assert waivers.load(waivers.WAIVERS_FILE, reg_mod.registry()) == ()


def test_a_platform_with_no_steps_is_refused_at_its_line(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "b.yml").write_text(
        _RULE_HEAD + "    evidence: device_config\n    fix: do it\n    check:\n      frr:\n        steps: []\n"
    )
    [p] = _problems(rules)
    assert (p.origin.file.rsplit("/", 1)[-1], p.origin.line, p.field) == ("b.yml", 10, "check.frr.steps")
    assert "would conform" in p.message and "add a step" in p.fix


def test_a_yaml_file_in_the_rules_folder_is_refused_not_ignored(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(reg_mod.RULES_DIR, rules)
    (rules / "extra.yaml").write_text("rules: [\n")  # broken, and it would not be read at all
    [p] = _problems(rules)
    assert p.origin.file.endswith("extra.yaml") and "extra.yml" in p.fix


def test_a_case_insensitive_pattern_finds_its_line_in_any_case(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "b.yml").write_text(
        _RULE_HEAD + "    evidence: device_config\n    fix: do it\n    check:\n      frr:\n        steps:\n"
        "          - forbid: '(?i)^ip forwarding enabled'\n"
    )
    text = "frr version 8.4\nhostname r\nIP Forwarding Enabled\nend\n"
    [v] = devicecheck.evaluate(configtext.classify("t", text, "frr"), reg_mod.load(rules, reg_mod.CLAUSES_FILE).rules)
    assert [f.line for f in v.findings] == [3]


def test_an_each_template_whose_value_is_not_a_whole_word_is_still_matched(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "b.yml").write_text(
        _RULE_HEAD + "    evidence: device_config\n    fix: do it\n    check:\n      frr:\n        steps:\n"
        "          - each: '^key (\\w+)$'\n            unless: '^secret-{1}:'\n"
    )
    text = "frr version 8.4\nhostname r\nkey a\nkey b\nsecret-a: x\nend\n"
    [v] = devicecheck.evaluate(configtext.classify("t", text, "frr"), reg_mod.load(rules, reg_mod.CLAUSES_FILE).rules)
    assert [f.line for f in v.findings] == [4]
