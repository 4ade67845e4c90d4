"""The two real estates load, resolve as docs/estate.md describes, and their views work.

The checks here recompute properties independently of validate.py, so a validator bug that
lets a bad plan through would still fail a test.
"""

import json
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import yaml

from tests.support import REPO, run_cli


def test_province_has_the_shape_of_estate_md(province):
    kinds = Counter(s.kind for s in province.sites.values())
    assert kinds == {"province": 1, "city": 16, "county": 105, "dr": 1}
    assert len(province.devices) >= 1000
    prov = province.sites["prov"]
    assert {z.kind for z in prov.zones.values()} >= {"production", "exchange", "decision", "public", "management"}
    for z in prov.zones.values():
        if z.kind != "core":
            assert province.devices[z.firewall].role == "firewall"
    roles = Counter(d.role for d in province.devices.values())
    for role in ("storage", "tape_library", "ca", "ocsp", "pbx", "ivr", "cti", "mcu", "ups", "env_sensor"):
        assert roles[role] >= 1, role
    # Counties hang off their city over the city WAN.
    for s in province.sites.values():
        if s.kind == "county":
            assert province.sites[s.parent].kind == "city"


def test_every_address_is_unique_and_inside_its_block(province):
    seen = {}
    for d in province.devices.values():
        site = province.sites[d.site]
        addrs = [d.mgmt_ip] + ([d.loopback] if d.loopback else []) + [i.ip.ip for i in d.interfaces if i.ip]
        for a in addrs:
            assert a not in seen, f"{a} on {d.name} and {seen[a]}"
            seen[a] = d.name
            assert a in province.supernet or a in province.mgmt_block
        assert d.mgmt_ip in site.mgmt_block
        for i in d.interfaces:
            if i.zone:
                assert i.ip.ip in site.zones[i.zone].block and i.ip.ip in site.block
    for s in province.sites.values():
        if s.parent:
            assert s.block.subnet_of(province.sites[s.parent].block)
        nets = [z.block for z in s.zones.values()] + [s.loopback_pool]
        for a in range(len(nets)):
            for b in range(a + 1, len(nets)):
                assert not nets[a].overlaps(nets[b])


def test_links_are_point_to_point_and_cities_have_two_carriers(province):
    per_city = defaultdict(set)
    for l in province.links:
        assert l.a.ip.network == l.b.ip.network == l.subnet and l.subnet.prefixlen in (30, 31)
        sa, sb = province.devices[l.a.device].site, province.devices[l.b.device].site
        for mine, other in ((sa, sb), (sb, sa)):
            if province.sites[mine].kind == "city" and province.sites[other].kind == "province":
                per_city[mine].add((l.carrier, l.role))
    assert len(per_city) == 16
    for city, pairs in per_city.items():
        assert len({c for c, _ in pairs}) >= 2 and {r for _, r in pairs} == {"primary", "backup"}, city


def test_production_databases_have_off_site_standbys(province):
    pairs = {p.primary: p for p in province.dr_pairs}
    for d in province.devices.values():
        if d.role == "db_server" and d.zone == "production" and province.sites[d.site].kind != "dr":
            p = pairs[d.name]
            assert province.devices[p.standby].site == "dr"


def test_lab_estate_has_the_same_shape_small(lab_estate):
    e = lab_estate
    assert Counter(s.kind for s in e.sites.values()) == {"province": 1, "city": 3, "dr": 1}
    guarded = [z for z in e.sites["prov"].zones.values() if z.kind != "core"]
    assert len(guarded) == 2 and len({z.firewall for z in guarded}) == 1
    assert len(e.devices) <= 20, "the lab must stay small enough for CI"
    assert all(d.platform in ("frr", "linux", "nftables") for d in e.devices.values())


def test_resolution_is_deterministic():
    from jinbao.estate import load_estate

    a = load_estate("province").model_dump(mode="json")
    b = load_estate("province").model_dump(mode="json")
    assert a == b


SECRET_KEY = re.compile(r"(key|pass|secret|community|token|credential)", re.I)
REF = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]*|file:\S+|vault:\S+#\S+)$")


def test_no_secret_value_in_the_inventory():
    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                if SECRET_KEY.search(str(k)) and isinstance(v, str):
                    assert REF.match(v), f"{path}.{k} holds a value, not a reference"
                walk(v, f"{path}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}[{i}]")

    files = list((REPO / "inventory").rglob("*.yml"))
    assert len(files) >= 8
    refs = 0
    for f in files:
        text = f.read_text()
        walk(yaml.safe_load(text), str(f))
        refs += len(re.findall(r"(env|file|vault):", text))
    assert refs >= 4


def test_validate_cli_on_both_estates():
    for estate in ("province", "lab"):
        r = run_cli("--estate", estate, "inventory", "validate", "--json")
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["valid"] is True


def test_show_filters_and_json():
    r = run_cli("inventory", "show", "--site", "chuzhou", "--role", "wan_router", "--json")
    assert r.returncode == 0, r.stderr
    devs = json.loads(r.stdout)["devices"]
    assert sorted(d["name"] for d in devs) == ["chuzhou-wan1", "chuzhou-wan2"]
    assert all(d["mgmt_ip"] and d["interfaces"] for d in devs)
    r = run_cli("inventory", "show", "--json")
    full = json.loads(r.stdout)
    assert len(full["devices"]) >= 1000 and len(full["links"]) > 200
    r = run_cli("inventory", "show", "--site", "nowhere")
    assert r.returncode == 2 and "no site 'nowhere'" in r.stderr


def test_graph_writes_svg_and_png(tmp_path):
    r = run_cli("inventory", "graph", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    svg = (tmp_path / "province-topology.svg").read_text()
    assert "<svg" in svg and "chuzhou" in svg and "feixi" in svg and "unicom" in svg
    png = (tmp_path / "province-topology.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000


def _ansible_inventory(*args):
    exe = Path(sys.executable).parent / "ansible-inventory"
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")}
    return subprocess.run([str(exe), *args], capture_output=True, text=True, env=env, cwd="/tmp", timeout=300)


def test_ansible_inventory_graph_groups_by_site_role_zone_platform():
    r = _ansible_inventory("-i", str(REPO / "inventory" / "province.jinbao.yml"), "--graph")
    assert r.returncode == 0, r.stderr
    for group in (
        "@sites:",
        "@site_chuzhou:",
        "@site_feixi:",
        "@roles:",
        "@role_wan_router:",
        "@zones:",
        "@zone_prov_production:",
        "@platforms:",
        "@platform_huawei_vrp:",
        "@platform_h3c_comware:",
    ):
        assert group in r.stdout, group
    hosts = set(re.findall(r"\|--([a-z0-9-]+)$", r.stdout, re.M))
    assert len(hosts) >= 1000
    r = _ansible_inventory("-i", str(REPO / "inventory" / "province.jinbao.yml"), "--host", "chuzhou-wan1")
    hv = json.loads(r.stdout)
    assert hv["ansible_host"].startswith("10.35.") and hv["jinbao_site"] == "chuzhou"
    assert hv["ansible_network_os"] == "community.network.ce"


def test_ansible_refuses_a_broken_estate(tmp_path):
    cfg = tmp_path / "broken.jinbao.yml"
    cfg.write_text(f"plugin: jinbao\nestate: {REPO / 'tests/core/broken/references'}\n")
    r = _ansible_inventory("-i", str(cfg), "--list")
    assert "links.yml:6" in r.stderr
    # Not a warning over an empty inventory that exits 0 (ansible.cfg: unparsed_is_failed).
    assert r.returncode != 0 and '"hostvars"' not in r.stdout, (r.returncode, r.stdout)


def test_static_ansible_export_matches_the_plugin(lab_estate):
    r = run_cli("--estate", "lab", "inventory", "ansible")
    exported = json.loads(r.stdout)
    r2 = _ansible_inventory("-i", str(REPO / "inventory" / "lab.jinbao.yml"), "--list")
    live = json.loads(r2.stdout)
    assert set(exported["_meta"]["hostvars"]) == set(live["_meta"]["hostvars"])
    for g in ("site_prov", "role_firewall", "zone_prov_production", "platform_frr"):
        assert sorted(exported[g]["hosts"]) == sorted(live[g]["hosts"])


def test_free_text_with_quotes_and_markup_is_shown_and_drawn(tmp_path):
    """Titles, vendors, models and carriers are free text: 'a"b', '[/]' or '<x>' must neither
    break the rich tables nor the Graphviz source."""
    import shutil

    est = tmp_path / "lab"
    shutil.copytree(REPO / "inventory" / "lab", est)
    sites = (est / "sites.yml").read_text()
    sites = sites.replace("title: 合肥}", 'title: "合\\"肥 [/]"}').replace("model: postgresql", 'model: "pg[/]<15>"')
    (est / "sites.yml").write_text(sites)
    links = (est / "links.yml").read_text().replace("carrier: unicom", 'carrier: "China Unicom <CU> & [/]"')
    (est / "links.yml").write_text(links)
    r = run_cli("--estate", str(est), "inventory", "show")
    assert r.returncode == 0, r.stderr
    assert "pg[/]<15>" in r.stdout and "China Unicom <CU> & [/]" in r.stdout
    r = run_cli("--estate", str(est), "inventory", "graph", "--out", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    assert "合&quot;肥 [/]" in (tmp_path / "out" / "lab-topology.svg").read_text()
