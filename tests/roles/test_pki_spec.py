"""pki_trust's and pki_cert's argument specs refuse wrong variables before any host is contacted."""

from __future__ import annotations

from pathlib import Path

from tests.roles.spec_support import run_refused


def test_a_wrong_profile_is_refused_before_any_host_is_touched(tmp_path: Path):
    out = run_refused(
        tmp_path,
        "playbooks/pki.yml",
        "pki_cert",
        {"pki_cert_profile": "person_sign", "pki_cert_operator": "/nowhere/officer", "pki_cert_renew_days": "soon"},
    )
    assert "value of pki_cert_profile must be one of: server_tls, client_tls, network_device, got: person_sign" in out
    assert "pki_cert_renew_days" in out


def test_trust_refuses_a_certificate_list_that_is_not_a_list(tmp_path: Path):
    out = run_refused(tmp_path, "playbooks/pki.yml", "pki_trust", {"pki_trust_certs": {"root": "root.crt"}})
    assert "pki_trust_certs" in out
