"""ssh_hardening's argument spec refuses a wrong variable before any host is contacted (the play
gathers no facts, so the check is the first thing that runs). The host here cannot even be
resolved: it is reported failed, never unreachable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support import REPO


def test_a_wrong_role_variable_is_refused_before_any_host_is_touched(tmp_path: Path):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("platform_linux:\n  hosts:\n    nowhere.invalid:\n")
    r = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i",
            str(inventory),
            "-e",
            "ssh_hardening_permit_root_login=yes",
            "-e",
            "ssh_hardening_max_auth_tries=many",
            # the other roles of harden.yml have their own spec tests
            "--tags",
            "ssh_hardening",
            "playbooks/harden.yml",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_HOME": str(tmp_path)},
    )
    assert r.returncode == 2, r.stdout + r.stderr
    assert "value of ssh_hardening_permit_root_login must be one of: no, prohibit-password, got: yes" in r.stdout
    assert "ssh_hardening_max_auth_tries" in r.stdout
    assert "unreachable=0" in r.stdout and "failed=1" in r.stdout
    assert "Gather the OS family" not in r.stdout  # stopped before the first task that connects
