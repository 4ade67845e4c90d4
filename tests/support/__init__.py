"""Helpers the test modules share: plain code, imported as `from tests.support import ...`.

They live here rather than in conftest.py because conftest is pytest's plugin file (fixtures and
hooks); importing it by name as a module only works while a single conftest sits on sys.path.
"""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
JINBAO = [sys.executable, "-m", "jinbao.cli"]


def run_cli(*args, check=False, env=None, timeout=300):
    """Run the real `jinbao` CLI in a subprocess, from the repo root, as an operator would."""
    return subprocess.run(
        [*JINBAO, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=check,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )
