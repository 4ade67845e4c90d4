"""os_hardening refuses wrong variables before any host is contacted."""

from __future__ import annotations

from pathlib import Path

from tests.roles.spec_support import run_refused


def test_a_wrong_os_hardening_variable_is_refused_before_any_host_is_touched(tmp_path: Path):
    out = run_refused(
        tmp_path,
        "playbooks/harden.yml",
        "os_hardening",
        "os_hardening_pwquality_minclass=5",
        "os_hardening_pass_max_days=soon",
    )
    assert "value of os_hardening_pwquality_minclass must be one of: 1, 2, 3, 4, got: 5" in out
    assert "os_hardening_pass_max_days" in out


def test_a_umask_that_is_not_octal_is_refused_before_any_host_is_touched(tmp_path: Path):
    out = run_refused(tmp_path, "playbooks/harden.yml", "os_hardening", "os_hardening_umask=0x1f")
    assert "os_hardening_umask must be three octal digits" in out
