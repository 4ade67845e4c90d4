"""`jinbao audit` answers bad input with exit 2 and where to look: file, line, field, fix.

Never a traceback, never a hang on a FIFO or /dev/zero, never a silent default. Each class of
damage is written into a real file and handed to the real CLI (rules have no CLI seam of their
own: they are loaded from a copied rules folder through the same loader the CLI uses).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Mapping
from pathlib import Path

import pytest

from compliance import configtext, devicecheck, inputs, keptruns
from compliance import registry as reg_mod
from compliance.errors import RuleFileError
from compliance.sources import servers
from tests.support import REPO, run_cli

CONFIG = REPO / "tests/compliance/configs/weak-frr.txt"
WAIVER = (
    "waivers:\n  - rule: DEV-TELNET\n    scope: '*'\n    justification: j\n    approver: a\n    expiry: 2099-01-31\n"
)


def _problems_of(r) -> list[dict]:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr + r.stdout
    return json.loads(r.stdout)["problems"]


@pytest.mark.parametrize(
    "damage, line, field, said",
    [
        (lambda t: t.replace("justification: j", "justification: j\x00k"), 4, "(file)", "NUL byte at line 4"),
        (lambda t: t.replace("2099-01-31", "2026-02-30"), 6, "(yaml)", "'2026-02-30' is not a valid date"),
        (lambda t: t.replace("2099-01-31", "2027-13-45"), 6, "(yaml)", "'2027-13-45' is not a valid date"),
        (lambda t: t + "    expiry: 2199-01-01\n", 7, "expiry", "'expiry' is given again"),
        (lambda t: t.replace("rule: DEV-TELNET", "rule: DEV-TELNET\n    rule: DEV-HTTP"), 3, "rule", "given again"),
        (lambda t: t.replace("approver: a", "approver: a\x07"), 5, "(yaml)", "not allowed in YAML"),
        (lambda t: t + "waiver:\n  - rule: DEV-HTTP\n", 7, "waiver", "unknown top-level key 'waiver'"),
        (
            lambda t: t + t.removeprefix("waivers:\n").replace("2099", "2199"),
            7,
            "scope",
            "a second waiver of DEV-TELNET",
        ),
    ],
    ids=["nul", "feb-30", "month-13", "dup-expiry", "dup-rule", "control-char", "top-level-typo", "two-waivers"],
)
def test_a_damaged_waivers_file_is_exit_2_at_its_line_and_field(tmp_path, damage, line, field, said):
    w = tmp_path / "waivers.yml"
    w.write_text(damage(WAIVER))
    [p] = _problems_of(run_cli("audit", "config", "--waivers", str(w), str(CONFIG), "--json", timeout=120))
    assert (p["file"].rsplit("/", 1)[-1], p["line"], p["field"]) == ("waivers.yml", line, field), p
    assert said in p["message"] and p["fix"], p


def test_the_clean_waiver_the_damage_starts_from_loads(tmp_path):
    w = tmp_path / "waivers.yml"
    w.write_text(WAIVER)
    r = run_cli("audit", "config", "--waivers", str(w), str(CONFIG), "--json", timeout=120)
    assert r.returncode in (0, 1), r.stderr
    [telnet] = [v for v in json.loads(r.stdout)["verdicts"] if v["rule"] == "DEV-TELNET"]
    assert telnet["status"] != "finding" or telnet["waived_by"]


@pytest.mark.parametrize(
    "damage, field, said",
    [
        (lambda t: t.replace("Telnet", "Tel\x00net", 1), "(file)", "NUL byte"),
        (lambda t: t.replace("severity: high", "severity: 2026-02-30", 1), "(yaml)", "'2026-02-30' is not a valid"),
        (
            lambda t: t.replace("    severity: high\n", "    severity: high\n    severity: low\n", 1),
            "severity",
            "again",
        ),
    ],
    ids=["nul", "feb-30", "dup-severity"],
)
def test_a_damaged_rule_file_is_named_at_its_line(tmp_path, damage, field, said):
    rules = tmp_path / "rules"
    shutil.copytree(reg_mod.RULES_DIR, rules)
    dev = rules / "device.yml"
    before = dev.read_text()
    after = damage(before)
    assert after != before
    dev.write_text(after)
    # the first line where the damaged text differs from the shipped file
    line = next(i for i, (a, b) in enumerate(zip(before.split("\n"), after.split("\n"), strict=False), 1) if a != b)
    with pytest.raises(RuleFileError) as e:
        reg_mod.load(rules, reg_mod.CLAUSES_FILE)
    [p] = e.value.problems
    assert (p.origin.file.rsplit("/", 1)[-1], p.field) == ("device.yml", field)
    assert p.origin.line == line and said in p.message


def test_a_waivers_file_named_but_missing_is_exit_2_naming_it(tmp_path):
    missing = tmp_path / "waivres.yml"
    [p] = _problems_of(run_cli("audit", "config", "--waivers", str(missing), str(CONFIG), "--json", timeout=120))
    assert str(missing) in p["message"] and p["field"] == "--waivers"


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe.yml"
    os.mkfifo(path)
    return path


def test_a_fifo_or_a_device_is_refused_without_reading_it(tmp_path, fifo):
    # Each would hang (FIFO: open waits for a writer) or grow without bound (/dev/zero):
    # the timeout turns a regression into a failure, not a stuck suite.
    for args in (
        ("audit", "config", str(fifo)),
        ("audit", "config", "/dev/zero"),
        ("audit", "config", "--waivers", str(fifo), str(CONFIG)),
        ("audit", "report", "--no-pdf", "--out", str(tmp_path / "o"), "--run", str(fifo)),
    ):
        r = run_cli(*args, timeout=60, env={"JINBAO_STATE_DIR": str(tmp_path / "state")})
        assert r.returncode == 2 and "Traceback" not in r.stderr, (args, r.stderr)
        assert "not a regular file" in r.stderr and ("FIFO" in r.stderr or "device" in r.stderr), r.stderr


def test_a_file_over_the_cap_is_refused_naming_the_cap_and_how_to_raise_it(tmp_path):
    big = tmp_path / "big.cfg"
    # larger than every rule file, which the same cap applies to
    big.write_text(CONFIG.read_text() + "!\n" * 200_000)
    size = big.stat().st_size
    r = run_cli("audit", "config", str(big), env={inputs.MAX_BYTES_ENV: str(size - 1)}, timeout=120)
    assert r.returncode == 2 and f"{size - 1:,}-byte cap" in r.stderr and inputs.MAX_BYTES_ENV in r.stderr, r.stderr
    assert run_cli("audit", "config", str(big), env={inputs.MAX_BYTES_ENV: str(size)}).returncode in (0, 1)


def test_a_fifo_among_kept_verify_runs_is_named_not_waited_on(tmp_path, monkeypatch):
    monkeypatch.setenv("JINBAO_STATE_DIR", str(tmp_path / "state"))
    folder = servers.results_dir("lab:x")
    folder.mkdir(parents=True)
    os.mkfifo(folder / "20260101T000000.json")
    runs, bad = servers.kept_runs("lab:x")
    assert runs == [] and bad == ["20260101T000000.json"]
    runs, bad = keptruns.scan(folder)
    assert runs == [] and "FIFO" in str(bad[0])


def _all_patterns() -> set[re.Pattern]:
    found: set[re.Pattern] = set()

    def walk(o):
        if isinstance(o, re.Pattern):
            found.add(o)
        elif isinstance(o, (list, tuple)):
            for x in o:
                walk(x)
        elif isinstance(o, Mapping):
            for x in o.values():
                walk(x)
        elif hasattr(o, "__dataclass_fields__"):
            for f in o.__dataclass_fields__:
                walk(getattr(o, f))

    walk(list(reg_mod.registry().rules))
    return found


def test_the_whole_text_scan_finds_exactly_the_lines_a_line_by_line_search_finds():
    pats = _all_patterns()
    assert any(p.pattern.startswith(r"^\s*") for p in pats)  # the shape that went quadratic
    configs = sorted((REPO / "tests/compliance/configs").glob("*.txt"))
    assert configs
    for path in configs:
        cfg = configtext.read(path, "huawei_vrp" if path.name == "fragment-vrp.txt" else None)
        # blank lines and whitespace-only lines between every line: where \s could cross
        padded = configtext.classify(path.name, "\n\n \n".join(cfg.lines) + "\n", cfg.platform)
        for c in (cfg, padded):
            t = devicecheck._Text(c)
            for p in pats:
                assert t._scan(p, False) == [i for i, x in enumerate(c.lines) if p.search(x)], (path, p.pattern)


def _blank_inside(blank: int) -> str:
    # The blanks go inside the one config, after its name line: a second `hostname` before it
    # would make the file two configs, which is refused.
    lines = CONFIG.read_text().splitlines(keepends=True)
    return "".join(lines[:3]) + "\n" * blank + "".join(lines[3:])


def _scan_seconds(blank: int) -> float:
    text = _blank_inside(blank)
    rules = reg_mod.registry().of("device_config")
    best = float("inf")
    for _ in range(3):  # the least of three: a busy box only ever adds time
        t0 = time.perf_counter()
        cfg = configtext.classify("blank.txt", text, "frr")
        devicecheck.evaluate(cfg, rules, device_class="frr")
        best = min(best, time.perf_counter() - t0)
    return best


def test_blank_lines_are_scanned_in_linear_time():
    # 4x the lines: about 4x the time when linear, 16x when quadratic (160,000 blank lines
    # took 54 s before). Relative to a baseline measured here, so a slow box does not flake.
    small, big = _scan_seconds(25_000), _scan_seconds(100_000)
    assert big / small < 8, (small, big)


def test_the_cli_scans_200k_blank_lines(tmp_path):
    f = tmp_path / "blank.txt"
    f.write_text(_blank_inside(200_000))
    r = run_cli("audit", "config", "--platform", "frr", str(f), "--json", timeout=120)
    assert r.returncode == 1, r.stderr
    lines = {x["line"] for v in json.loads(r.stdout)["verdicts"] for x in v["findings"] if x.get("line")}
    assert min(lines) > 200_000  # the findings are at the config's lines, after the blanks


def test_paths_in_messages_are_the_files_given(tmp_path):
    # the strict reader's refusal names the file as given, so a person finds it
    p = tmp_path / "x.yml"
    p.mkdir()
    with pytest.raises(inputs.InputFileError) as e:
        inputs.read_bytes(Path(p))
    assert str(p) in str(e.value) and "directory" in str(e.value)
