"""What the roles' lab tests share: one lab per module, converge, testinfra failures by name, and
the secret values a run must never print."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET

import pytest

from lab import automation, runtime


def own_lab():
    """A module-scoped lab of the `lab` estate, brought down even when a test fails."""
    if os.geteuid() != 0:
        pytest.skip("the lab needs root (network namespaces)")
    lab = runtime.up("lab", runtime.new_id(), wait=False)
    try:
        yield lab
    finally:
        runtime.down(lab)


def converge(lab, playbook: str, hosts: list[str], *args: str) -> dict[str, tuple[int, ...]]:
    """Run the playbook on hosts only; (ok, changed, unreachable, failed) per host. No secret value
    of the lab may appear in what Ansible printed."""
    r, recap = automation.playbook(lab, playbook, "--limit", ",".join(hosts), *args)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert set(recap) == set(hosts), r.stdout[-2000:]
    leaked = [name for name, value in lab.secrets_env().items() if value in r.stdout + r.stderr]
    assert not leaked, f"Ansible printed the value of {leaked}"
    return recap


def changed(recap: dict[str, tuple[int, ...]]) -> set[str]:
    return {h for h, counts in recap.items() if counts[1] > 0}


def failures(lab, suite: str, nodes: list[str]) -> set[tuple[str, str]]:
    """(test name, host address) of every testinfra check of suite that failed on nodes."""
    report = lab.dir / "ansible" / "testinfra.xml"
    r = automation.testinfra(lab, suite, nodes, f"--junitxml={report}")
    assert r.returncode in (0, 1), r.stdout[-3000:] + r.stderr[-2000:]
    cases = ET.parse(report).getroot().iter("testcase")
    names = [c.get("name", "") for c in cases if c.find("failure") is not None or c.find("error") is not None]
    assert (r.returncode == 0) == (names == []), r.stdout[-3000:]
    leaked = [name for name, value in lab.secrets_env().items() if value in r.stdout + r.stderr]
    assert not leaked, f"testinfra printed the value of {leaked}"
    return {(n.split("[")[0], n.split("[")[1].rstrip("]").removeprefix("ssh://")) for n in names}


def ip(lab, node: str) -> str:
    return str(lab.plan.nodes[node].device.mgmt_ip)
