"""What the lab tests of the baseline roles (common, os_hardening, auditd) share: a lab of the
module's own, a converge of one role's tag over the lab's servers, and testinfra failures read
back as (check, host) pairs. The pattern is test_ssh_hardening_lab.py's."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET

import pytest

from lab import automation, runtime
from lab.record import Lab

PLAYBOOK = "playbooks/harden.yml"


def own_lab():
    """Generator for a module-scoped fixture: a lab of the module's own, always taken down."""
    if os.geteuid() != 0:
        pytest.skip("the lab needs root (network namespaces)")
    lab = runtime.up("lab", runtime.new_id(), wait=False)
    try:
        yield lab
    finally:
        runtime.down(lab)


def assert_own_roots(lab: Lab) -> None:
    """Every server runs on its own overlay root: a role converged there cannot reach the machine."""
    for node in automation.servers(lab):
        fstype = lab.in_node(node, ["findmnt", "-no", "FSTYPE", "/"]).stdout.strip()
        assert fstype == "overlay", f"{node}: / is {fstype!r}, not the node's own overlay: refusing to converge"


def converge(lab: Lab, tag: str) -> dict[str, int]:
    """Converge the role's tag on every server; changed tasks per host. No secret of the lab may
    appear in Ansible's output."""
    r, recap = automation.playbook(lab, PLAYBOOK, "--tags", tag)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert set(recap) == set(automation.servers(lab)), r.stdout[-2000:]
    leaked = [k for k, v in lab.secrets_env().items() if v in r.stdout or v in r.stderr]
    assert leaked == [], f"the values of {leaked} appear in Ansible's output"
    return {host: counts[1] for host, counts in recap.items()}


def failures(lab: Lab, suite: str, nodes: list[str]) -> set[tuple[str, str]]:
    """(test name with its parameter if any, host address) of every testinfra check that failed."""
    report = lab.dir / "ansible" / "testinfra.xml"
    r = automation.testinfra(lab, suite, nodes, f"--junitxml={report}")
    assert r.returncode in (0, 1), r.stdout[-3000:] + r.stderr[-2000:]
    print(r.stdout[-6000:])  # shown by pytest when the test fails: why each check failed
    out = set()
    for case in ET.parse(report).getroot().iter("testcase"):
        if case.find("failure") is None and case.find("error") is None:
            continue
        name, _, params = case.get("name", "").partition("[")
        host, _, param = params.rstrip("]").removeprefix("ssh://").partition("-")
        out.add((f"{name}[{param}]" if param else name, host))
    assert (r.returncode == 0) == (out == set()), r.stdout[-3000:]
    return out
