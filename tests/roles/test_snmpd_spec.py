"""snmpd's argument spec refuses weak protocols before any host is contacted, and the role refuses
a key pasted where its reference belongs without echoing it."""

from __future__ import annotations

from pathlib import Path

from tests.roles.spec_support import run_refused


def test_weak_snmp_protocols_are_refused_before_any_host_is_touched(tmp_path: Path):
    out = run_refused(
        tmp_path, "playbooks/harden.yml", "snmpd", {"snmpd_auth_protocol": "md5", "snmpd_priv_protocol": "des"}
    )
    assert "value of snmpd_auth_protocol must be one of: sha, sha256, sha512, got: md5" in out
    assert "snmpd_priv_protocol" in out


def test_a_key_in_place_of_its_reference_is_refused_and_not_shown(tmp_path: Path):
    key = "Pasted-Auth-Key-0123456789"
    out = run_refused(tmp_path, "playbooks/harden.yml", "snmpd", {"snmpd_auth_key_ref": key})
    assert "censored" in out and key not in out
