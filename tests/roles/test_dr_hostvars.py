"""The DR pairs as the inventory plugin gives them to playbooks/dr-prepare.yml: groups for the pair
roles and each pair, and per host its role, its peer and the addresses (jinbao/ansible_dr.py
through build(), which the plugin and `jinbao inventory ansible` share)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from jinbao.ansible_dr import pair_at
from jinbao.ansible_inventory import build
from jinbao.estate import load_estate
from tests.support import REPO


def _names(groups: dict, g: str) -> list[str]:
    return groups[g]["hosts"]


def test_the_lab_pair_is_a_primary_and_a_standby_with_each_others_addresses():
    e = load_estate("lab")
    groups, hv = build(e)
    (pair,) = e.dr_pairs
    assert _names(groups, "dr_primary") == [pair.primary]
    assert _names(groups, "dr_standby") == [pair.standby]
    assert sorted(groups["dr"]["children"]) == sorted(["dr_primary", "dr_standby", "dr_pair_core_db"])
    (p,), (s,) = hv[pair.primary]["jinbao_dr_pairs"], hv[pair.standby]["jinbao_dr_pairs"]
    assert (p["role"], p["peer"], s["role"], s["peer"]) == ("primary", pair.standby, "standby", pair.primary)
    assert p["address"] == s["peer_address"] and s["address"] == p["peer_address"]
    # data addresses, not management ones: replication runs on the data network
    assert p["address"] != hv[pair.primary]["ansible_host"]
    assert p["address"] in [i["ip"].split("/")[0] for i in hv[pair.primary]["jinbao_interfaces"] if i["ip"]]
    assert p["service_address"] == s["service_address"]
    assert p["replication"] == pair.replication and s["application_name"] == pair.standby.replace("-", "_")
    assert "jinbao_dr_pairs" not in hv["prov-app1"]


def test_the_dr_suites_find_a_hosts_pair_by_its_management_address():
    e = load_estate("lab")
    (pair,) = e.dr_pairs
    primary, standby = e.devices[pair.primary], e.devices[pair.standby]
    name, p = pair_at("lab", str(primary.mgmt_ip))
    assert name == pair.primary and p is not None and p["role"] == "primary"
    assert p["peer_address"] != str(standby.mgmt_ip)  # the data address by default
    _, m = pair_at("lab", str(primary.mgmt_ip), mgmt_addresses=True)
    assert m is not None and (m["address"], m["peer_address"]) == (str(primary.mgmt_ip), str(standby.mgmt_ip))
    assert pair_at("lab", str(e.devices["prov-app1"].mgmt_ip)) == ("prov-app1", None)
    with pytest.raises(LookupError, match="192.0.2.1"):
        pair_at("lab", "192.0.2.1")


def test_a_dr_centre_standby_of_two_primaries_has_both_pairs():
    e = load_estate("province")
    _, hv = build(e)
    served = {p.standby for p in e.dr_pairs if sum(q.standby == p.standby for q in e.dr_pairs) > 1}
    assert served, "the province estate has a standby serving two primaries"
    for host in served:
        pairs = hv[host]["jinbao_dr_pairs"]
        assert len(pairs) > 1 and {x["role"] for x in pairs} == {"standby"}
        assert len({x["primary"] for x in pairs}) == len(pairs)


def test_ansible_sees_the_pair_roles_through_the_plugin(tmp_path):
    r = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-inventory"), "-i", "inventory/lab.jinbao.yml", "--list"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "ANSIBLE_HOME": str(tmp_path)},
    )
    assert r.returncode == 0, r.stderr
    inv = json.loads(r.stdout)
    assert inv["dr_primary"]["hosts"] == ["prov-db1"] and inv["dr_standby"]["hosts"] == ["dr-db1"]
    assert inv["_meta"]["hostvars"]["dr-db1"]["jinbao_dr_pairs"][0]["peer"] == "prov-db1"
