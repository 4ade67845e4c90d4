"""postgresql's and keepalived's argument specs refuse wrong variables before any host is
contacted, and a password pasted where its reference belongs is refused without being echoed."""

from __future__ import annotations

from pathlib import Path

from tests.roles.spec_support import run_refused

PLAYBOOK = "playbooks/dr-prepare.yml"
# What the inventory plugin gives a DR pair's primary (jinbao/ansible_dr.py), written out.
PAIR = {
    "jinbao_dr_pairs": [
        {
            "name": "core-db",
            "role": "primary",
            "peer": "dr-db1",
            "address": "10.90.0.66",
            "peer_address": "10.90.1.66",
            "primary": "prov-db1",
            "standby": "dr-db1",
            "replication": "sync",
            "application_name": "dr_db1",
            "service_address": "10.90.0.14",
        }
    ]
}


def _refused(tmp_path: Path, tags: str, *extra: dict) -> str:
    return run_refused(tmp_path, PLAYBOOK, tags, PAIR, *extra, groups=("dr_primary",))


def test_a_pair_role_other_than_primary_or_standby_is_refused(tmp_path: Path):
    out = _refused(tmp_path, "postgresql", {"postgresql_dr_role": "witness"})
    assert "value of postgresql_dr_role must be one of: primary, standby, got: witness" in out


def test_a_port_that_is_not_a_number_is_refused(tmp_path: Path):
    out = _refused(tmp_path, "postgresql", {"postgresql_port": "five"})
    assert "postgresql_port" in out and "int" in out


def test_a_replication_password_in_place_of_its_reference_is_refused_and_not_shown(tmp_path: Path):
    password = "Pasted-Replication-Pw-0123"
    out = _refused(tmp_path, "postgresql", {"postgresql_replication_password_ref": password})
    assert "censored" in out and password not in out


def test_a_vrrp_router_id_that_is_not_a_number_is_refused(tmp_path: Path):
    out = _refused(tmp_path, "keepalived", {"keepalived_virtual_router_id": "core"})
    assert "keepalived_virtual_router_id" in out and "int" in out


def test_a_vrrp_password_in_place_of_its_reference_is_refused_and_not_shown(tmp_path: Path):
    password = "vrrpPw12"
    out = _refused(tmp_path, "keepalived", {"keepalived_auth_pass_ref": password})
    assert "censored" in out and password not in out
