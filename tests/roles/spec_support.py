"""Run a playbook against a host that cannot even be resolved, with wrong role variables: an
argument spec must refuse them before the host is contacted (failed, never unreachable)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support import REPO

# What the jinbao inventory plugin gives a Linux server, written out (the spec tests need no estate).
HOSTVARS = {
    "jinbao_site": "prov",
    "jinbao_snmp": {
        "user": "jinbao-mon",
        "auth_protocol": "sha",
        "priv_protocol": "aes",
        "auth_key": "env:JINBAO_SNMP_AUTH_KEY",
        "priv_key": "env:JINBAO_SNMP_PRIV_KEY",
        "trap_targets": [],
    },
    "jinbao_host_firewall": {
        "mgmt_interface": "mgmt0",
        "mgmt_from": "10.91.0.0/16",
        "mgmt_services": [],
        "inbound": [],
    },
}


def run_refused(
    tmp_path: Path, playbook: str, tags: str, *extra: dict | str, groups: tuple[str, ...] = ("platform_linux",)
) -> str:
    """Run playbook (only tags) with extra vars (each a dict, or a string as `-e` takes it), the host
    in groups; return its output after checking it stopped at the argument check with the host
    failed, not unreachable."""
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(json.dumps({g: {"hosts": {"nowhere.invalid": HOSTVARS}} for g in groups}))
    r = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i",
            str(inventory),
            "--tags",
            tags,
            *(a for e in extra for a in ("-e", e if isinstance(e, str) else json.dumps(e))),
            playbook,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_HOME": str(tmp_path),
        },
    )
    assert r.returncode == 2, r.stdout + r.stderr
    assert "unreachable=0" in r.stdout and "failed=1" in r.stdout, r.stdout
    assert "Gather the OS family" not in r.stdout  # stopped before the first task that connects
    return r.stdout
