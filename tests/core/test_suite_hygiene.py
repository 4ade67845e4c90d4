"""The test suite keeps nothing in the home of the account that runs it (tests/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support import REPO


def test_a_run_that_draws_a_png_writes_nothing_into_home(tmp_path):
    # Without matplotlib the --png test takes its "says what is missing" branch and draws nothing.
    pytest.importorskip("matplotlib")
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("MPLCONFIGDIR", "JINBAO_STATE_DIR")}
    env |= {"HOME": str(home), "XDG_CACHE_HOME": "", "XDG_CONFIG_HOME": "", "XDG_STATE_HOME": ""}
    env = {k: v for k, v in env.items() if v != ""}
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-k",
            "png",
            "tests/monitoring/test_history.py",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0 and "1 passed" in r.stdout, r.stdout[-2000:] + r.stderr[-2000:]
    left = sorted(str(p.relative_to(home)) for p in home.rglob("*"))
    assert left == [], f"the run left {left} in its HOME"
