"""Recorded CLI output of the estate's vendor devices, parsed with TextFSM (ntc-templates and
netconfig's own templates): the records carry what the drivers' getters need."""

from __future__ import annotations

from pathlib import Path

import pytest

from netconfig.parsers import ParseError, parse

RECORDINGS = Path(__file__).parent / "recordings"


def rec(platform: str, name: str) -> str:
    return (RECORDINGS / platform / name).read_text()


def test_every_platform_has_the_five_recordings_the_drivers_need():
    for platform, n in (("huawei_vrp", 5), ("h3c_comware", 5), ("cisco_ios", 5)):
        assert len(list((RECORDINGS / platform).glob("*.txt"))) == n, platform


@pytest.mark.parametrize(
    ("platform", "command", "name", "expected"),
    [
        ("huawei_vrp", "display version", "display_version.txt", {"model": "AR6280", "vrp_version": "5.170"}),
        (
            "h3c_comware",
            "display version",
            "display_version.txt",
            {"model": "SecPath F5030", "software_version": "7.1.064", "release": "9628P2415"},
        ),
        ("cisco_ios", "show version", "show_version.txt", {"hostname": "prov-core1", "version": "17.9.4a"}),
    ],
)
def test_version_gives_model_version_and_uptime(platform, command, name, expected):
    [record] = parse(platform, command, rec(platform, name))
    for key, value in expected.items():
        assert record[key] == value
    assert "days" in str(record["uptime"]) or "weeks" in str(record["uptime"])


def test_ios_version_carries_hardware_and_serial():
    [record] = parse("cisco_ios", "show version", rec("cisco_ios", "show_version.txt"))
    assert record["hardware"] == ["C9500-48Y4C"] and record["serial"] == ["FDO24391A7K"]


@pytest.mark.parametrize(
    ("platform", "command", "name", "interface", "up_field", "up_value"),
    [
        ("huawei_vrp", "display interface brief", "display_interface_brief.txt", "GigabitEthernet0/0/2", "phy", "up"),
        ("h3c_comware", "display interface brief", "display_interface_brief.txt", "GE1/0/2", "link", "UP"),
        ("cisco_ios", "show ip interface brief", "show_ip_interface_brief.txt", "GigabitEthernet0/1", "status", "up"),
    ],
)
def test_interfaces_with_their_state(platform, command, name, interface, up_field, up_value):
    records = {r["interface"]: r for r in parse(platform, command, rec(platform, name))}
    assert records[interface][up_field] == up_value
    assert len(records) >= 5


def test_interface_brief_shows_admin_down_and_addresses():
    vrp = {
        r["interface"]: r
        for r in parse("huawei_vrp", "display interface brief", rec("huawei_vrp", "display_interface_brief.txt"))
    }
    assert vrp["GigabitEthernet0/0/5"]["phy"] == "*down" and vrp["GigabitEthernet0/0/4"]["inerrors"] == "12"
    cw = {
        r["interface"]: r
        for r in parse("h3c_comware", "display interface brief", rec("h3c_comware", "display_interface_brief.txt"))
    }
    assert cw["GE1/0/3"]["link"] == "ADM" and cw["GE1/0/1"]["main_ip"] == "10.34.0.74"
    ios = {
        r["interface"]: r
        for r in parse("cisco_ios", "show ip interface brief", rec("cisco_ios", "show_ip_interface_brief.txt"))
    }
    assert ios["Loopback0"]["ip_address"] == "10.34.0.1"


def test_ospf_neighbours_with_states():
    vrp = parse("huawei_vrp", "display ospf peer", rec("huawei_vrp", "display_ospf_peer.txt"))
    assert [(r["neighbor_id"], r["state"], r["interface"]) for r in vrp] == [
        ("10.34.0.3", "Full", "GigabitEthernet0/0/2"),
        ("10.34.69.1", "Full", "GigabitEthernet0/0/3"),
        ("10.34.69.17", "Init", "GigabitEthernet0/0/4"),
    ]
    assert {r["area"] for r in vrp} == {"0.0.0.10"} and vrp[0]["local_router_id"] == "10.34.68.1"
    cw = parse("h3c_comware", "display ospf peer", rec("h3c_comware", "display_ospf_peer.txt"))
    assert [(r["neighbor_id"], r["state"], r["role"]) for r in cw] == [
        ("10.34.0.1", "Full", "DR"),
        ("10.34.0.2", "Full", "BDR"),
        ("10.34.0.3", "2-Way", "DROther"),
    ]
    ios = parse("cisco_ios", "show ip ospf neighbor", rec("cisco_ios", "show_ip_ospf_neighbor.txt"))
    assert {r["neighbor_id"]: r["state"] for r in ios}["10.34.0.6"] == "EXSTART/DROTHER"
    assert all(r["interface"] == "GigabitEthernet0/1" for r in ios)


@pytest.mark.parametrize(
    ("platform", "command", "name", "network", "nexthops"),
    [
        (
            "huawei_vrp",
            "display ip routing-table 10.34.0.1",
            "display_ip_routing-table_10.34.0.1.txt",
            "10.34.0.1",
            ["10.34.240.37", "10.34.68.34"],
        ),
        (
            "h3c_comware",
            "display ip routing-table 10.34.68.1",
            "display_ip_routing-table_10.34.68.1.txt",
            "10.34.68.1",
            ["10.34.0.65", "10.34.0.66"],
        ),
        ("cisco_ios", "show ip route 10.34.68.1", "show_ip_route_10.34.68.1.txt", "10.34.68.1", ["10.34.0.67"]),
    ],
)
def test_route_to_an_address(platform, command, name, network, nexthops):
    records = parse(platform, command, rec(platform, name))
    assert [r["nexthop_ip"] for r in records] == nexthops
    assert {r["network"] for r in records} == {network} and {r["prefix_length"] for r in records} == {"32"}


def test_commands_and_output_that_fit_no_template_are_refused():
    with pytest.raises(ParseError):
        parse("huawei_vrp", "display ospf peer", "this is not VRP output\n")
    with pytest.raises(ParseError):
        parse("cisco_ios", "show flux-capacitor", "")
    with pytest.raises(ValueError, match="no vendor CLI"):
        parse("frr", "show version", "")
