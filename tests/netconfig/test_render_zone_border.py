"""Zone policies on one-border firewalls (the province DC: one firewall between core and each
guarded zone). A flow management -> production crosses prov-fw-mgmt (management -> core) and then
prov-fw-prod (core -> production); each permits it by zone and by the far zone's network, so what
arrives from core for another zone's sake is not let through. Rendered for VRP, Comware and
nftables, each checked by its platform's checker."""

from __future__ import annotations

import dataclasses
from ipaddress import IPv4Network

import pytest

from jinbao.intent import intents
from jinbao.model import Service
from netconfig import checks
from netconfig.checks.diff import dialect
from netconfig.checks.loader import hierarchy
from netconfig.render import render_intent

BORDER = {
    "prov-fw-prod": "production",
    "prov-fw-exch": "exchange",
    "prov-fw-dec": "decision",
    "prov-fw-pub": "public",
    "prov-fw-mgmt": "management",
}


@pytest.fixture(scope="module")
def prov(province):
    return {n: i for n, i in intents(province).items() if n in BORDER}


@pytest.fixture(scope="module")
def nets(province):
    return {z.name: z.block for z in province.sites["prov"].zones.values()}


def _rule(intent, name):
    (rule,) = [r for r in intent.firewall.rules if r.name == name]
    return rule


def _iface(intent, zone):
    return dict(intent.firewall.zones)[zone]


def _admits(rule, proto, port):
    return any(s.proto == proto and s.ports and s.ports[0] <= port <= s.ports[1] for s in rule.services)


def test_management_to_production_is_permitted_on_both_borders_it_crosses(prov, nets):
    out = _rule(prov["prov-fw-mgmt"], "management-to-production")
    assert (out.from_zone, out.to_zone) == ("management", "core")
    assert (out.in_interface, out.out_interface) == (
        _iface(prov["prov-fw-mgmt"], "management"),
        _iface(prov["prov-fw-mgmt"], "core"),
    )
    assert out.sources == () and out.destinations == (nets["production"],)
    into = _rule(prov["prov-fw-prod"], "management-to-production")
    assert (into.from_zone, into.to_zone) == ("core", "production")
    assert (into.in_interface, into.out_interface) == (
        _iface(prov["prov-fw-prod"], "core"),
        _iface(prov["prov-fw-prod"], "production"),
    )
    assert into.sources == (nets["management"],) and into.destinations == ()
    assert out.services == into.services and Service(proto="tcp", ports=(22, 22)) in into.services


def test_public_to_exchange_on_443_does_not_open_core_to_production(prov, nets):
    # public -> exchange tcp/443 is rendered where it crosses (prov-fw-pub, prov-fw-exch) ...
    assert _rule(prov["prov-fw-pub"], "public-to-exchange").destinations == (nets["exchange"],)
    assert _rule(prov["prov-fw-exch"], "public-to-exchange").sources == (nets["public"],)
    # ... and no rule on prov-fw-prod lets a public source into production on 443: every rule from
    # core names its sources, none of them public.
    into_prod = [r for r in prov["prov-fw-prod"].firewall.rules if r.to_zone == "production"]
    on_443 = [r for r in into_prod if _admits(r, "tcp", 443)]
    assert [r.name for r in on_443] == ["exchange-to-production"]
    for r in into_prod:
        assert r.sources and not any(s.overlaps(nets["public"]) for s in r.sources), r


def test_a_policy_touching_neither_zone_of_a_firewall_is_not_rendered_there(prov, province):
    for name, guarded in BORDER.items():
        rules = prov[name].firewall.rules
        assert rules, name
        assert all(guarded in (r.flow_from, r.flow_to) for r in rules), name
        expected = {
            f"{p.from_zone}-to-{p.to_zone}"
            for p in province.policies
            if p.site == "prov" and guarded in (p.from_zone, p.to_zone)
        }
        assert {r.name for r in rules} == expected, name
    assert "public-to-exchange" not in {r.name for r in prov["prov-fw-prod"].firewall.rules}


def test_a_firewall_guarding_both_zones_matches_by_zone_alone(lab_estate):
    rules = intents(lab_estate)["prov-fw1"].firewall.rules
    assert rules and all(r.sources == r.destinations == () for r in rules)
    assert all((r.from_zone, r.to_zone) == (r.flow_from, r.flow_to) for r in rules)


def _sections(platform, text):
    return {c.text: c for c in hierarchy(dialect(platform), text).children}


def test_vrp_renders_the_address_match(prov, nets):
    (text,) = render_intent(prov["prov-fw-prod"]).values()
    assert checks.check("huawei_vrp", text) == []
    rule = _sections("huawei_vrp", text)["security-policy"].get_child(equals="rule name management-to-production")
    mgmt = nets["management"]
    assert {c.text for c in rule.children} >= {
        "source-zone core",
        "destination-zone production",
        f"source-address {mgmt.network_address} mask {mgmt.netmask}",
        "action permit",
    }
    assert not any(c.text.startswith("destination-address") for c in rule.children)


def test_comware_renders_the_address_match(prov, nets):
    (text,) = render_intent(prov["prov-fw-mgmt"]).values()
    assert checks.check("h3c_comware", text) == []
    policy = _sections("h3c_comware", text)["security-policy ip"]
    (rule,) = [c for c in policy.children if c.text.endswith(" name management-to-production")]
    prod = nets["production"]
    assert {c.text for c in rule.children} >= {
        "source-zone management",
        "destination-zone core",
        f"destination-ip-subnet {prod.network_address} {prod.netmask}",
        "action pass",
    }


def test_nftables_renders_the_address_match_and_nft_accepts_it(prov, nets):
    # The same intent on a Linux firewall, its ports renamed the Linux way (nft refuses interface
    # names longer than IFNAMSIZ).
    vrp = prov["prov-fw-prod"]
    linux = {iface: f"eth{n}" for n, (_, iface) in enumerate(vrp.firewall.zones, start=1)}
    rules = tuple(
        dataclasses.replace(r, in_interface=linux[r.in_interface], out_interface=linux[r.out_interface])
        for r in vrp.firewall.rules
    )
    fw = dataclasses.replace(vrp, platform="nftables", firewall=dataclasses.replace(vrp.firewall, rules=rules))
    text = render_intent(fw)["nftables"]
    assert checks.check("nftables", text) == []
    core, prod = linux[_iface(vrp, "core")], linux[_iface(vrp, "production")]
    mgmt: IPv4Network = nets["management"]
    assert f'iifname "{core}" oifname "{prod}" ip saddr {{ {mgmt} }} tcp dport 22 accept' in text
    assert f'iifname "{prod}" oifname "{core}" ip daddr {{ {mgmt} }} udp dport 514 accept' in text
