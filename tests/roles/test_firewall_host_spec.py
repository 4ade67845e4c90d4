"""firewall_host's argument spec refuses a policy without its management part before any host is
contacted: a rule set built without it could not keep SSH open."""

from __future__ import annotations

from pathlib import Path

from tests.roles.spec_support import run_refused


def test_a_policy_without_its_management_network_is_refused_before_any_host_is_touched(tmp_path: Path):
    out = run_refused(
        tmp_path,
        "playbooks/harden.yml",
        "firewall_host",
        {"firewall_host_policy": {"mgmt_interface": "mgmt0", "mgmt_services": [], "inbound": []}},
    )
    assert "missing required arguments: mgmt_from found in firewall_host_policy" in out
