"""A waiver's expiry that YAML reads as a date and time is named as written, not as a Python repr."""

from __future__ import annotations

import json

from tests.support import REPO, run_cli

WAIVER = "waivers:\n  - rule: DEV-TELNET\n    scope: '*'\n    justification: j\n    approver: a\n    expiry: {}\n"


def test_an_expiry_with_a_time_is_exit_2_quoting_it_as_written(tmp_path):
    w = tmp_path / "waivers.yml"
    w.write_text(WAIVER.format("2027-01-01 00:00:00"))
    config = REPO / "tests/compliance/configs/weak-frr.txt"
    r = run_cli("audit", "config", "--waivers", str(w), str(config), "--json", timeout=120)
    assert r.returncode == 2, r.stderr
    [p] = json.loads(r.stdout)["problems"]
    assert p["field"] == "expiry" and "2027-01-01 00:00:00 is not a date" in p["message"], p
    assert "datetime" not in p["message"]
