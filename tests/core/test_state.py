"""The state folder and the one lock every long-running command takes (jinbao/state.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from jinbao import state
from jinbao.errors import JinbaoError
from tests.support import run_cli

HOLD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from jinbao import state
    with state.exclusive(Path(sys.argv[1]), "busy: {holder}"):
        print("held", flush=True)
        time.sleep(120)
    """
)


def _holder(path):
    """A separate process holding path's lock until it is killed; returns it once it holds."""
    p = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "held"
    return p


def test_state_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("JINBAO_STATE_DIR", str(tmp_path))
    assert state.state_dir("drills") == tmp_path / "drills"
    monkeypatch.delenv("JINBAO_STATE_DIR")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "x"))
    assert state.state_dir() == tmp_path / "x" / "jinbao"


def test_a_second_holder_is_refused_naming_the_first_and_sigkill_frees_the_lock(tmp_path):
    lock = tmp_path / "one.lock"
    p = _holder(lock)
    try:
        assert state.holder_pid(state.holder(lock)) == p.pid
        with pytest.raises(state.Busy) as e, state.exclusive(lock, "busy: {holder}"):
            pytest.fail("the body of a refused lock ran")
        assert f"pid {p.pid}" in str(e.value)
    finally:
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
    assert state.holder(lock) is None  # the kernel dropped the flock with the process
    with state.exclusive(lock, "busy: {holder}"):
        pass  # free again: taken at once


def test_a_second_drill_on_the_same_lab_is_refused_before_anything_is_touched(tmp_path):
    env = {"JINBAO_STATE_DIR": str(tmp_path)}
    lock = tmp_path / "drills" / "lab-jbnone.lock"
    p = _holder(lock)
    try:
        for args in (("dr", "run", "switchover", "--lab", "jbnone"), ("dr", "restore", "--lab", "jbnone")):
            r = run_cli(*args, env=env)
            assert r.returncode == 2, r.stderr
            assert f"already running on lab jbnone (pid {p.pid}" in r.stderr
            assert "nothing was touched" in r.stderr
    finally:
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
    # with the lock free the same command goes on, and fails on what it finds: no such lab
    r = run_cli("dr", "restore", "--lab", "jbnone", env=env)
    assert "already running" not in r.stderr


KILLED_BEFORE_RENAME = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from jinbao import state

    def stall(self, target):  # the moment between the whole write and the rename
        print("written", flush=True)
        time.sleep(120)

    Path.replace = stall
    state.write_whole(Path(sys.argv[1]), "new " * 100000)
    """
)


def test_a_writer_killed_before_its_rename_leaves_the_old_file_whole_and_nothing_a_reader_globs(tmp_path):
    kept = tmp_path / "runs" / "20261201T000000000000.json"
    state.write_whole(kept, '{"old": true}')
    p = subprocess.Popen([sys.executable, "-c", KILLED_BEFORE_RENAME, str(kept)], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "written"
    finally:
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
    assert kept.read_text() == '{"old": true}'
    assert sorted(kept.parent.glob("*.json")) == [kept]  # the writer's leftover is not a run
    # a failed rename leaves nothing behind at all
    with pytest.raises(JinbaoError, match="is a directory"):
        state.write_whole(tmp_path / "runs", "x")
    assert not list(tmp_path.glob(".runs.*.tmp"))
