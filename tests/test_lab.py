"""The live lab: real FRR, nftables, sshd and snmpd in one namespace per device."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import JINBAO, REPO, run_cli
from lab import runtime
from lab.render import OPERATOR, VTY_OPERATOR
from lab.topology import expected_neighbors

OID_SYSNAME = "1.3.6.1.2.1.1.5.0"


def frr_nodes(lab):
    return [n for n in lab.plan.nodes.values() if n.runs_frr]


def test_every_router_has_all_its_ospf_adjacencies(lab):
    want = expected_neighbors(lab.plan)
    assert sum(len(v) for v in want.values()) >= 20
    for node, peers in want.items():
        got = runtime.ospf_neighbors(lab, node)
        for peer in peers:
            assert runtime.adjacency_ok(got.get(peer, "")), f"{node} -> {peer}: {got.get(peer)}"


def _ping_all(lab, src, targets):
    # -c3 with -w: success is any reply within 3 s, so one lost echo does not fail the test.
    script = " ".join(f"(ping -c1 -w3 -i0.3 -q {t} >/dev/null 2>&1 || echo FAIL {t}) &" for t in targets) + " wait"
    return lab.in_node(src, ["bash", "-c", script]).stdout.split()


def test_every_loopback_reaches_every_other(lab):
    nodes = [n for n in frr_nodes(lab) if n.device.loopback]
    assert len(nodes) >= 10
    todo = {n.name: [str(o.device.loopback) for o in nodes if o is not n] for n in nodes}
    t0 = time.monotonic()
    # OSPF is dynamic: a path still settling gets a few more seconds, never a pass for free.
    while todo and time.monotonic() - t0 < 20:
        with ThreadPoolExecutor(max_workers=4) as pool:
            fails = dict(zip(todo, pool.map(lambda n: _ping_all(lab, n, todo[n])[1::2], todo)))
        todo = {n: f for n, f in fails.items() if f}
    print(f"all loopbacks reachable after {time.monotonic() - t0:.1f} s")
    assert not todo, todo


def _tcp(lab, src, ip, port, timeout=3):
    r = lab.in_node(src, ["timeout", str(timeout), "bash", "-c", f"</dev/tcp/{ip}/{port}"], check=False)
    return r.returncode == 0


def _zone_ip(lab, name):
    return str(next(i.ip.ip for i in lab.plan.nodes[name].device.interfaces if i.zone))


def test_firewall_permits_allowed_flows_and_drops_denied_ones(lab):
    db, mon = _zone_ip(lab, "prov-db1"), _zone_ip(lab, "prov-mon1")
    # management -> production tcp/22 and icmp are in the estate's policy
    assert _tcp(lab, "prov-mon1", db, 22)
    assert lab.in_node("prov-mon1", ["ping", "-c1", "-W2", db], check=False).returncode == 0
    # production -> management tcp/22 is not: dropped, so the connect times out
    t = time.monotonic()
    assert not _tcp(lab, "prov-db1", mon, 22, timeout=2)
    assert time.monotonic() - t >= 1.9, "a drop must time out, not be refused"
    # and the drop is the firewall's doing: the firewall itself reaches mon1's sshd
    assert _tcp(lab, "prov-fw1", mon, 22)
    ruleset = lab.in_node("prov-fw1", ["nft", "list", "ruleset"]).stdout
    assert "policy drop" in ruleset and "tcp dport 22 accept" in ruleset


def _snmpget(lab, node, user, auth, priv, timeout=3):
    ip = str(lab.plan.nodes[node].device.mgmt_ip)
    return lab.in_node("ops", ["snmpget", "-v3", "-l", "authPriv", "-u", user, "-a", "SHA", "-A", auth,
                               "-x", "AES", "-X", priv, "-r", "0", "-t", str(timeout), "-On", "-Oqv", ip,
                               OID_SYSNAME], check=False, timeout=timeout + 10)


def test_snmpv3_answers_on_every_node(lab):
    env = lab.secrets_env()
    auth, priv = env["JINBAO_SNMP_AUTH_KEY"], env["JINBAO_SNMP_PRIV_KEY"]
    user = lab.plan.estate.snmp_profiles["v3-monitor"].user
    with ThreadPoolExecutor(max_workers=8) as pool:
        res = dict(zip(lab.plan.nodes, pool.map(lambda n: _snmpget(lab, n, user, auth, priv), lab.plan.nodes)))
    for node, r in res.items():
        assert r.returncode == 0 and r.stdout.strip().strip('"') == node, (node, r.stderr)
    bad = _snmpget(lab, "prov-wan1", user, "wrong-key-123", priv)
    assert bad.returncode != 0 and bad.stdout.strip() == ""


def test_no_snmp_secret_in_lab_logs(lab):
    env = lab.secrets_env()
    for log in lab.dir.glob("nodes/*/*.log"):
        text = log.read_text(errors="replace")
        assert env["JINBAO_SNMP_AUTH_KEY"] not in text and env["JINBAO_SNMP_PRIV_KEY"] not in text, log


def test_ssh_key_login_on_every_node(lab):
    def login(name):
        return lab.in_node("ops", [*lab.ssh_args(name), "hostname"], check=False, timeout=30)

    with ThreadPoolExecutor(max_workers=8) as pool:
        res = dict(zip(lab.plan.nodes, pool.map(login, lab.plan.nodes)))
    for node, r in res.items():
        assert r.returncode == 0 and r.stdout.strip() == node, (node, r.stderr)
    # vtysh as a login shell, for automation
    r = lab.in_node("ops", [*lab.ssh_args("chuzhou-wan1", VTY_OPERATOR), "show ip ospf neighbor"], check=False)
    assert r.returncode == 0 and "Full" in r.stdout, r.stderr
    # a key the lab did not issue is refused
    other = lab.dir / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    args = lab.ssh_args("prov-db1")
    args[args.index("-i") + 1] = str(other)
    assert lab.in_node("ops", [*args, "true"], check=False).returncode != 0


def _route_dev(lab, node, dst):
    return lab.in_node(node, ["ip", "-j", "route", "get", dst]).stdout


def _outage(lab, src, dst, action, settle):
    """Ping dst from src every 20 ms around action(); return the longest gap between replies."""
    cmd = lab.node_cmd(src, ["ping", "-D", "-n", "-i", "0.02", "-W", "1", dst])
    ping = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        t_action = time.time()
        action()
        settle()
        time.sleep(1.0)
    finally:
        ping.send_signal(signal.SIGINT)
        out, _ = ping.communicate(timeout=10)
    stamps = [float(m) for m in re.findall(r"^\[(\d+\.\d+)\] \d+ bytes from", out, re.M)]
    assert stamps and stamps[0] < t_action and stamps[-1] > t_action + 0.5, "traffic must flow before and after"
    return max(b - a for a, b in zip(stamps, stamps[1:]))


def _wait(pred, timeout):
    t = time.time()
    while time.time() - t < timeout:
        if pred():
            return time.time() - t
        time.sleep(0.1)
    raise AssertionError(f"condition not met within {timeout}s")


def test_city_primary_link_failure_fails_over_to_backup_and_back(lab):
    p = lab.plan
    target = str(p.nodes["chuzhou-wan1"].device.loopback)
    primary = runtime.find_link(lab, "prov-wan1", "chuzhou-wan1")
    prim_if = primary.a.interface if primary.a.device == "prov-wan1" else primary.b.interface
    assert json.loads(_route_dev(lab, "prov-wan1", target))[0]["dev"] == prim_if
    via_backup = lambda: json.loads(_route_dev(lab, "prov-wan1", target))[0]["dev"] != prim_if  # noqa: E731
    gap = _outage(lab, "dr-wan1", target, lambda: runtime.link_set(lab, "prov-wan1", "chuzhou-wan1", "down"),
                  lambda: _wait(via_backup, 20))
    print(f"carrier-loss failover outage: {gap:.3f} s")
    assert gap < 5.0, f"traffic to chuzhou stopped for {gap:.2f}s"
    # the backup path really is the other carrier: prov-wan1 now hands off to prov-wan2 on the core LAN
    prov_wan2_core = str(next(i.ip.ip for i in p.nodes["prov-wan2"].device.interfaces if i.zone == "core"))
    assert json.loads(_route_dev(lab, "prov-wan1", target))[0].get("gateway") == prov_wan2_core
    runtime.link_set(lab, "prov-wan1", "chuzhou-wan1", "up")
    back = _wait(lambda: not via_backup(), 30)
    print(f"back on the primary after {back:.1f} s")
    runtime.wait_converged(lab, timeout=60)


def test_silent_drop_is_detected_by_ospf_dead_timer(lab):
    target = str(lab.plan.nodes["wuhu-wan1"].device.loopback)
    primary = runtime.find_link(lab, "prov-wan1", "wuhu-wan1")
    prim_if = primary.a.interface if primary.a.device == "prov-wan1" else primary.b.interface
    on_primary = lambda: json.loads(_route_dev(lab, "prov-wan1", target))[0]["dev"] == prim_if  # noqa: E731
    assert on_primary()
    gap = _outage(lab, "dr-wan1", target, lambda: runtime.link_drop(lab, "prov-wan1", "wuhu-wan1"),
                  lambda: _wait(lambda: not on_primary(), 30))
    dead = lab.plan.estate.ospf.dead_s
    print(f"silent-drop failover outage: {gap:.3f} s (dead interval {dead} s)")
    assert gap < dead * 3 + 2
    # the carrier never dropped: it was a silent loss
    link = json.loads(lab.in_node("prov-wan1", ["ip", "-j", "link", "show", prim_if]).stdout)[0]
    assert "LOWER_UP" in link["flags"]
    runtime.link_set(lab, "prov-wan1", "wuhu-wan1", "up")
    _wait(on_primary, 30)
    runtime.wait_converged(lab, timeout=60)


def test_node_stop_and_start(lab):
    def ssh_ok():
        return lab.in_node("ops", [*lab.ssh_args("prov-app1"), "true"], check=False).returncode == 0

    runtime.node_stop(lab, "prov-app1")
    assert not ssh_ok()
    runtime.node_start(lab, "prov-app1")
    _wait(ssh_ok, 15)


def test_status_cli_reports_a_healthy_lab(lab):
    r = run_cli("lab", "status", "--id", lab.id, "--json")
    assert r.returncode == 0, r.stderr
    nodes = {n["node"]: n for n in json.loads(r.stdout)["nodes"]}
    assert set(nodes) == set(lab.plan.nodes)
    assert all(n["running"] and n["links_up"] == n["links"] for n in nodes.values())
    assert {"zebra", "ospfd", "bgpd", "staticd", "bfdd", "sshd", "snmpd"} <= set(nodes["prov-wan1"]["processes"])
    assert nodes["prov-db1"]["processes"] == ["snmpd", "sshd"]


def test_up_refuses_an_existing_lab(lab):
    r = run_cli("lab", "up", "--id", lab.id, "--no-wait")
    assert r.returncode == 2 and "already exists" in r.stderr


def test_lab_refuses_vendor_platforms():
    r = run_cli("lab", "up", "--estate", "province", "--id", "jbnever", "--no-wait")
    assert r.returncode == 2 and "only frr, nftables and linux platforms run here" in r.stderr
    assert not (runtime.LAB_ROOT / "jbnever").exists()


def _system_snapshot(lab_id):
    """What exists on the machine, seen by the system itself, not by the lab's records."""
    ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    netns_in_use = set()
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                netns_in_use.add(os.readlink(d / "ns" / "net"))
            except OSError:
                pass
    etc = [p.name for p in Path("/etc/netns").glob(f"{lab_id}*")] if Path("/etc/netns").exists() else []
    return {"ns": [l for l in ns.splitlines() if lab_id in l], "root_links": len(links.splitlines()),
            "netns_with_processes": netns_in_use, "etc": etc, "dir": (runtime.LAB_ROOT / lab_id).exists()}


def test_down_leaves_nothing_and_up_survives_a_killed_up():
    if os.geteuid() != 0:
        pytest.skip("needs root")
    lab_id = runtime.new_id()
    before = _system_snapshot(lab_id)
    assert before["ns"] == [] and not before["dir"]
    # an 'up' killed part-way: after some namespaces and nodes exist
    proc = subprocess.Popen([*JINBAO, "lab", "up", "--id", lab_id], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait(lambda: len(_system_snapshot(lab_id)["ns"]) >= 10, 30)
    time.sleep(0.5)
    proc.kill()
    proc.wait()
    assert _system_snapshot(lab_id)["ns"], "the kill should have left a half-built lab"
    r = run_cli("lab", "down", "--id", lab_id)
    assert r.returncode == 0, r.stderr
    after = _system_snapshot(lab_id)
    assert after == {**before}, after
    # down is safe to run twice
    assert run_cli("lab", "down", "--id", lab_id).returncode in (0, 2)
    # and a full up/down cycle works after it
    r = run_cli("lab", "up", "--id", lab_id, timeout=300)
    assert r.returncode == 0, r.stderr
    assert len(_system_snapshot(lab_id)["ns"]) == 17
    r = run_cli("lab", "down", "--id", lab_id)
    assert r.returncode == 0
    assert _system_snapshot(lab_id) == before
