"""The lab's plan refuses an estate it cannot build before anything is made (no root needed)."""

from __future__ import annotations

import shutil

from tests.support import REPO, run_cli


def test_a_device_named_like_the_labs_own_namespaces_is_refused_before_anything_is_made(tmp_path):
    # Nodes live in '<id>-<device>' beside the lab's '<id>-sw' and '<id>-ops': a device named sw
    # or ops would share a namespace, and `lab up` stopped halfway on 'File exists'.
    est = tmp_path / "estate"
    shutil.copytree(REPO / "inventory" / "lab", est)
    sites = (est / "sites.yml").read_text()
    (est / "sites.yml").write_text(sites.replace("{name: prov-app1,", "{name: ops,"))
    root = tmp_path / "labs"
    r = run_cli("lab", "up", "--estate", str(est), "--id", "jbplan", env={"JINBAO_LAB_ROOT": str(root)}, timeout=60)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "sites.yml:26: name: the lab keeps the name 'ops' for itself" in r.stderr and "rename" in r.stderr
    assert not root.exists()
