"""The live lab: real FRR, nftables, sshd and snmpd in one namespace per device."""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from lab import health, runtime
from lab.render import VTY_OPERATOR
from lab.topology import expected_neighbors
from tests.support import REPO, run_cli

pytestmark = pytest.mark.lab
OID_SYSNAME = "1.3.6.1.2.1.1.5.0"


@pytest.fixture
def restore(lab):
    """Fault tests register how to undo their fault here; it runs even when the test fails, and
    the lab is converged again before the next test, so one failure never cascades."""
    undo: list = []
    yield undo  # undo.append(fn) before the fault; undo.clear() once the test restored it itself
    for fn in reversed(undo):
        try:
            fn()
        except Exception as e:
            print(f"restore step failed: {e}")
    if undo:
        health.wait_converged(lab, timeout=120)


def frr_nodes(lab):
    return [n for n in lab.plan.nodes.values() if n.runs_frr]


def test_every_router_has_all_its_ospf_adjacencies(lab):
    want = expected_neighbors(lab.plan)
    assert sum(len(v) for v in want.values()) >= 20
    for node, peers in want.items():
        got = health.ospf_neighbors(lab, node)
        for peer in peers:
            assert health.adjacency_ok(got.get(peer, "")), f"{node} -> {peer}: {got.get(peer)}"


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
            fails = dict(zip(todo, pool.map(lambda n, t=todo: _ping_all(lab, n, t[n])[1::2], todo), strict=False))
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
    return lab.in_node(
        "ops",
        [
            "snmpget",
            "-v3",
            "-l",
            "authPriv",
            "-u",
            user,
            "-a",
            "SHA",
            "-A",
            auth,
            "-x",
            "AES",
            "-X",
            priv,
            "-r",
            "0",
            "-t",
            str(timeout),
            "-On",
            "-Oqv",
            ip,
            OID_SYSNAME,
        ],
        check=False,
        timeout=timeout + 10,
    )


def test_snmpv3_answers_on_every_node(lab):
    env = lab.secrets_env()
    auth, priv = env["JINBAO_SNMP_AUTH_KEY"], env["JINBAO_SNMP_PRIV_KEY"]
    user = lab.plan.estate.snmp_profiles["v3-monitor"].user
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = pool.map(lambda n: _snmpget(lab, n, user, auth, priv), lab.plan.nodes)
        res = dict(zip(lab.plan.nodes, answers, strict=False))
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
        res = dict(zip(lab.plan.nodes, pool.map(login, lab.plan.nodes), strict=False))
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
    """The interface the kernel routes dst by, or None while there is no route (a real state)."""
    r = health.route_get(lab, node, dst)
    return r and r["dev"]


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
    return max(b - a for a, b in itertools.pairwise(stamps))


def _wait(pred, timeout, every=0.1):
    t = time.time()
    while time.time() - t < timeout:
        if pred():
            return time.time() - t
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout}s")


class RouteMonitor:
    """`ip monitor link route` inside a node: timestamps of link and route changes as they happen."""

    def __init__(self, lab, node):
        self.proc = subprocess.Popen(
            lab.node_cmd(node, ["ip", "-ts", "monitor", "link", "route"]), stdout=subprocess.PIPE, text=True
        )

    def stop(self) -> list[tuple[float, str]]:
        # SIGTERM, not SIGINT: a job started in the background by a non-interactive shell (as CI
        # may be) inherits SIGINT ignored, and `ip monitor` sets no handler of its own.
        self.proc.terminate()
        out, _ = self.proc.communicate(timeout=10)
        events = []
        for line in out.splitlines():
            m = re.match(r"^\[(\S+)\]\s*(.*)$", line)
            if m:
                ts = time.mktime(time.strptime(m.group(1)[:19], "%Y-%m-%dT%H:%M:%S")) + float("0" + m.group(1)[19:])
                events.append((ts, m.group(2)))
        return events


def no_route_window(events, target, iface) -> float:
    """Seconds from iface going down (the kernel drops its routes then, silently: they hang on a
    nexthop object) to the next route to target, which zebra installs."""
    down = None
    for ts, text in events:
        words = text.split()
        if (
            down is None
            and len(words) > 1
            and words[1].split("@")[0].rstrip(":") == iface
            and ("state DOWN" in text or "NO-CARRIER" in text)
        ):
            down = ts
        elif down is not None and words[:1] == [target]:
            return ts - down
    raise AssertionError(f"no link-down of {iface} followed by a route to {target} in {len(events)} events")


@pytest.mark.slow
def test_city_primary_link_failure_fails_over_to_backup_and_back(lab, restore):
    p = lab.plan
    target = str(p.nodes["chuzhou-wan1"].device.loopback)
    primary = runtime.find_link(lab, "prov-wan1", "chuzhou-wan1")
    prim_if = primary.a.interface if primary.a.device == "prov-wan1" else primary.b.interface
    assert _route_dev(lab, "prov-wan1", target) == prim_if
    # "No route yet" is a poll's "not yet", never an error (the backup is installed ms later).
    via_backup = lambda: _route_dev(lab, "prov-wan1", target) not in (None, prim_if)  # noqa: E731
    restore.append(lambda: runtime.link_set(lab, "prov-wan1", "chuzhou-wan1", "up"))
    monitor = RouteMonitor(lab, "prov-wan1")
    time.sleep(0.3)  # let the monitor subscribe before the fault
    try:
        gap = _outage(
            lab,
            "dr-wan1",
            target,
            lambda: runtime.link_set(lab, "prov-wan1", "chuzhou-wan1", "down"),
            lambda: _wait(via_backup, 20, every=0.005),
        )
    finally:
        events = monitor.stop()
    window = no_route_window(events, target, prim_if)
    print(f"carrier-loss failover outage: {gap:.3f} s; no route on prov-wan1 for {window * 1000:.1f} ms")
    assert gap < 5.0, f"traffic to chuzhou stopped for {gap:.2f}s"
    assert 0 <= window < 2.0
    # the backup path really is the other carrier: prov-wan1 now hands off to prov-wan2 on the core LAN
    prov_wan2_core = str(next(i.ip.ip for i in p.nodes["prov-wan2"].device.interfaces if i.zone == "core"))
    assert health.route_get(lab, "prov-wan1", target).get("gateway") == prov_wan2_core
    monitor = RouteMonitor(lab, "prov-wan1")
    time.sleep(0.3)
    t_up = time.time()
    try:
        runtime.link_set(lab, "prov-wan1", "chuzhou-wan1", "up")
        restore.clear()
        # Converged means routed as intended, not only adjacencies: once the wait returns,
        # traffic is back on the primary (adjacencies alone were Full about 9 s earlier).
        converged = health.wait_converged(lab, timeout=60)
        assert _route_dev(lab, "prov-wan1", target) == prim_if
    finally:
        events = monitor.stop()
    back = next(ts for ts, text in events if ts >= t_up and text.split()[:1] == [target] and f"dev {prim_if} " in text)
    print(f"link up: back on the primary after {back - t_up:.1f} s; converged (and held) from {converged:.1f} s")
    assert converged >= back - t_up - 0.5, "convergence was declared before traffic returned to the primary"


@pytest.mark.slow
def test_silent_drop_is_detected_by_ospf_dead_timer(lab, restore):
    target = str(lab.plan.nodes["wuhu-wan1"].device.loopback)
    primary = runtime.find_link(lab, "prov-wan1", "wuhu-wan1")
    prim_if = primary.a.interface if primary.a.device == "prov-wan1" else primary.b.interface
    on_primary = lambda: _route_dev(lab, "prov-wan1", target) == prim_if  # noqa: E731
    assert on_primary()
    restore.append(lambda: runtime.link_set(lab, "prov-wan1", "wuhu-wan1", "up"))
    gap = _outage(
        lab,
        "dr-wan1",
        target,
        lambda: runtime.link_drop(lab, "prov-wan1", "wuhu-wan1"),
        lambda: _wait(lambda: _route_dev(lab, "prov-wan1", target) not in (None, prim_if), 30),
    )
    dead = lab.plan.estate.ospf.dead_s
    print(f"silent-drop failover outage: {gap:.3f} s (dead interval {dead} s)")
    assert gap < dead * 3 + 2
    # the carrier never dropped: it was a silent loss
    link = json.loads(lab.in_node("prov-wan1", ["ip", "-j", "link", "show", prim_if]).stdout)[0]
    assert "LOWER_UP" in link["flags"]
    runtime.link_set(lab, "prov-wan1", "wuhu-wan1", "up")
    restore.clear()
    health.wait_converged(lab, timeout=60)
    assert on_primary()


def test_node_stop_and_start(lab, restore):
    def ssh_ok():
        return lab.in_node("ops", [*lab.ssh_args("prov-app1"), "true"], check=False).returncode == 0

    restore.append(lambda: runtime.node_start(lab, "prov-app1") if not ssh_ok() else None)
    runtime.node_stop(lab, "prov-app1")
    assert not ssh_ok()
    runtime.node_start(lab, "prov-app1")
    restore.clear()
    _wait(ssh_ok, 15)


def test_status_cli_reports_a_healthy_lab(lab):
    r = run_cli("lab", "status", "--id", lab.id, "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    st = json.loads(r.stdout)
    assert st["healthy"] is True
    nodes = {n["node"]: n for n in st["nodes"]}
    assert set(nodes) == set(lab.plan.nodes)
    assert all(n["running"] and n["ssh"] and n["links_up"] == n["links"] for n in nodes.values())
    assert {"zebra", "ospfd", "bgpd", "staticd", "bfdd", "sshd", "snmpd"} <= set(nodes["prov-wan1"]["processes"])
    # a server runs sshd and snmpd, and its syslog forwarder (tail | logger) to the collector
    assert nodes["prov-db1"]["processes"] == ["logger", "snmpd", "sshd", "tail"]
    # routes are judged too: every router reaches every other loopback by its intended path
    assert nodes["prov-wan1"]["routes_expected"] == sum(1 for n in frr_nodes(lab) if n.device.loopback) - 1
    assert all(n["routes_ok"] == n["routes_expected"] for n in nodes.values())
    assert run_cli("lab", "status", "--id", lab.id).returncode == 0


@pytest.mark.slow
def test_status_sees_stopped_daemons_and_down_links(lab, restore):
    """A stopped node and a failed link make status exit 1 in both forms, and say why."""
    restore.append(lambda: runtime.node_start(lab, "prov-db1"))
    runtime.node_stop(lab, "prov-db1")
    r = run_cli("lab", "status", "--id", lab.id, "--json")
    assert r.returncode == 1, r.stdout + r.stderr
    db = next(n for n in json.loads(r.stdout)["nodes"] if n["node"] == "prov-db1")
    stopped = ["logger", "snmpd", "sshd", "tail"]  # its daemons and its syslog forwarder
    assert db["healthy"] is False and db["ssh"] is False and db["missing_daemons"] == stopped
    table = run_cli("lab", "status", "--id", lab.id)
    assert table.returncode == 1 and f"prov-db1: daemons not running: {', '.join(stopped)}" in table.stderr
    runtime.node_start(lab, "prov-db1")
    restore.clear()

    restore.append(lambda: runtime.link_set(lab, "prov-wan1", "hefei-wan1", "up"))
    runtime.link_set(lab, "prov-wan1", "hefei-wan1", "down")
    r = run_cli("lab", "status", "--id", lab.id, "--json")
    assert r.returncode == 1
    nodes = {n["node"]: n for n in json.loads(r.stdout)["nodes"]}
    assert "1 link(s) down" in nodes["hefei-wan1"]["problems"]
    assert nodes["hefei-wan1"]["ospf_full"] < nodes["hefei-wan1"]["ospf_expected"]


def test_operator_mistakes_get_clear_errors(lab):
    r = run_cli("lab", "down", "--id", "jbnosuch")
    assert r.returncode == 2 and "no lab jbnosuch" in r.stderr and "nothing was removed" in r.stderr
    assert lab.running("prov-wan1"), "a mistyped down must not touch the real lab"
    r = run_cli("lab", "exec", "--id", lab.id, "prov-nosuch", "true")
    assert r.returncode == 2 and "no such node 'prov-nosuch'" in r.stderr


def test_a_reused_anchor_pid_is_not_entered(lab):
    """If a node's anchor died and its PID went to another process, never enter that one, even
    a process in the node's own network namespace but the host's mount and UTS namespaces."""
    f = lab.node_dir("prov-app1") / "anchor.pid"
    real = f.read_text()
    impostor = subprocess.Popen(["ip", "netns", "exec", lab.plan.nodes["prov-app1"].ns, "sleep", "60"])
    try:
        for pid in (os.getpid(), impostor.pid):  # the host's namespaces; the node's netns only
            f.write_text(str(pid))
            with pytest.raises(runtime.LabError, match="not running"):
                lab.node_cmd("prov-app1", ["true"])
            assert not lab.running("prov-app1")
    finally:
        f.write_text(real)
        impostor.kill()
        impostor.wait()
    assert lab.running("prov-app1")


def test_careless_ids_and_the_exec_separator(lab):
    r = run_cli("lab", "down", "--id", "")
    assert r.returncode == 2 and "empty" in r.stderr
    assert lab.running("prov-wan1")
    r = run_cli("lab", "exec", "--id", lab.id, "ops", "--", "ip", "-br", "addr", "show", "ops0")
    assert r.returncode == 0 and str(lab.plan.ops_ip) in r.stdout, r.stderr
    r = run_cli("lab", "exec", "--id", lab.id, "prov-wan1", "--", "hostname")
    assert r.returncode == 0 and r.stdout.strip() == "prov-wan1"


def test_a_lab_root_elsewhere_never_touches_a_lab_with_the_same_id(lab, tmp_path):
    env = {"JINBAO_LAB_ROOT": str(tmp_path / "root")}
    r = run_cli("lab", "down", "--id", lab.id, env=env)
    assert r.returncode == 2 and f"no lab {lab.id}" in r.stderr
    r = run_cli("lab", "up", "--id", lab.id, "--no-wait", env=env)
    assert r.returncode == 2 and "in use on this machine" in r.stderr, r.stderr
    assert lab.running("prov-wan1") and not (tmp_path / "root" / lab.id).exists()


def test_up_refuses_an_existing_lab(lab):
    r = run_cli("lab", "up", "--id", lab.id, "--no-wait")
    assert r.returncode == 2 and "already exists" in r.stderr


def test_lab_refuses_vendor_platforms():
    r = run_cli("lab", "up", "--estate", "province", "--id", "jbnever", "--no-wait")
    assert r.returncode == 2 and "only frr, nftables and linux platforms run here" in r.stderr
    assert not (runtime.LAB_ROOT / "jbnever").exists()


def test_the_lab_acts_on_what_it_built_not_on_an_edited_inventory(lab, tmp_path):
    """Editing inventory/ while a lab runs must not make status aim at addresses never built."""
    import shutil

    inv = tmp_path / "inventory"
    shutil.copytree(REPO / "inventory", inv)
    sites = inv / "lab" / "sites.yml"
    sites.write_text(sites.read_text().replace("name: prov-app1", "name: prov-app9"))
    est = inv / "lab" / "estate.yml"
    est.write_text(est.read_text().replace("block: 10.91.0.0/16", "block: 10.92.0.0/16"))
    r = run_cli("lab", "status", "--id", lab.id, "--json", env={"JINBAO_INVENTORY": str(inv)})
    assert r.returncode == 0, r.stdout + r.stderr
    nodes = {n["node"]: n for n in json.loads(r.stdout)["nodes"]}
    assert "prov-app1" in nodes and "prov-app9" not in nodes
    assert nodes["prov-app1"]["mgmt"].startswith("10.91.")


def _fw_flush(lab):
    lab.in_node("prov-fw1", ["nft", "delete", "table", "inet", "jinbao_zones"])
    return lambda: lab.in_node("prov-fw1", ["nft", "-f", str(lab.node_dir("prov-fw1") / "zones.nft")])


def _forwarding_off(lab):
    lab.in_node("hefei-wan1", ["sysctl", "-qw", "net.ipv4.ip_forward=0"])
    return lambda: lab.in_node("hefei-wan1", ["sysctl", "-qw", "net.ipv4.ip_forward=1"])


def _snmpd_frozen(lab):
    pid = int(lab.in_node("prov-db1", ["cat", "/run/snmpd.pid"]).stdout)
    os.kill(pid, signal.SIGSTOP)
    return lambda: os.kill(pid, signal.SIGCONT)


def _no_default_route(lab):
    gw = str(lab.plan.gateway(lab.plan.nodes["prov-app1"]))
    lab.in_node("prov-app1", ["ip", "route", "del", "default"])
    return lambda: lab.in_node("prov-app1", ["ip", "route", "add", "default", "via", gw])


def _lan_bridge_down(lab):
    seg = next(s for s in lab.plan.segments if (s.site, s.zone) == ("prov", "production"))
    runtime.sh(["ip", "-n", lab.plan.sw_ns, "link", "set", seg.bridge, "down"])
    return lambda: runtime.sh(["ip", "-n", lab.plan.sw_ns, "link", "set", seg.bridge, "up"])


# Each case pays for restoring the lab afterwards (about 10 s).
@pytest.mark.slow
@pytest.mark.parametrize(
    "fault, node, says",
    [
        (_fw_flush, "prov-fw1", "zone policy not loaded"),
        (_forwarding_off, "hefei-wan1", "IPv4 forwarding is off"),
        (_snmpd_frozen, "prov-db1", "snmpd does not answer an SNMPv3 GET"),
        (_no_default_route, "prov-app1", "no default route via"),
        (_lan_bridge_down, None, "LAN bridge of prov/production"),
    ],
    ids=["firewall-policy-flushed", "forwarding-off", "snmpd-stopped", "server-default-route", "lan-bridge-down"],
)
def test_status_sees_what_breaks_service_not_only_processes(lab, restore, fault, node, says):
    """Faults that leave every process running but break the service still make the lab unhealthy."""
    restore.append(fault(lab))
    agg = health.status(lab)
    r = agg.results[health.SWITCH if node is None else node]
    assert agg.failed and r.failed and any(says in p for p in r.problems), r.problems
    assert agg.exit_code() == 1


def test_a_lab_that_does_not_converge_in_time_is_a_failure_not_bad_input():
    """Exit 1 (targets failed), and what was built is removed again."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    lab_id = runtime.new_id()
    # Convergence must hold for two dead intervals (8 s), so 1 s can never be enough.
    r = run_cli("lab", "up", "--id", lab_id, "--timeout", "1", timeout=300)
    assert r.returncode == 1 and "did not converge within 1s" in r.stderr, r.stdout + r.stderr
    assert not (runtime.LAB_ROOT / lab_id).exists()
    assert not [ns for ns in runtime.lab_namespaces() if ns.startswith(f"{lab_id}-")]
