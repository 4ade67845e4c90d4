"""`jinbao lab down --orphans`: the labs of a test run killed with -9 are removed by the next run,
and no other lab is touched: one held by a living process, one brought up by hand (no holder)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from lab.record import holder, holder_alive
from tests.support import run_cli

pytestmark = pytest.mark.lab


def _dead_holder() -> str:
    """The holder string of a process that has ended (its pid may be reused; its start time not)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        held_by = holder(proc.pid)
    finally:
        proc.kill()
        proc.wait()
    return held_by


def test_a_holder_names_one_process_even_after_its_pid_is_reused():
    assert holder_alive(holder())
    dead = _dead_holder()
    assert not holder_alive(dead)
    pid = dead.partition(":")[0]
    assert not holder_alive(f"{pid}:1")  # same pid, another start time: another process
    assert not holder_alive("garbage")


def test_down_orphans_removes_only_labs_whose_holder_is_gone(tmp_path):
    root = tmp_path / "labroot"
    root.mkdir()
    labs = {"jbzzorphan": _dead_holder(), "jbzzheld": holder(), "jbzzbyhand": None}
    for lab_id, held_by in labs.items():
        (root / lab_id).mkdir()
        state = {"id": lab_id, "estate": "lab", "created": 0, "namespaces": [], "etc_links": []}
        if held_by:
            state["held_by"] = held_by
        (root / lab_id / "state.json").write_text(json.dumps(state))
    env = {"JINBAO_LAB_ROOT": str(root)}
    r = run_cli("lab", "down", "--orphans", env=env)
    assert r.returncode == 0, r.stderr
    assert "jbzzorphan removed" in r.stdout, r.stdout
    assert sorted(p.name for p in root.iterdir()) == ["jbzzbyhand", "jbzzheld"]
    r = run_cli("lab", "down", "--orphans", env=env)
    assert r.returncode == 0 and "no orphaned lab" in r.stdout, r.stdout + r.stderr
    r = run_cli("lab", "down", "--orphans", "--all", env=env)
    assert r.returncode == 2 and "give one of them" in r.stderr, r.stderr


def test_the_state_folders_of_killed_test_runs_are_swept(monkeypatch, tmp_path):
    """A test run killed with -9 leaves its state folder in /tmp; the next run removes it, and
    leaves a living run's folder and one that names no holder yet."""
    from tests import conftest

    monkeypatch.setattr(conftest.tempfile, "gettempdir", lambda: str(tmp_path))
    dead, alive, unnamed = (tmp_path / f"{conftest._PREFIX}{n}" for n in ("dead", "alive", "unnamed"))
    for d in (dead, alive, unnamed):
        (d / "gw0").mkdir(parents=True)
    (dead / conftest._HOLDER_FILE).write_text(_dead_holder())
    (alive / conftest._HOLDER_FILE).write_text(holder())
    assert conftest._sweep_run_dirs() == [str(dead)]
    assert not dead.exists() and alive.exists() and unnamed.exists()
