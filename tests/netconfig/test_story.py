"""The README's network-engineer story, run as written: the fenced block between its markers,
with `jinbao` on PATH and $LAB set, as an operator who copied it would run it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO

from .labchange import _plan, _restore


def story() -> str:
    text = (REPO / "README.md").read_text()
    m = re.search(r"<!-- story:network-engineer -->\n```sh\n(.*?)```\n<!-- /story -->", text, re.S)
    assert m, "README.md lost its network-engineer story block"
    return m.group(1)


def test_the_story_block_uses_only_jinbao_and_the_shell():
    commands = [ln.split("#")[0].strip() for ln in story().splitlines() if ln.strip()]
    assert all(c.startswith(("jinbao config", "EST=", "sed ")) for c in commands), commands
    assert any(c.startswith("jinbao config apply") for c in commands)


@pytest.mark.lab
def test_the_readme_story_runs_as_written(lab, tmp_path):
    env = {**os.environ, "LAB": lab.id, "JINBAO_STATE_DIR": str(tmp_path / "state"), "TMPDIR": str(tmp_path),
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}  # fmt: skip
    try:
        r = subprocess.run(["bash", "-euo", "pipefail", "-c", story()], cwd=REPO, env=env, capture_output=True,
                           text=True, timeout=900)  # fmt: skip
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        out = r.stdout
        assert "ip ospf cost 40" in out  # the plan showed the change
        assert re.search(r"\b2 applied\b.*dr-wan1, prov-wan1", out), out  # the apply
        assert "state check passed" in r.stderr, r.stderr
        assert re.search(r"\b0 drifted\b", out), out  # the drift report
        assert re.search(r"Z-\w+\s+apply\s+by \S+ at .*: 2 applied", out), out  # the change log
        assert re.search(r"rollback \d{8}T\d{6}Z-", out), out  # the rollback's own summary
        assert _plan(lab, "lab")["summary"].get("to change") is None  # the rollback restored the lab
    finally:
        _restore(lab, {"JINBAO_STATE_DIR": str(tmp_path / "state")})
