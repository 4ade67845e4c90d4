"""`jinbao config get` against the live lab: many devices, one of them down."""

from __future__ import annotations

import json
import time

import pytest

from tests.support import run_cli

pytestmark = pytest.mark.lab


def test_get_ospf_of_two_routers_as_json(lab):
    r = run_cli("config", "get", "--lab", lab.id, "prov-wan1", "wuhu-wan1", "ospf", "--json")
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert set(got) == {"prov-wan1", "wuhu-wan1"}
    assert any(n["interface"] and n["state"].startswith("Full") for n in got["wuhu-wan1"]["data"])


def test_unknown_device_is_bad_input(lab):
    r = run_cli("config", "get", "--lab", lab.id, "prov-wan1", "no-such-router", "facts")
    assert r.returncode == 2 and "no-such-router" in r.stderr


def test_one_stopped_node_never_stops_the_others(lab):
    from lab import health

    node = "hefei-wan2"
    assert run_cli("lab", "node", "stop", "--id", lab.id, node).returncode == 0
    try:
        t0 = time.monotonic()
        r = run_cli("config", "get", "--lab", lab.id, "--all", "facts", "--json")
        took = time.monotonic() - t0
        assert r.returncode == 1, r.stderr
        got = json.loads(r.stdout)
        assert set(got) == set(lab.plan.nodes)
        assert [h for h, res in got.items() if res["failed"]] == [node]
        assert all(res["data"]["hostname"] == h for h, res in got.items() if h != node)
        assert "ConnectionFailed" in got[node]["exception"]
        table = run_cli("config", "get", "--lab", lab.id, "--all", "facts")
        assert table.returncode == 1
        assert f"✗ {node}: ConnectionFailed" in table.stderr  # the summary names it, and why
        assert "prov-wan1" in table.stdout and "FRRouting 8" in table.stdout
        print(f"config get --all facts over {len(got)} nodes, one down: {took:.1f}s")
    finally:
        run_cli("lab", "node", "start", "--id", lab.id, node, check=True)
        health.wait_converged(lab, timeout=120)
