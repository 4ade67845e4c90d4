"""What the roles' lab tests share: the lab (one for the whole package, see conftest.py), a
converge that refuses to run on anything but a node's own root, testinfra failures read back as
(check, host) pairs, and the secret values a run must never print."""

from __future__ import annotations

import os

import pytest

from jinbao.verify import read_junit
from lab import automation, runtime
from lab.record import Lab

HARDEN = "playbooks/harden.yml"


def own_lab():
    """Generator for a fixture: a lab of the `lab` estate, brought down even when a test fails.
    JINBAO_TEST_LAB=ID uses a lab you brought up yourself (for a quick loop) and leaves it up."""
    if os.geteuid() != 0:
        pytest.skip("the lab needs root (network namespaces)")
    reuse = os.environ.get("JINBAO_TEST_LAB")
    if reuse:
        yield Lab.find(reuse)
        return
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


def converge(lab: Lab, playbook: str, hosts: list[str], *args: str) -> dict[str, tuple[int, ...]]:
    """Run the playbook on hosts only; (ok, changed, unreachable, failed) per host. No secret value
    of the lab may appear in what Ansible printed."""
    assert_own_roots(lab)
    r, recap = automation.playbook(lab, playbook, "--limit", ",".join(hosts), *args)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert set(recap) == set(hosts), r.stdout[-2000:]
    leaked = [name for name, value in lab.secrets_env().items() if value in r.stdout + r.stderr]
    assert not leaked, f"Ansible printed the value of {leaked}"
    return recap


def converge_role(lab: Lab, tag: str, hosts: list[str] | None = None) -> set[str]:
    """Converge one role of harden.yml (by its tag) on hosts (every server by default); the
    servers it changed. A repair after a hand edit runs on the edited node only: the second
    converge already showed the others have nothing to change, and each converge of all four
    costs about a minute on the 2-core machine."""
    return changed(converge(lab, HARDEN, hosts or automation.servers(lab), "--tags", tag))


def changed(recap: dict[str, tuple[int, ...]]) -> set[str]:
    return {h for h, counts in recap.items() if counts[1] > 0}


def failures(lab: Lab, suite: str, nodes: list[str]) -> set[tuple[str, str]]:
    """(test name with its parameter if any, host address) of every testinfra check of suite that
    failed on nodes."""
    report = lab.dir / "ansible" / "testinfra.xml"
    r = automation.testinfra(lab, suite, nodes, f"--junitxml={report}")
    assert r.returncode in (0, 1), r.stdout[-3000:] + r.stderr[-2000:]
    print(r.stdout[-6000:])  # shown by pytest when the test fails: why each check failed
    addrs = {ip(lab, n): ip(lab, n) for n in nodes}
    checks, _ = read_junit(report, addrs)  # verify's own reader: a parametrized id keeps its parameter
    out = {
        (label.partition(": ")[2], a) for a, c in checks.items() for label, o in c.items() if o in ("failed", "error")
    }
    assert (r.returncode == 0) == (out == set()), r.stdout[-3000:]
    leaked = [name for name, value in lab.secrets_env().items() if value in r.stdout + r.stderr]
    assert not leaked, f"testinfra printed the value of {leaked}"
    return out


def ip(lab: Lab, node: str) -> str:
    return str(lab.plan.nodes[node].device.mgmt_ip)
