"""common refuses wrong variables before any host is contacted: a wrong type or choice through its
argument spec, and a password given as a value instead of a secret reference through its first
(local) check; the value itself is not echoed back."""

from __future__ import annotations

import json
from pathlib import Path

from tests.roles.spec_support import run_refused

NTP = 'common_ntp_servers=["10.0.0.1"]'
LOG = 'common_syslog_collectors=["10.0.0.2"]'


def test_a_wrong_common_variable_is_refused_by_the_argument_spec(tmp_path: Path):
    admins = json.dumps({"common_admins": [{"name": "ops", "role": "root", "password": "env:X"}]})
    out = run_refused(tmp_path, "playbooks/harden.yml", "common", NTP, LOG, "common_syslog_protocol=relp", admins)
    assert "value of common_syslog_protocol must be one of: tcp, udp, got: relp" in out
    assert "value of role must be one of: system, security, audit, got: root" in out


def test_a_password_value_instead_of_a_reference_is_refused_without_being_shown(tmp_path: Path):
    admins = json.dumps({"common_admins": [{"name": "ops", "role": "system", "password": "Plain-Text-Pw1"}]})
    out = run_refused(tmp_path, "playbooks/harden.yml", "common", NTP, LOG, admins)
    assert "must be a reference (env:NAME, file:PATH or vault:FILE#KEY)" in out
    assert "Plain-Text-Pw1" not in out
