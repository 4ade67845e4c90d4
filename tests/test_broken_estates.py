"""Every deliberately broken estate under tests/broken/ must fail with exactly its listed errors."""
import json
from pathlib import Path

import pytest
import yaml

from conftest import REPO, run_cli

BROKEN = REPO / "tests" / "broken"
CASES = sorted(p.name for p in BROKEN.iterdir() if p.is_dir())


def test_there_are_broken_estates():
    assert {"schema", "secret_inline", "references", "ip_plan", "design", "yaml_syntax"} <= set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_broken_estate_reports_exactly_its_errors(case):
    expected = yaml.safe_load((BROKEN / f"{case}.expected.yml").read_text())
    r = run_cli("--estate", f"tests/broken/{case}", "inventory", "validate", "--json")
    assert r.returncode == 2, r.stdout + r.stderr
    got = json.loads(r.stdout)
    assert got["valid"] is False
    found = [(Path(p["file"]).name, p["line"], p["field"]) for p in got["problems"]]
    want = [(e["file"], e["line"], e["field"]) for e in expected]
    assert sorted(found) == sorted(want)
    for e in expected:
        match = [p for p in got["problems"] if (Path(p["file"]).name, p["line"], p["field"]) == (e["file"], e["line"], e["field"])]
        assert any(e["says"] in p["message"] for p in match), (e, match)
        assert all(p["fix"] for p in match), "every problem must say how to fix it"


@pytest.mark.parametrize("case", CASES)
def test_human_output_names_file_line_field_and_fix(case):
    r = run_cli("--estate", f"tests/broken/{case}", "inventory", "validate")
    assert r.returncode == 2
    expected = yaml.safe_load((BROKEN / f"{case}.expected.yml").read_text())
    for e in expected:
        assert f"{e['file']}:{e['line']}: {e['field']}:" in r.stderr
    # Counted at the start of a line: a field such as zones.core.prefix also contains "fix:".
    assert r.stderr.count("\n      fix:") == len(expected)
    assert "nothing was changed" in r.stderr


def test_inline_secret_is_not_echoed():
    r = run_cli("--estate", "tests/broken/secret_inline", "inventory", "validate")
    secret = "Jb@2026secret"
    assert secret in (BROKEN / "secret_inline" / "estate.yml").read_text()
    assert secret not in r.stdout + r.stderr


def test_every_command_using_the_estate_refuses_a_broken_one():
    for args in (["inventory", "show"], ["inventory", "graph", "--out", "/tmp/jinbao-never"], ["inventory", "ansible"]):
        r = run_cli("--estate", "tests/broken/references", *args)
        assert r.returncode == 2, args
        assert "links.yml:6" in r.stderr
    assert not Path("/tmp/jinbao-never").exists()


def test_unknown_estate_name_is_bad_input():
    r = run_cli("--estate", "atlantis", "inventory", "validate")
    assert r.returncode == 2
    assert "no estate named 'atlantis'" in r.stderr and "province" in r.stderr
