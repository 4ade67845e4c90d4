"""The inventory gives every host the estate's management plane (jinbao_management), which the
baseline roles read: servers with their addresses, and passwords as references only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from jinbao.estate import load_estate
from tests.support import REPO


def test_every_host_gets_the_management_plane_with_passwords_as_references(tmp_path: Path):
    r = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-inventory"), "-i", "inventory/lab.jinbao.yml", "--host", "dr-db1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_HOME": str(tmp_path)},
    )
    assert r.returncode == 0, r.stderr
    mgmt = json.loads(r.stdout)["jinbao_management"]
    e = load_estate("lab")
    mp = e.management_plane
    assert mp is not None
    assert mgmt["ntp"] == [{"name": n, "address": str(e.devices[n].mgmt_ip)} for n in mp.ntp]
    assert mgmt["syslog"] == [{"name": n, "address": str(e.devices[n].mgmt_ip)} for n in mp.syslog]
    assert mgmt["banner"] == mp.banner and mgmt["login"]["max_failures"] == mp.login.max_failures
    assert [(u["name"], u["role"], u["password"]) for u in mgmt["users"]] == [
        (u.name, u.role, u.password.ref) for u in mp.users
    ]
