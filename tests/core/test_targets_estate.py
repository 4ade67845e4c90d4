"""The estate as a target source: `estate:<name>` gives every device at its inventory address,
with login settings from the environment and nothing secret in the target."""

from __future__ import annotations

import pytest

from jinbao.errors import JinbaoError
from jinbao.target import targets
from tests.support import run_cli


def test_every_device_of_the_estate_is_a_target_at_its_management_address(monkeypatch, tmp_path, lab_estate):
    key = tmp_path / "id_ed25519"
    key.write_text("not read, only named\n")
    monkeypatch.setenv("JINBAO_SSH_USER", "netops")
    monkeypatch.setenv("JINBAO_SSH_KEY", str(key))
    monkeypatch.setenv("JINBAO_SSH_PASSWORD", "env:NETOPS_PASSWORD")
    got = targets("estate:lab")
    assert set(got) == set(lab_estate.devices)
    t = got["prov-wan1"]
    assert t.host == str(lab_estate.devices["prov-wan1"].mgmt_ip) and t.platform == "frr"
    assert t.user == "netops" and t.identity_file == key and t.password_ref == "env:NETOPS_PASSWORD"
    assert t.netns is None  # production's management network is reached from where jinbao runs


def test_a_key_that_is_not_a_file_is_bad_input_naming_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("JINBAO_SSH_KEY", str(tmp_path / "missing"))
    with pytest.raises(JinbaoError, match=r"\$JINBAO_SSH_KEY names .*missing"):
        targets("estate:lab")
    r = run_cli("config", "plan", "--targets", "estate:lab", env={"JINBAO_SSH_KEY": str(tmp_path / "missing")})
    assert r.returncode == 2 and "JINBAO_SSH_KEY" in r.stderr, r.stderr
    with pytest.raises(JinbaoError):
        targets("estate:nosuch-estate")
