"""jinbao provision / verify without a lab: what they refuse (exit 2, before any host), how a Seat
writes the way to each host, how Ansible's output is read and redacted, and site.yml's imports."""

from __future__ import annotations

import json
import re

import pytest

from jinbao.errors import JinbaoError
from jinbao.provision import IMPORT, PLAYBOOKS, Seat, _split, playbook_path, seat
from jinbao.verify import CASE, _role_of, suites
from tests.support import run_cli


def test_site_imports_every_other_playbook():
    """A playbook added to playbooks/ (pki.yml, dr-prepare.yml) is part of "everything" only once
    site.yml imports it: this fails until it does."""
    imported = IMPORT.findall((PLAYBOOKS / "site.yml").read_text())
    others = sorted(p.name for p in PLAYBOOKS.glob("*.yml") if p.name != "site.yml")
    assert sorted(imported) == others


def test_a_playbook_importing_a_missing_one_is_named_not_parsed(tmp_path):
    book = tmp_path / "all.yml"
    book.write_text("- name: Everything\n  ansible.builtin.import_playbook: nosuch.yml\n")
    with pytest.raises(JinbaoError, match="all.yml imports nosuch.yml"):
        playbook_path(str(book))
    with pytest.raises(JinbaoError, match="no playbook 'nosuch'.*harden"):
        playbook_path("nosuch")
    assert playbook_path("harden") == PLAYBOOKS / "harden.yml"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            ["provision", "--role", "nosuch", "--playbook", "harden"],
            "no role 'nosuch' in roles/; roles: auditd, common, firewall_host",
        ),
        (["provision", "--playbook", "nosuch"], "no playbook 'nosuch'"),
        (["provision", "--playbook", "harden", "--estate", "lab", "--site", "atlantis"], "no site 'atlantis'"),
        (["verify", "--estate", "lab", "--host", "prov-wan1"], "prov-wan1: not a Linux server of estate lab"),
        (["verify", "--role", "nosuch"], "no role 'nosuch'"),
        (["verify", "--lab", "jbnosuch"], "no lab jbnosuch"),
    ],
)
def test_bad_input_is_exit_2_before_any_host(args, says):
    r = run_cli(*args)
    assert r.returncode == 2, r.stdout + r.stderr
    assert says in " ".join(r.stderr.split()), r.stderr


def test_a_seat_reaches_each_server_as_its_target_says(tmp_path, monkeypatch):
    key, known = tmp_path / "ops_key", tmp_path / "known_hosts"
    key.write_text("not a real key\n")
    known.write_text("")
    monkeypatch.setenv("JINBAO_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("JINBAO_SSH_USER", "ops")
    monkeypatch.setenv("JINBAO_SSH_KEY", str(key))
    monkeypatch.setenv("JINBAO_KNOWN_HOSTS", str(known))
    s = seat("estate:lab", "lab", site="prov")
    assert sorted(s.targets) == ["prov-app1", "prov-db1", "prov-mon1"]  # Linux servers of the site only
    assert s.via == ()  # production: ssh from where jinbao runs
    cfg = s.ssh_config().read_text()
    for t in s.targets.values():
        block = cfg.split(f"Host {t.host}\n")[1].split("\n\n")[0]
        assert "User ops" in block and f"IdentityFile {key}" in block and f"UserKnownHostsFile {known}" in block
        assert "StrictHostKeyChecking yes" in block
    assert s.limit().read_text().split() == sorted(s.targets)
    assert "plugin: jinbao" in s.inventory().read_text()


def test_secret_values_are_redacted_even_glued_into_ansibles_json(tmp_path):
    s = Seat("lab:x", None, "lab", {}, tmp_path, {"Sup3r-s3cret": "<secret env:A>", "k9": "<secret env:B>"})  # type: ignore[arg-type]
    shown = s.redact('"msg": "A=Sup3r-s3cret\\nB=k9" and k9 alone, and ok9 kept')
    assert "Sup3r-s3cret" not in shown and "A=<secret env:A>" in shown
    assert "and <secret env:B> alone" in shown and "ok9 kept" in shown  # short values: whole tokens only


def test_the_callbacks_line_is_taken_out_of_ansibles_text():
    body = {"hosts": {"h": {"changed": [], "failed": [], "unreachable": [], "diff": []}}, "tasks": [], "seconds": 1}
    text, got = _split("PLAY RECAP\nh : ok=1\nJINBAO-RESULTS " + json.dumps(body) + "\n")
    assert got == body and "JINBAO-RESULTS" not in text and "PLAY RECAP" in text
    assert _split("ERROR! no recap")[1] is None


def test_junit_case_names_map_to_host_and_role():
    m = CASE.match("test_root_cannot_log_in[ssh://10.91.0.6]")
    assert m and m["test"] == "test_root_cannot_log_in" and m["addr"] == "10.91.0.6"
    assert _role_of("roles.ssh_hardening.tests.test_ssh_hardening", "") == "ssh_hardening"
    assert [p.parent.name for p in suites()] == sorted(p.parent.name for p in suites())
    assert re.search(r"ssh_hardening/tests$", str(suites("ssh_hardening")[0]))


def test_verify_checks_only_the_roles_its_playbook_applies():
    from jinbao.provision import playbook_path
    from jinbao.verify import suites

    harden = {p.parent.name for p in suites(None, playbook_path("harden"))}
    site = {p.parent.name for p in suites(None, playbook_path("site"))}
    assert "ssh_hardening" in harden and not {"pki_cert", "pki_trust"} & harden  # pki.yml was not applied
    assert {"pki_cert", "pki_trust"} <= site and harden < site


def test_junit_cases_with_parameters_keep_their_host_and_parameter(tmp_path):
    """pytest puts testinfra's host first in a parametrized id: `[ssh://10.0.0.1-net.ipv4.ip_forward]`.
    Each case goes to its host (10.0.0.1 never takes 10.0.0.10's), with the parameter in its label."""
    from jinbao.verify import read_junit

    cls = "roles.os_hardening.tests.test_os_hardening"
    (tmp_path / "r.xml").write_text(
        "<testsuites><testsuite>"
        f'<testcase classname="{cls}" name="test_network_sysctl_is_in_force[ssh://10.0.0.1-net.ipv4.ip_forward]"/>'
        f'<testcase classname="{cls}" name="test_network_sysctl_is_in_force[ssh://10.0.0.10-net.ipv4.ip_forward]">'
        '<failure message="assert 1 == 0&#10;more">x</failure></testcase>'
        f'<testcase classname="{cls}" name="test_login_umask_is_027[ssh://10.0.0.10]"/>'
        f'<testcase classname="{cls}" name="test_login_umask_is_027[ssh://10.9.9.9]"/>'
        "</testsuite></testsuites>"
    )
    checks, why = read_junit(tmp_path / "r.xml", {"10.0.0.1": "a1", "10.0.0.10": "a10"})
    label = "os_hardening: test_network_sysctl_is_in_force[net.ipv4.ip_forward]"
    assert checks == {
        "a1": {label: "passed"},
        "a10": {label: "failed", "os_hardening: test_login_umask_is_027": "passed"},
    }
    assert why == {"a1": {}, "a10": {label: "assert 1 == 0"}}


def test_each_provision_and_verify_run_has_its_own_short_folder_and_killed_runs_folders_are_swept(
    tmp_path, monkeypatch
):
    import os
    import socket
    import time
    import types

    from jinbao import provision

    # ssh's limit on the real folder: it, '/', the 40-character %C and ssh's 17-character suffix
    assert len(f"{provision.RUNS_IN}/{provision.RUN_PREFIX}xxxxxxxx") + 1 + 40 + 17 < 108
    monkeypatch.setattr(provision, "RUNS_IN", tmp_path)
    monkeypatch.setenv("TMPDIR", str(tmp_path / ("t" * 80)))  # TMPDIR is not where sockets go
    stale, live = tmp_path / "jinbao-ssh-killed", tmp_path / "jinbao-ssh-running"
    stale.mkdir()
    live.mkdir()
    held = socket.socket(socket.AF_UNIX)
    held.bind(str(live / "c"))  # a master's socket: its run is alive
    held.listen()
    dead = socket.socket(socket.AF_UNIX)
    dead.bind(str(stale / "c"))  # a master killed with -9 leaves its socket file, which nothing answers
    dead.close()
    old = time.time() - provision.STALE_AFTER_S - 60
    for d in (stale, live):
        os.utime(d, (old, old))
    fresh = tmp_path / "jinbao-ssh-just-made"
    fresh.mkdir()

    class _Seat:  # no host was reached, so no master to close
        targets: types.MappingProxyType = types.MappingProxyType({})

    try:
        with provision.run_folder(_Seat()) as one, provision.run_folder(_Seat()) as two:  # type: ignore[arg-type]
            assert one != two and one.parent == two.parent == tmp_path
        assert not stale.exists() and live.exists() and fresh.exists()
        assert not one.exists() and not two.exists()
    finally:
        held.close()
