"""`jinbao audit run` on a live lab: the running configs netconfig backs up from its FRR routers
and Linux firewalls are judged, not the rendering. Clean first; then one router's idle timeout
turned off live is exactly one finding, on its line of the backup; the router is restored."""

from __future__ import annotations

import json

import pytest

from tests.support import run_cli

pytestmark = [pytest.mark.lab, pytest.mark.slow]

ROUTER = "prov-wan2"


def _audit(lab_id, state):
    env = {"JINBAO_STATE_DIR": str(state)}
    b = run_cli("config", "backup", "--lab", lab_id, "--json", env=env)
    assert b.returncode == 0, b.stdout + b.stderr
    r = run_cli(
        "--estate",
        "lab",
        "audit",
        "run",
        "--lab",
        lab_id,
        "--no-monitoring",
        "--pki-dir",
        str(state / "noca"),
        "--json",
        env=env,
    )
    assert r.returncode in (0, 1), r.stderr
    body = json.loads(r.stdout)
    assert "from backups" in body["sources"]["device_config"] and not body["sources"]["device_config"].startswith("0 ")
    return [v for v in body["verdicts"] if v["rule"].startswith("DEV-") and v["status"] in ("finding", "no_evidence")]


def test_running_configs_are_clean_and_a_live_break_is_one_finding(lab, tmp_path):
    assert _audit(lab.id, tmp_path / "clean") == []
    vty = ["vtysh", "-c", "configure terminal", "-c", "line vty", "-c", "exec-timeout 0 0"]
    r = run_cli("lab", "exec", "--id", lab.id, ROUTER, *vty)
    assert r.returncode == 0, r.stderr
    try:
        bad = _audit(lab.id, tmp_path / "broken")
        assert [(v["rule"], v["subject"]) for v in bad] == [("DEV-IDLE-TIMEOUT", ROUTER)], bad
        [f] = bad[0]["findings"]
        assert f["text"].strip() == "exec-timeout 0 0" and f["file"].endswith(f"{ROUTER}.cfg") and f["line"] > 1
    finally:
        # FRR's default (10 minutes) again; `no exec-timeout` exits 0 here but leaves `0 0` in place.
        undo = ["vtysh", "-c", "configure terminal", "-c", "line vty", "-c", "exec-timeout 10 0"]
        assert run_cli("lab", "exec", "--id", lab.id, ROUTER, *undo).returncode == 0
        shown = run_cli("lab", "exec", "--id", lab.id, ROUTER, "vtysh", "-c", "show running-config")
        assert shown.returncode == 0 and "exec-timeout 0 0" not in shown.stdout
