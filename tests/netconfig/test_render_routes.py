"""Static routes, announced prefixes and link descriptions: from the inventory through the intent
into every platform's rendering, each checked by its platform's checker and kept as golden files
(tests/golden/netconfig/<platform>/routes/)."""

from __future__ import annotations

import re
import shutil
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

import pytest

from jinbao.estate import load_estate
from jinbao.intent import announced_address, intents
from jinbao.model import StaticRoute
from netconfig import checks
from netconfig.render import file_name, render_estate, render_intent
from tests.support import REPO
from tests.support.golden import GOLDEN, check_tree

WAN1 = "      - {name: prov-wan1, role: wan_router, platform: frr, vendor: FRRouting, model: frr, zone: core, loopback: true}"
FW1 = "      - {name: prov-fw1, role: firewall, platform: nftables, vendor: Linux, model: nftables, zone: core, loopback: true}"
DR_LINK = "bandwidth: 10000, role: primary}"


@pytest.fixture(scope="module")
def routed_lab(tmp_path_factory):
    """inventory/lab with static routes and announced prefixes on a router and a firewall, and a
    circuit id on the province-DR link."""
    copy = tmp_path_factory.mktemp("routes") / "estate"
    shutil.copytree(REPO / "inventory" / "lab", copy)
    sites = (copy / "sites.yml").read_text()
    assert WAN1 in sites and FW1 in sites
    sites = sites.replace(
        WAN1,
        WAN1[:-1] + ", static_routes: [{prefix: 10.250.1.0/24, via: 10.90.0.18}, "
        "{prefix: 10.250.1.0/24, via: 10.90.240.2, distance: 200}, {prefix: 10.250.2.0/24, via: null0}], "
        "announce: [10.200.1.0/24, 10.200.2.0/23]}",
    )
    sites = sites.replace(FW1, FW1[:-1] + ", static_routes: [{prefix: 0.0.0.0/0, via: 10.90.0.17, distance: 250}]}")
    (copy / "sites.yml").write_text(sites)
    links = (copy / "links.yml").read_text()
    assert DR_LINK in links
    (copy / "links.yml").write_text(links.replace(DR_LINK, DR_LINK[:-1] + ", description: CT-AH-DR-0001}"))
    return load_estate(str(copy))


def test_the_model_and_the_intent_carry_what_the_inventory_says(routed_lab):
    wan = routed_lab.devices["prov-wan1"]
    assert wan.static_routes == (
        StaticRoute(prefix=IPv4Network("10.250.1.0/24"), via=IPv4Address("10.90.0.18")),
        StaticRoute(prefix=IPv4Network("10.250.1.0/24"), via=IPv4Address("10.90.240.2"), distance=200),
        StaticRoute(prefix=IPv4Network("10.250.2.0/24"), via="null0"),
    )
    i = intents(routed_lab)
    assert [str(a) for a in i["prov-wan1"].announce] == ["10.200.1.1/24", "10.200.2.1/23"]
    assert i["prov-wan1"].static_routes[2].via is None  # discard
    # announced prefixes are originated in the device's own area, after its interfaces
    assert i["prov-wan1"].ospf.networks[-2:] == ((IPv4Network("10.200.1.0/24"), 0), (IPv4Network("10.200.2.0/23"), 0))
    dr_ends = [x for d in ("prov-wan1", "dr-wan1") for x in i[d].interfaces if x.link == "prov-wan1~dr-wan1"]
    assert len(dr_ends) == 2 and all(x.description.endswith("] CT-AH-DR-0001") for x in dr_ends)
    # nothing else changed: the other devices' intents are the lab's own
    lab = intents(load_estate("lab"))
    assert {n for n in lab if lab[n] != i[n]} == {"prov-wan1", "prov-fw1", "dr-wan1"}


def test_the_shown_estate_lists_them_only_where_they_are_used(routed_lab):
    dumped = routed_lab.model_dump(mode="json")
    assert dumped["devices"]["prov-wan1"]["announce"] == ["10.200.1.0/24", "10.200.2.0/23"]
    assert dumped["devices"]["prov-wan1"]["static_routes"][2] == {
        "prefix": "10.250.2.0/24",
        "via": "null0",
        "distance": None,
    }
    assert "static_routes" not in dumped["devices"]["hefei-wan1"] and "announce" not in dumped["devices"]["hefei-wan1"]
    assert [l.get("description") for l in dumped["links"]].count("CT-AH-DR-0001") == 1


def test_first_hosts_of_announced_prefixes():
    assert announced_address(IPv4Network("10.200.1.0/24")) == IPv4Interface("10.200.1.1/24")
    assert announced_address(IPv4Network("10.200.1.6/31")) == IPv4Interface("10.200.1.6/31")
    assert announced_address(IPv4Network("10.200.1.9/32")) == IPv4Interface("10.200.1.9/32")


def test_frr_renders_routes_and_announcements_and_vtysh_accepts_them(routed_lab):
    files = dict(render_estate(routed_lab, ["prov-wan1", "prov-fw1", "dr-wan1"]))
    wan = files["prov-wan1"]["frr"]
    assert "ip route 10.250.1.0/24 10.90.0.18\n" in wan
    assert "ip route 10.250.1.0/24 10.90.240.2 200\n" in wan
    assert "ip route 10.250.2.0/24 Null0\n" in wan
    lo = re.search(r"^interface lo\n(.*?)^exit$", wan, re.S | re.M).group(1)
    assert " ip address 10.200.1.1/24\n ip address 10.200.2.1/23\n" in lo
    assert " network 10.200.1.0/24 area 0\n network 10.200.2.0/23 area 0\n" in wan
    assert "ip route 0.0.0.0/0 10.90.0.17 250\n" in files["prov-fw1"]["frr"]  # a firewall's FRR too
    assert "[dedicated, fiber, 10000M, primary] CT-AH-DR-0001\n" in files["dr-wan1"]["frr"]
    produced: dict[str, dict[str, str]] = {}
    for name, by_syntax in files.items():
        for syntax, text in by_syntax.items():
            assert checks.check(syntax, text) == [], (name, syntax)  # vtysh --dryrun, nft -c
            platform = routed_lab.devices[name].platform
            produced.setdefault(platform, {})[file_name(name, syntax)] = text
    for platform, tree in produced.items():
        check_tree(GOLDEN / "netconfig" / platform / "routes", tree)


def _vendor_estate(province):
    """The province with routes and an announcement on one routing device of each vendor platform
    (in the model: the YAML path is the lab's, above; a count device cannot announce one prefix)."""
    devices, picked = dict(province.devices), {}
    for d in sorted(province.devices.values(), key=lambda d: d.name):
        if d.role in ("wan_router", "core_switch", "firewall") and d.platform not in picked:
            picked[d.platform] = d.name
    for k, name in enumerate(picked.values()):
        d = devices[name]
        lan = next(i.ip for i in d.interfaces if i.ip and i.zone)
        devices[name] = d.model_copy(
            update={
                "static_routes": (
                    StaticRoute(prefix=IPv4Network(f"10.250.{k}.0/24"), via=lan.ip + 1),
                    StaticRoute(prefix=IPv4Network(f"10.251.{k}.0/24"), via="null0", distance=250),
                ),
                "announce": (IPv4Network(f"10.200.{k}.0/24"),),
            }
        )
    return province.model_copy(update={"devices": devices}), picked


WANT = {
    "cisco_ios": ("ip route 10.250.{k}.0 255.255.255.0 {nh}", "ip route 10.251.{k}.0 255.255.255.0 Null0 250",
                  "interface Loopback1", " ip address 10.200.{k}.1 255.255.255.0", " network 10.200.{k}.0 0.0.0.255 area 0"),
    "huawei_vrp": ("ip route-static 10.250.{k}.0 255.255.255.0 {nh}",
                   "ip route-static 10.251.{k}.0 255.255.255.0 NULL0 preference 250",
                   "interface LoopBack1", " ip address 10.200.{k}.1 255.255.255.0", "  network 10.200.{k}.0 0.0.0.255"),
    "h3c_comware": (" ip route-static 10.250.{k}.0 24 {nh}", " ip route-static 10.251.{k}.0 24 NULL0 preference 250",
                    "interface LoopBack1", " ip address 10.200.{k}.1 255.255.255.0", "  network 10.200.{k}.0 0.0.0.255"),
}  # fmt: skip


def test_vendor_renderings_carry_routes_and_announcements_and_pass_their_checks(province):
    estate, picked = _vendor_estate(province)
    assert set(picked) == set(WANT)
    i = intents(estate)
    produced: dict[str, dict[str, str]] = {}
    for k, (platform, name) in enumerate(picked.items()):
        (text,) = render_intent(i[name]).values()
        nh = i[name].static_routes[0].via
        for line in WANT[platform]:
            assert line.format(k=k, nh=nh) + "\n" in text, (platform, line)
        assert checks.check(platform, text) == [], platform
        produced.setdefault(platform, {})[file_name(name, platform)] = text
    for platform, tree in produced.items():
        check_tree(GOLDEN / "netconfig" / platform / "routes", tree)


@pytest.mark.parametrize(
    "platform,line,why",
    [
        ("cisco_ios", "ip route 10.250.0.1 255.255.255.0 10.1.1.1", "host bits set"),
        ("cisco_ios", "ip route 10.250.0.0 255.0.255.0 Null0", "contiguous mask"),
        ("huawei_vrp", "ip route-static 10.250.0.0 255.255.255.0 NULL0 preference 300", "outside 1-255"),
        ("h3c_comware", " ip route-static 10.250.0.0 24 bogus", "neither an IPv4 address nor Null0"),
    ],
)
def test_the_vendor_checkers_refuse_a_static_route_the_device_would(province, platform, line, why):
    name = next(n for n, d in sorted(province.devices.items()) if d.platform == platform)
    (text,) = render_intent(intents(province)[name]).values()
    assert checks.check(platform, text) == []
    bad = text.replace("\n#\nreturn", f"\n#\n{line}\n#\nreturn").replace("\n!\nend", f"\n!\n{line}\n!\nend")
    found = checks.check(platform, bad)
    assert any(f.rule.endswith("static-route") and why in f.message for f in found), found
