"""netconfig render: every device's config from the estate, checked by its platform's own parser."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from jinbao.intent import LAN_BANDWIDTH_MBPS, bandwidth_cost, intents
from jinbao.secrets import markers
from netconfig import checks
from netconfig.render import TEMPLATES, file_name, render_estate, render_intent
from tests.support import REPO, run_cli
from tests.support.golden import GOLDEN as GOLDEN_ROOT
from tests.support.golden import check_tree

GOLDEN = GOLDEN_ROOT / "netconfig"
# Known values for every secret reference of the estates: none may reach a file on disk.
SECRETS = {
    "JINBAO_OSPF_KEY": "Osp7KeyValue",
    "JINBAO_NETADMIN_PW": "Net4dminPw",
    "JINBAO_SECADMIN_PW": "Sec4dminPw",
    "JINBAO_AUDITOR_PW": "Aud1torPw",
    "JINBAO_SNMP_AUTH_KEY": "SnmpAuthV4lue",
    "JINBAO_SNMP_PRIV_KEY": "SnmpPrivV4lue",
}


def _all(estate):
    return dict(render_estate(estate, list(estate.devices)))


@pytest.fixture(scope="module")
def lab_renderings(lab_estate):
    return _all(lab_estate)


@pytest.fixture(scope="module")
def province_renderings(province):
    return _all(province)


def test_every_lab_device_renders_and_passes_its_platforms_check(lab_renderings):
    checked = 0
    for name, files in lab_renderings.items():
        assert files, f"{name} has no templates"
        for syntax, text in files.items():
            found = checks.check(syntax, text)
            assert not found, (name, syntax, [str(p) for p in found])
            checked += found is not None
    assert checked == 17  # 9 routers' FRR, 2 firewalls' FRR and their 2 rulesets, 4 Linux servers' bundles


def test_the_whole_province_renders_and_every_checked_rendering_passes(province_renderings, province):
    assert len(province_renderings) == len(province.devices) == 1211
    # Every platform of the province has templates but the appliances' firmware (UPS, sensors,
    # storage, tape), which nothing here configures: exactly those are left unrendered.
    unrendered = {n for n, f in province_renderings.items() if f is None}
    assert unrendered == {n for n, d in province.devices.items() if d.platform == "appliance"} != set()
    assert {d.platform for d in province.devices.values()} == {
        "linux",
        "cisco_ios",
        "huawei_vrp",
        "h3c_comware",
        "appliance",
    }
    checked = 0
    for name, files in province_renderings.items():
        for syntax, text in (files or {}).items():
            found = checks.check(syntax, text)
            assert not found, (name, syntax, [str(f) for f in found or ()])
            checked += found is not None
    # every configured device: IOS, VRP, Comware and the Linux servers' bundles
    assert checked == 1211 - len(unrendered)


# The province DC's one-border firewalls, one per vendor: their rules reach zones beyond core by
# address, which the first firewall of each platform (a city's, guarding every zone) never does.
ZONE_BORDER_GOLDEN = ("prov-fw-mgmt", "prov-fw-prod")


def _golden_cases(estate_name, renderings, estate):
    if estate_name == "lab":
        return sorted(renderings)
    seen, picked = set(), []
    for name, d in sorted(estate.devices.items()):
        if renderings[name] is not None and (d.platform, d.role) not in seen:
            seen.add((d.platform, d.role))
            picked.append(name)
    return picked + [n for n in ZONE_BORDER_GOLDEN if n not in picked]


@pytest.mark.parametrize("estate_name", ["lab", "province"])
def test_renderings_match_their_golden_files(estate_name, request):
    estate = request.getfixturevalue("lab_estate" if estate_name == "lab" else "province")
    renderings = request.getfixturevalue(f"{estate_name}_renderings")
    # One golden folder per platform and estate, compared whole (a stray file is a difference too).
    produced: dict[str, dict[str, str]] = {}
    for name in _golden_cases(estate_name, renderings, estate):
        folder = produced.setdefault(estate.devices[name].platform, {})
        for syntax, text in renderings[name].items():
            folder[file_name(name, syntax)] = text
    # The province: one device per platform and role, the vendor platforms' included.
    assert sum(map(len, produced.values())) >= (17 if estate_name == "lab" else 25)
    for platform, files in sorted(produced.items()):
        check_tree(GOLDEN / platform / estate_name, files)


def test_no_secret_value_reaches_a_rendered_file(tmp_path):
    for estate_name in ("lab", "province"):
        out = tmp_path / estate_name
        r = run_cli("--estate", estate_name, "config", "render", "--out", str(out), env=SECRETS)
        assert r.returncode == 0, r.stdout + r.stderr
        text = "".join(p.read_text() for p in out.iterdir())
        for var, value in SECRETS.items():
            assert value not in text, (estate_name, var)
        assert "<secret env:JINBAO_SNMP_AUTH_KEY>" in text
    vendor_text = "".join(p.read_text() for p in (tmp_path / "province").glob("*.huawei_vrp.conf"))
    assert "ospf authentication-mode md5 1 cipher <secret env:JINBAO_OSPF_KEY>" in vendor_text
    assert "local-user netadmin password irreversible-cipher <secret env:JINBAO_NETADMIN_PW>" in vendor_text
    lab_text = "".join(p.read_text() for p in (tmp_path / "lab").glob("*.frr.conf"))
    assert "ip ospf message-digest-key 1 md5 <secret env:JINBAO_OSPF_KEY>" in lab_text


def test_render_writes_one_file_per_device_and_syntax(tmp_path):
    r = run_cli("--estate", "lab", "config", "render", "--site", "prov", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [
            "prov-wan1.frr.conf",
            "prov-wan2.frr.conf",
            "prov-fw1.frr.conf",
            "prov-fw1.nftables.conf",
            "prov-db1.linux.conf",
            "prov-app1.linux.conf",
            "prov-mon1.linux.conf",
        ]
    )
    r = run_cli("--estate", "lab", "config", "render", "--device", "prov-wan9", "--out", str(tmp_path))
    assert r.returncode == 2 and "prov-wan9" in r.stderr


def _templates_with(tmp_path, path, old, new):
    tree = tmp_path / "templates"
    shutil.copytree(TEMPLATES, tree)
    f = tree / path
    assert old in f.read_text()
    f.write_text(f.read_text().replace(old, new, 1))
    return {"JINBAO_NETCONFIG_TEMPLATES": str(tree)}


def test_a_template_error_names_template_line_and_device(tmp_path):
    env = _templates_with(tmp_path, "frr/_ospf.j2", "d.ospf.router_id", "d.ospf.router_idd")
    r = run_cli("--estate", "lab", "config", "render", "--out", str(tmp_path / "out"), env=env)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "frr/_ospf.j2:2: rendering prov-wan1" in r.stderr and "router_idd" in r.stderr
    env = _templates_with(tmp_path / "b", "nftables/nftables.j2", "{% for r in", "{% for r in in")
    r = run_cli("--estate", "lab", "config", "render", "--out", str(tmp_path / "out"), env=env)
    assert r.returncode == 2 and "nftables/nftables.j2:29: rendering prov-fw1" in r.stderr, r.stderr


def test_a_rendering_that_fails_its_check_exits_1_naming_each_device(tmp_path):
    env = _templates_with(tmp_path, "frr/_interfaces.j2", " ip ospf cost", " ip ospf costly")
    r = run_cli("--estate", "lab", "config", "render", "--site", "dr", "--out", str(tmp_path / "out"), env=env)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "dr-wan1: dr-wan1.frr.conf: line" in r.stderr and "ip ospf costly" in r.stderr
    assert "dr-fw1: dr-fw1.frr.conf: line" in r.stderr
    r = run_cli("--estate", "lab", "config", "render", "--site", "dr", "--no-check", "--out", str(tmp_path), env=env)
    assert r.returncode == 0


def test_the_core_offers_netconfigs_renderings_through_an_entry_point(lab_estate, province):
    from jinbao.errors import JinbaoError
    from jinbao.rendering import rendered

    assert '[project.entry-points."jinbao.renderers"]' in (REPO / "pyproject.toml").read_text()
    fw = lab_estate.devices["prov-fw1"]
    assert dict(rendered(lab_estate, fw)) == render_intent(intents(lab_estate)["prov-fw1"])
    vrp = next(d for d in province.devices.values() if d.platform == "huawei_vrp")
    assert list(rendered(province, vrp)) == ["huawei_vrp"]
    # A platform without templates is refused, not rendered empty.
    import netconfig.render

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(netconfig.render, "entry_templates", lambda platform: ())
        with pytest.raises(JinbaoError, match="no renderer has templates for .* huawei_vrp"):
            rendered(province, vrp)


def test_the_checks_catch_what_the_parsers_reject_and_leave_the_machine_alone():
    before = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True).stdout
    bad_nft = checks.check("nftables", "table inet x {\n  chain y {\n    tcp dport 99999 accept\n  }\n}\n")
    assert bad_nft and bad_nft[0].line == 3
    assert subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True).stdout == before
    bad_frr = checks.check("frr", "hostname x\ninterface eth1\n ip ospf cost 0\nexit\n")
    assert bad_frr and bad_frr[0].line == 3
    assert checks.check("frr", "hostname x\n") == []
    assert checks.check("junos", "anything") is None  # no checker: said, not passed silently
    # secret markers are checked with a dummy value, which FRR's 16-character MD5 key takes
    ok = "interface eth1\n ip ospf message-digest-key 1 md5 <secret env:NOT_SET_ANYWHERE>\nexit\n"
    assert checks.check("frr", ok) == []
    assert markers(ok) == ["env:NOT_SET_ANYWHERE"]


def test_the_intent_follows_the_estate(lab_estate):
    i = intents(lab_estate)
    wan = i["prov-wan1"]
    wan_links = [x for x in wan.interfaces if x.link]
    assert wan_links and all(x.ospf.point_to_point and x.ospf.bfd and x.peer for x in wan_links)
    assert all(x.ospf.auth_key == "env:JINBAO_OSPF_KEY" for x in wan_links)
    backup = next(x for x in i["prov-wan2"].interfaces if x.link)
    assert backup.ospf.cost > wan_links[0].ospf.cost  # the estate's primary/backup costs
    fw = i["prov-fw1"]
    assert set(fw.ospf.passive) == {x.name for x in fw.interfaces if x.zone in ("production", "management")}
    lan = next(x for x in fw.interfaces if x.zone == "core")
    assert lan.ospf.cost == bandwidth_cost(LAN_BANDWIDTH_MBPS, lab_estate.ospf.reference_bandwidth_mbps)
    assert fw.firewall and {(r.from_zone, r.to_zone) for r in fw.firewall.rules} == {
        ("management", "production"),
        ("production", "management"),
        ("core", "production"),  # the database service and replication to and from the DR site
        ("production", "core"),
    }
    assert i["prov-db1"].ospf is None and i["prov-db1"].firewall is None
    mon = lab_estate.devices["prov-mon1"].mgmt_ip
    assert wan.management.ntp == (mon,) and wan.management.syslog == (mon,)
    assert [u.role for u in wan.management.users] == ["system", "security", "audit"]
    assert wan.ospf.router_id == lab_estate.devices["prov-wan1"].loopback


def test_the_lab_paths_use_the_intents_costs(lab_estate):
    from lab.paths import _edges
    from lab.topology import plan

    p = plan(lab_estate, "jbtest")
    i = intents(lab_estate)
    for src, edges in _edges(p).items():
        for ed in edges:
            iface = next(x for x in i[src].interfaces if x.name == ed.hop.iface)
            assert ed.cost == iface.ospf.cost, (src, ed)


def test_no_netconfig_module_is_over_450_lines():
    for path in Path(REPO / "netconfig").rglob("*.py"):
        assert len(path.read_text().splitlines()) <= 450, path


def test_secret_values_that_would_break_a_config_line_are_refused():
    from jinbao.errors import SecretError
    from jinbao.redact import redact
    from jinbao.secrets import resolve_secrets

    text = "ip ospf message-digest-key 1 md5 <secret env:K>\n"
    assert resolve_secrets(text, lambda ref: "k1") == "ip ospf message-digest-key 1 md5 k1\n"
    for bad in ("k1\nrouter bgp 65066", "two words", "", "tab\there"):
        with pytest.raises(SecretError, match="whitespace or a control character"):
            resolve_secrets(text, lambda ref, v=bad: v)
    # what a device shows of its own secrets is redacted, markers stay markers
    shown = redact("no ip ospf message-digest-key 1 md5 OLDKEY\n password simple <secret env:P>")
    assert "OLDKEY" not in shown and "<secret env:P>" in shown
