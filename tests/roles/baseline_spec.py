"""Run harden.yml with wrong role variables against a host that cannot even be resolved: the
argument spec (or the role's first, local check) must refuse them before any host is contacted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support import REPO


def refused(tmp_path: Path, tag: str, *extra_vars: str) -> str:
    """ansible-playbook's output for harden.yml limited to one role's tag, with extra_vars; checks
    the run failed on the host as bad input (failed, never unreachable) before any task connected."""
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("platform_linux:\n  hosts:\n    nowhere.invalid:\n")
    args = [a for v in extra_vars for a in ("-e", v)]
    r = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i",
            str(inventory),
            *args,
            "--tags",
            tag,
            "playbooks/harden.yml",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_HOME": str(tmp_path)},
    )
    assert r.returncode == 2, r.stdout + r.stderr
    assert "unreachable=0" in r.stdout and "failed=1" in r.stdout, r.stdout
    assert "Gather the OS family" not in r.stdout, r.stdout  # stopped before the first task that connects
    return r.stdout
