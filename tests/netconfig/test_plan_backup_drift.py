"""`jinbao config plan`, `backup` and `drift`: read-only, secrets never stored or printed.

The unit tests need no lab; the lab tests run against the session's live lab and restore what
they change (a router's OSPF cost, a stopped node) even when they fail.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from jinbao.redact import REDACTED, Redactor
from jinbao.result import AggregatedResult, Result
from netconfig.backup import commit, default_dir
from tests.support import run_cli

ROUTER = "prov-wan1"


# -- without a lab -------------------------------------------------------------------------------
def test_redaction_by_value_then_by_pattern():
    r = Redactor({"k3y-value": "<secret env:JINBAO_OSPF_KEY>"})
    text = r(
        " ip ospf message-digest-key 1 md5 k3y-value\n"
        " ip ospf message-digest-key 2 md5 typed-by-hand\n"
        "password zebra\n"
        "createUser ops SHA authkey123 AES privkey456\n"
        "local-user admin password irreversible-cipher XYZ\n"
    )
    assert "<secret env:JINBAO_OSPF_KEY>" in text
    for leaked in ("k3y-value", "typed-by-hand", "zebra", "authkey123", "privkey456", "XYZ"):
        assert leaked not in text
    assert text.count(REDACTED) == 5
    assert r(text) == text  # markers and <redacted> are left alone


def _agg(**configs: str | None) -> AggregatedResult:
    agg = AggregatedResult("backup")
    for host, text in configs.items():
        agg.add(
            Result(host, "backup", failed=True, exception="ConnectionFailed")
            if text is None
            else Result(host, "backup", data={"": text})
        )
    return agg


def _log(repo: Path) -> list[str]:
    r = subprocess.run(["git", "-C", str(repo), "log", "--format=%s"], capture_output=True, text=True, check=True)
    return r.stdout.splitlines()


def test_backup_commits_once_per_run_and_keeps_an_unreachable_devices_file(tmp_path):
    agg = _agg(fw="table inet x {}\n")
    agg.results["fw"].data["frr"] = "router ospf\n"
    assert commit(tmp_path / "fw", agg, "lab:x")[1] == ["fw"]  # one device, two files
    assert (tmp_path / "fw" / "fw.frr.cfg").read_text() == "router ospf\n"
    rev, changed = commit(tmp_path, _agg(a="one\n", b="two\n"), "lab:x")
    assert rev and changed == ["a", "b"]
    assert commit(tmp_path, _agg(a="one\n", b="two\n"), "lab:x") == (None, [])  # nothing changed: no commit
    rev, changed = commit(tmp_path, _agg(a="ONE\n", b=None), "lab:x")
    assert changed == ["a"] and (tmp_path / "b.cfg").read_text() == "two\n"
    assert len(_log(tmp_path)) == 2 and "a" in _log(tmp_path)[0]


def test_default_backup_dir_is_a_state_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("JINBAO_STATE_DIR", str(tmp_path))
    assert default_dir("lab:jb1") == tmp_path / "backups" / "lab-jb1"


def test_an_unknown_target_source_is_bad_input():
    for command in ("plan", "drift", "backup"):
        r = run_cli("config", command, "--targets", "nosuch:x", "--estate", "lab")
        assert r.returncode == 2, (command, r.stderr)


# -- against the lab -----------------------------------------------------------------------------
def _secrets(lab) -> list[str]:
    values = [lab.secret("env:JINBAO_OSPF_KEY")]
    for auth, priv in lab.snmp_keys().values():
        values += [auth, priv]
    return values


def _no_secret_in(text: str, lab) -> None:
    for value in _secrets(lab):
        assert value not in text


def _cli_json(*args: str) -> tuple[int, dict, str]:
    r = run_cli("config", *args, "--json")
    return r.returncode, json.loads(r.stdout), r.stdout


def _cost(lab, node: str) -> str:
    running = lab.in_node(node, ["vtysh", "-c", "show running-config"]).stdout
    block = running.split("interface eth1\n", 1)[1].split("exit", 1)[0]
    found = re.search(r"ip ospf cost (\d+)", block)
    return found[1] if found else ""


def _set_cost(lab, node: str, cost: str) -> None:
    line = f"ip ospf cost {cost}" if cost else "no ip ospf cost"
    lab.in_node(node, ["vtysh", "-c", "conf t", "-c", "interface eth1", "-c", line])


@pytest.mark.lab
def test_fresh_lab_plan_has_nothing_to_do(lab):
    rc, got, raw = _cli_json("plan", "--lab", lab.id)
    assert rc == 0, got
    managed = {n for n, node in lab.plan.nodes.items() if node.device.platform in ("frr", "nftables")}
    assert set(got["summary"]["unchanged"]) == managed
    assert "to change" not in got["summary"]
    assert set(got["summary"]["not managed"]) == set(lab.plan.nodes) - managed
    _no_secret_in(raw, lab)


@pytest.mark.lab
def test_a_manual_change_is_drift_in_the_plan_and_in_the_next_backup(lab, tmp_path):
    repo = tmp_path / "backups"
    assert run_cli("config", "backup", "--lab", lab.id, "--dir", str(repo)).returncode == 0
    before = _cost(lab, ROUTER)
    _set_cost(lab, ROUTER, "77")
    try:
        rc, got, raw = _cli_json("drift", "--lab", lab.id)
        assert rc == 0
        assert got["summary"]["drifted"] == [ROUTER]
        assert "ip ospf cost 77" in got["devices"][ROUTER]["diff"]
        assert got["devices"][ROUTER]["recorded"] is None
        _no_secret_in(raw, lab)

        rc, got, raw = _cli_json("plan", "--lab", lab.id, "--device", ROUTER)
        assert rc == 0 and got["summary"] == {"to change": [ROUTER]}
        assert "ip ospf cost 77" in got["devices"][ROUTER]["diff"]
        _no_secret_in(raw, lab)

        rc, got, raw = _cli_json("backup", "--lab", lab.id, "--dir", str(repo))
        assert rc == 0 and got["changed"] == [ROUTER], got
        assert ROUTER in _log(repo)[0] and len(_log(repo)) == 2
        assert "ip ospf cost 77" in (repo / f"{ROUTER}.cfg").read_text()
        stored = "\n".join(p.read_text() for p in repo.glob("*.cfg"))
        stored += subprocess.run(["git", "-C", str(repo), "log", "-p"], capture_output=True, text=True).stdout
        assert "<secret env:JINBAO_OSPF_KEY>" in stored
        _no_secret_in(stored, lab)
    finally:
        _set_cost(lab, ROUTER, before)
    assert _cost(lab, ROUTER) == before


@pytest.mark.lab
def test_a_stopped_node_keeps_its_backup_and_is_named(lab, tmp_path):
    from lab import health

    node = "hefei-wan2"
    repo = tmp_path / "backups"
    assert run_cli("config", "backup", "--lab", lab.id, "--dir", str(repo)).returncode == 0
    old = (repo / f"{node}.cfg").read_text()
    assert run_cli("lab", "node", "stop", "--id", lab.id, node).returncode == 0
    try:
        r = run_cli("config", "backup", "--lab", lab.id, "--dir", str(repo))
        assert r.returncode == 1, r.stderr
        assert f"✗ {node}" in r.stderr and node in r.stdout
        assert f"backup of {len(lab.plan.nodes) - 1} device(s)" in r.stdout
        assert (repo / f"{node}.cfg").read_text() == old
        firewalls = [n for n, node in lab.plan.nodes.items() if node.device.platform == "nftables"]
        assert firewalls and len(list(repo.glob("*.cfg"))) == len(lab.plan.nodes) + len(firewalls)
        for fw in firewalls:  # a firewall's backup holds its ruleset and, beside it, its FRR
            assert "table inet jinbao_zones" in (repo / f"{fw}.cfg").read_text()
            assert "router ospf" in (repo / f"{fw}.frr.cfg").read_text()
        rc, got, _ = _cli_json("plan", "--lab", lab.id)
        assert rc == 1 and got["summary"]["unreachable"] == [node]
    finally:
        run_cli("lab", "node", "start", "--id", lab.id, node, check=True)
        health.wait_converged(lab, timeout=120)
