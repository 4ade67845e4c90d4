"""`jinbao monitor posture` on a copy of the lab estate made weak on purpose, through the real CLI."""

from __future__ import annotations

import json
import secrets
import shutil

from jinbao.estate import load_estate
from monitoring import posture
from monitoring.state import PollState, state_file
from tests.support import REPO, run_cli

WEAK = """
snmp_profiles:
  v2c-legacy:
    version: v2c
    community: env:JINBAO_TEST_V2C_COMMUNITY
    insecure_because: the app server's agent speaks v2c only (test)
  v3-old:
    version: 3
    user: jinbao-old
    security_level: authNoPriv
    auth_protocol: md5
    auth_key: env:JINBAO_SNMP_AUTH_KEY
    insecure_because: old firmware (test)
"""


def _weak_estate(tmp_path):
    est = tmp_path / "est"
    shutil.copytree(REPO / "inventory" / "lab", est)
    (est / "weak.yml").write_text(WEAK)
    sites = (est / "sites.yml").read_text()
    sites = sites.replace(
        "{name: prov-app1, role: app_server,", "{name: prov-app1, snmp_profile: v2c-legacy, role: app_server,"
    )
    sites = sites.replace("{name: prov-mon1, role: monitor,", "{name: prov-mon1, management: [ssh], role: monitor,")
    (est / "sites.yml").write_text(sites)
    return est


def _posture(est, state_dir, community):
    env = {"JINBAO_STATE_DIR": str(state_dir), "JINBAO_TEST_V2C_COMMUNITY": community}
    r = run_cli("monitor", "posture", "--estate", str(est), "--json", env=env)
    return r, (json.loads(r.stdout) if r.stdout.strip() else None)


def test_the_lab_estate_as_it_is_has_no_finding(tmp_path):
    r = run_cli("monitor", "posture", "--estate", "lab", "--json", env={"JINBAO_STATE_DIR": str(tmp_path)})
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads(r.stdout)["findings"] == []


def test_weak_profiles_default_community_silent_agents_and_unpolled_devices(tmp_path, monkeypatch):
    est = _weak_estate(tmp_path)
    # The last poll left an unreachable alert for prov-db1 in the source's state file.
    monkeypatch.setenv("JINBAO_STATE_DIR", str(tmp_path / "state"))
    st = PollState(state_file(f"estate:{est}"))
    st.alerts["prov-db1|unreachable"] = {
        "device": "prov-db1",
        "key": "unreachable",
        "severity": "critical",
        "message": "unreachable: no answer at all from its SNMP agent",
        "since": "2026-11-30T22:00:00+00:00",
    }
    st.save()
    r, doc = _posture(est, tmp_path / "state", "Public")
    assert r.returncode == 1, r.stdout + r.stderr
    got = {(f["kind"], f["subject"]) for f in doc["findings"]}
    assert got == {
        ("snmp_v2c", "snmp_profiles.v2c-legacy"),
        ("default_community", "snmp_profiles.v2c-legacy"),
        ("snmp_auth_no_priv", "snmp_profiles.v3-old"),
        ("snmp_md5", "snmp_profiles.v3-old"),
        ("agent_unreachable", "prov-db1"),
        ("snmp_not_allowed", "prov-mon1"),
    }
    v2c = next(f for f in doc["findings"] if f["kind"] == "snmp_v2c")
    assert v2c["devices"] == ["prov-app1"] and "speaks v2c only" in v2c["message"]
    assert "Public" not in r.stdout + r.stderr  # the community is compared, never printed
    # A community nobody would guess is no finding; the v2c profile still is.
    r, doc = _posture(est, tmp_path / "state", secrets.token_hex(16))
    kinds = {f["kind"] for f in doc["findings"]}
    assert r.returncode == 1 and "snmp_v2c" in kinds and "default_community" not in kinds


def test_a_class_without_a_profile_is_a_finding(tmp_path, monkeypatch):
    profiles = tmp_path / "profiles"
    shutil.copytree(REPO / "monitoring" / "profiles", profiles)
    (profiles / "firewall.yml").unlink()
    # Validation refuses an estate with such a device (monitoring.profiles.check): load it with
    # the full set, then judge it against the set without firewall.yml.
    estate = load_estate("lab")
    monkeypatch.setenv("JINBAO_MONITORING_PROFILES", str(profiles))
    found = {(f.kind, f.subject) for f in posture.unmonitored(estate)}
    firewalls = {d.name for d in estate.devices.values() if d.role == "firewall"}
    assert firewalls and found == {("no_profile", n) for n in firewalls}
