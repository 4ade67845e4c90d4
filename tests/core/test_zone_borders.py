"""Zone borders on the real estates: a firewall out of place is refused, never rendered without a
policy the inventory states (tests/core/broken/firewall_placement and zone_borders hold the lab's)."""

import json
import shutil
from pathlib import Path

import pytest

from tests.support import REPO, run_cli


@pytest.mark.parametrize(
    "file,old,new,line",
    [
        # The province's one-border firewalls: one zone each, the rules matched by the far zone's block.
        (
            "sites-1-province.yml",
            "model: USG6680E, zone: core,",
            "model: USG6680E, zone: production,",
            21,
        ),
        # The DR site's management firewall, taken out of core (into no zone at all).
        (
            "sites-4-dr.yml",
            "model: SecPath-F1070, zone: core,",
            "model: SecPath-F1070,",
            15,
        ),
    ],
)
def test_a_province_firewall_out_of_core_is_refused(tmp_path, file, old, new, line):
    est = tmp_path / "province"
    shutil.copytree(REPO / "inventory" / "province", est)
    text = (est / file).read_text()
    assert text.count(old) == 1
    (est / file).write_text(text.replace(old, new))
    r = run_cli("--estate", str(est), "inventory", "validate", "--json")
    assert r.returncode == 2, r.stdout + r.stderr
    problems = json.loads(r.stdout)["problems"]
    assert [(Path(p["file"]).name, p["line"], p["field"]) for p in problems] == [(file, line, "zone")], problems
    assert "zone: core" in problems[0]["fix"]
    # No config was rendered from it either: every command that reads the estate refuses it.
    out = tmp_path / "out"
    r = run_cli("--estate", str(est), "config", "render", "--no-check", "--out", str(out))
    assert r.returncode == 2 and f"{file}:{line}: zone:" in r.stderr
    assert not any(out.glob("*.conf"))


def test_a_policy_a_firewall_would_not_carry_is_refused(lab_estate):
    """The last guard: whatever else let it through, a policy the render would leave off a
    firewall it crosses is a problem. Here prov-fw1 loses its core port after loading."""
    from jinbao.validate import validate

    assert not validate(lab_estate)
    fw = lab_estate.devices["prov-fw1"]
    ports = tuple(i for i in fw.interfaces if i.zone != "core")
    assert len(ports) == len(fw.interfaces) - 1
    broken = lab_estate.model_copy(
        update={"devices": {**lab_estate.devices, fw.name: fw.model_copy(update={"interfaces": ports})}}
    )
    problems = validate(broken)
    lost = {(p.origin.line, p.field) for p in problems}
    # core -> production and production -> core (policy.yml lines 5 and 6) cross prov-fw1 by core.
    assert lost == {(5, "to"), (6, "from")}, problems
    assert all("would not be rendered on prov-fw1" in p.message and p.fix for p in problems)


def test_a_site_with_no_zones_at_all_is_refused_without_a_traceback(tmp_path):
    est = tmp_path / "estate"
    shutil.copytree(REPO / "inventory" / "lab", est)
    sites = (est / "sites.yml").read_text()
    old = "    zones:\n      - {name: core, kind: core, vlan: 10, prefix: 28}\n    devices:"
    assert sites.count(old) == 1  # the city template's
    (est / "sites.yml").write_text(sites.replace(old, "    zones: []\n    devices:"))
    r = run_cli("--estate", str(est), "inventory", "validate", "--json")
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    problems = json.loads(r.stdout)["problems"]
    assert {(Path(p["file"]).name, p["line"], p["field"]) for p in problems} == {
        ("sites.yml", 8, "zone"),
        ("sites.yml", 9, "zone"),
    }
    assert all("which site hefei does not have" in p["message"] for p in problems)
