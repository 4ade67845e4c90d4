"""auditd refuses wrong variables before any host is contacted."""

from __future__ import annotations

import json
from pathlib import Path

from tests.roles.spec_support import run_refused


def test_a_wrong_auditd_variable_is_refused_before_any_host_is_touched(tmp_path: Path):
    groups = json.dumps({"auditd_rule_groups": ["identity", "keystrokes"]})
    out = run_refused(tmp_path, "playbooks/harden.yml", "auditd", groups, "auditd_disk_full_action=ignore_it")
    assert "auditd_rule_groups" in out and "keystrokes" in out
    assert "value of auditd_disk_full_action must be one of" in out
