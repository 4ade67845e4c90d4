"""The test suite keeps nothing in the home of the account that runs it (tests/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support import REPO

# Tests that run a tool which writes into home unless told otherwise.
TOOL_TESTS = {
    "matplotlib": ["-k", "png", "tests/monitoring/test_history.py"],
    "ansible": ["-k", "ansible_refuses_a_broken_estate", "tests/core/test_inventory.py"],
}


def _pytest(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """A pytest run of its own, from the repo, with env as its whole environment."""
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("tool", sorted(TOOL_TESTS))
def test_a_run_of_tests_that_use_the_tool_writes_nothing_into_home(tool, tmp_path):
    # Without matplotlib the --png test takes its "says what is missing" branch and draws nothing.
    pytest.importorskip(tool)
    home = tmp_path / "home"
    home.mkdir()
    drop = ("MPLCONFIGDIR", "JINBAO_STATE_DIR", "ANSIBLE_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME")
    env = {k: v for k, v in os.environ.items() if k not in drop} | {"HOME": str(home)}
    r = _pytest(*TOOL_TESTS[tool], env=env)
    assert r.returncode == 0 and " passed" in r.stdout, r.stdout[-2000:] + r.stderr[-2000:]
    left = sorted(str(p.relative_to(home)) for p in home.rglob("*"))
    assert left == [], f"the run left {left} in its HOME"


def test_a_passing_run_leaves_no_tmp_path_folder(tmp_path):
    root = tmp_path / "temproot"
    root.mkdir()
    env = {**os.environ, "PYTEST_DEBUG_TEMPROOT": str(root)}
    r = _pytest("-k", "state_dir_follows_the_environment", "tests/core/test_state.py", env=env)
    assert r.returncode == 0 and "1 passed" in r.stdout, r.stdout[-2000:] + r.stderr[-2000:]
    left = sorted(str(p.relative_to(root)) for p in root.glob("*/pytest-[0-9]*"))
    assert left == [], f"the run kept {left}"
