"""The README's ops story, run as written: the fenced block between its markers, with `jinbao` on
PATH and $LAB set, as an operator who copied it would run it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.dr.labkit import START, pair_state, put_back
from tests.support import REPO


def story() -> str:
    text = (REPO / "README.md").read_text()
    m = re.search(r"<!-- story:ops -->\n```sh\n(.*?)```\n<!-- /story -->", text, re.S)
    assert m, "README.md lost its ops story block"
    return m.group(1)


def test_the_ops_story_uses_only_jinbao():
    commands = [ln.split("#")[0].strip() for ln in story().splitlines() if ln.strip()]
    assert commands and all(c.startswith("jinbao ") for c in commands), commands
    assert any(" dr run " in f" {c} " for c in commands) and any(" dr report" in c for c in commands)


@pytest.mark.lab
@pytest.mark.slow
def test_the_readme_ops_story_runs_as_written(drlab, tmp_path):
    state = tmp_path / "state"
    env = {**os.environ, "LAB": drlab, "JINBAO_STATE_DIR": str(state),
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}  # fmt: skip
    assert pair_state(drlab) == START
    try:
        r = subprocess.run(["bash", "-euo", "pipefail", "-c", story()], cwd=REPO, env=env, capture_output=True,
                           text=True, timeout=900)  # fmt: skip
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        (run,) = [p for p in (state / "drills").iterdir() if p.is_dir()]
        audit = json.loads((run / "audit.json").read_text())
        assert audit["participants"] == ["Li Wei (ops)", "Zhao Min (auditor)"], audit.get("participants")
        assert "Zhao Min (auditor)" in (run / "audit.html").read_text()
        assert re.search(r"drill switchover \(\S+\): (pass|conditional|fail)", r.stdout), r.stdout
        assert "lost" in r.stdout and "RTO" in r.stdout  # the measured figures, printed by the run
        assert pair_state(drlab) == START  # the switchover came back
    finally:
        put_back(drlab)
