"""The poller against a live lab: real snmpd (SNMPv3 authPriv) in every node, reached from the
lab's operator namespace, checked against net-snmp's own client in the same test."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from dataclasses import replace

import pytest

from jinbao.target import targets
from monitoring import poller
from monitoring.state import PollState
from tests.support import run_cli

pytestmark = pytest.mark.lab

IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"


@pytest.fixture(scope="module")
def mlab():
    """This module's own lab (it stops a node and takes a link down), always torn down."""
    if os.geteuid() != 0:
        pytest.skip("the lab needs root (network namespaces)")
    from lab import runtime

    lab = runtime.up("lab", runtime.new_id(), wait=True, timeout=240)
    try:
        yield lab
    finally:
        runtime.down(lab)


@pytest.fixture(scope="module")
def jobs(mlab):
    return {j.device.name: j for j in poller.jobs(mlab.plan.estate, targets(f"lab:{mlab.id}"))}


def _netsnmp(lab, tmp_path, tool, node, *oids):
    """net-snmp's client from the operator seat, with the lab's keys: the reference answer."""
    prof = lab.plan.estate.snmp_profiles[lab.plan.nodes[node].device.snmp_profile]
    auth, priv = lab.snmp_keys()[prof.name]
    ip = str(lab.plan.nodes[node].device.mgmt_ip)
    cmd = ["env", f"SNMP_PERSISTENT_DIR={tmp_path}", tool, "-v3", "-l", "authPriv", "-u", prof.user]
    cmd += ["-a", "SHA", "-A", auth, "-x", "AES", "-X", priv, "-On", "-Oq", "-Ot", ip, *oids]
    r = lab.in_node("ops", cmd, check=False, timeout=30)
    assert r.returncode == 0, r.stderr
    return dict(line.split(" ", 1) for line in r.stdout.strip().splitlines())


def test_every_node_is_polled_over_v3_and_agrees_with_net_snmp(mlab, jobs, tmp_path):
    state = PollState()
    first = poller.poll(list(jobs.values()), state)
    assert not first.failed, {h: r.why for h, r in first.failed_hosts.items()}
    assert set(first.results) == set(mlab.plan.nodes)
    for name, r in first.results.items():
        d = r.data
        assert d["system"]["sys_name"] == name
        walked = _netsnmp(mlab, tmp_path, "snmpbulkwalk", name, IF_NAME)
        assert {i["name"] for i in d["interfaces"]} == {v.strip('"') for v in walked.values()}, name
        ticks = int(_netsnmp(mlab, tmp_path, "snmpget", name, SYS_UPTIME)["." + SYS_UPTIME])
        assert 0 <= ticks / 100 - d["system"]["uptime_s"] < 60, name
        if d["class"] in ("router", "firewall", "server"):
            # net-snmp fills hrProcessorLoad only after a minute of sampling: a fresh node has none yet.
            cpu = d["health"]["cpu_pct"]
            assert (cpu is None or 0 <= cpu <= 100) and 0 < d["health"]["memory_pct"] < 100, name
    # The first poll has no previous counters: no rates yet, and the static columns were read.
    wan1 = first.results["prov-wan1"].data
    assert all(i["in_bps"] is None for i in wan1["interfaces"]) and wan1["interfaces_static_read"]

    # net-snmp serves ifTable from a cache refreshed every few seconds: a poll that lands inside the
    # window reads the same counters again, a true rate of 0. Poll on until every agent has refreshed.
    deadline, idle = time.monotonic() + 90, set(first.results)
    while idle:
        time.sleep(1)
        second = poller.poll(list(jobs.values()), state)
        assert not second.failed
        for name, r in second.results.items():
            d = r.data
            assert not d["interfaces_static_read"], name  # cached: only the dynamic columns were walked
            assert d["requests"] < first.results[name].data["requests"], name
            assert all(i["in_bps"] is not None and i["in_bps"] >= 0 for i in d["interfaces"]), name
            assert not d["system"]["rebooted"], name
            mgmt = next(i for i in d["interfaces"] if i["name"] == "mgmt0")
            assert mgmt["in_errors"] == 0, name
            # The poller's own requests arrive on mgmt0: once the agent re-reads its counters, the rate is above 0.
            if mgmt["in_bps"] > 0:
                idle.discard(name)
        assert time.monotonic() < deadline, f"mgmt0 inbound rate still 0 on {sorted(idle)}"


# FRR's names for the states of RFC 2328 against OSPF-MIB's ospfNbrState, as the poller names them
_FRR_STATE = {
    "Down": "down", "Attempt": "attempt", "Init": "init", "2-Way": "twoWay",
    "ExStart": "exchangeStart", "Exchange": "exchange", "Loading": "loading", "Full": "full",
}  # fmt: skip


def _vtysh_neighbours(lab, node: str) -> dict[str, str]:
    """Router id -> state of the node's OSPF neighbours, as FRR itself reports them."""
    r = lab.in_node(node, ["vtysh", "-c", "show ip ospf neighbor json"], timeout=30)
    got = json.loads(r.stdout)["neighbors"]
    return {rid: _FRR_STATE[n["nbrState"].split("/")[0]] for rid, ns in got.items() for n in ns}


def test_ospf_neighbours_are_read_from_ospf_mib_and_agree_with_frr(mlab, jobs):
    """ospfd serves OSPF-MIB to the node's snmpd over AgentX: the poller sees every FRR node's
    adjacencies, as vtysh shows them (polled until both agree: the lab may still converge)."""
    frr = [n for n, node in mlab.plan.nodes.items() if node.runs_frr]
    assert frr
    deadline, differ = time.monotonic() + 120, {}
    while True:
        polled = poller.poll([jobs[n] for n in frr], PollState())
        assert not polled.failed, {h: r.why for h, r in polled.failed_hosts.items()}
        differ = {}
        for name in frr:
            ospf = polled.results[name].data["ospf"]
            seen = {str(n["router_id"]): n["state"] for n in ospf["neighbours"]}
            frr_says = _vtysh_neighbours(mlab, name)
            if not ospf["exposed"] or seen != frr_says or not seen:
                differ[name] = (ospf["exposed"], seen, frr_says)
        if not differ:
            break
        assert time.monotonic() < deadline, differ
        time.sleep(1)
    assert all(n["state"] == "full" for name in frr for n in polled.results[name].data["ospf"]["neighbours"])


def test_wrong_keys_and_unknown_users_are_named_as_such(jobs):
    good = jobs["prov-wan1"]
    wrong_auth = replace(jobs["prov-db1"], creds=replace(jobs["prov-db1"].creds, auth_key="not-the-auth-key-1"))
    wrong_priv = replace(jobs["prov-app1"], creds=replace(jobs["prov-app1"].creds, priv_key="not-the-priv-key-1"))
    no_user = replace(jobs["dr-db1"], creds=replace(jobs["dr-db1"].creds, user="nobody-here"))
    agg = poller.poll([good, wrong_auth, wrong_priv, no_user], opt=poller.Options(timeout=1, retries=0))
    status = {h: r.data["status"] for h, r in agg.results.items()}
    assert status == {
        "prov-wan1": "ok",
        "prov-db1": "wrong_auth_key",
        "prov-app1": "wrong_priv_key",
        "dr-db1": "unknown_user",
    }
    assert "authentication key" in agg.results["prov-db1"].why and "privacy key" in agg.results["prov-app1"].why
    text = json.dumps({h: r.as_dict() for h, r in agg.results.items()}, default=str)
    for secret in (good.creds.auth_key, good.creds.priv_key, "not-the-auth-key-1", "not-the-priv-key-1"):
        assert secret not in text


class _Responder:
    """A UDP port on loopback that answers every datagram with bytes that are not SNMP (or,
    with garbage=False, never answers): an agent gone mad, or a dead one."""

    def __init__(self, garbage: bool):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.garbage, self.stop, self.seen = garbage, threading.Event(), 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        replies = [os.urandom(48), b"\x30\x82\xff\xff\x02\x01\x03\x04", b"\x30\x03\x02\x01"]
        while not self.stop.is_set():
            try:
                _, peer = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            self.seen += 1
            if self.garbage:
                for reply in replies:  # random bytes, a BER length past the end, a cut-off sequence
                    self.sock.sendto(reply, peer)

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


def _at(job, name, port):
    device = job.device.model_copy(update={"name": name})
    return replace(job, device=device, target=replace(job.target, name=name, host="127.0.0.1", netns=None), port=port)


def test_garbage_and_silent_agents_are_named_and_do_not_hold_up_the_others(jobs):
    garbage, silent = _Responder(garbage=True), _Responder(garbage=False)
    try:
        opt = poller.Options(timeout=1, retries=1, deadline=15)
        todo = [
            *jobs.values(),
            _at(jobs["prov-mon1"], "garbage-1", garbage.port),
            _at(jobs["prov-mon1"], "silent-1", silent.port),
        ]
        started = time.monotonic()
        agg = poller.poll(todo, opt=opt)
        wall = time.monotonic() - started
    finally:
        garbage.close()
        silent.close()
    assert garbage.seen > 0 and silent.seen > 0  # both were asked, for real
    assert agg.results["garbage-1"].data["status"] == "garbage"
    assert agg.results["silent-1"].data["status"] == "unreachable"
    healthy = {h: r for h, r in agg.results.items() if h in jobs}
    assert all(not r.failed for r in healthy.values()), {h: r.why for h, r in healthy.items() if r.failed}
    # Polled side by side: nobody waited for the bad two, and the bad two kept their deadline.
    assert max(r.data["seconds"] for r in agg.results.values()) < opt.deadline
    assert wall < opt.deadline + 5, wall


def test_a_link_taken_down_raises_interface_down_on_both_ends_and_clears(mlab, tmp_path):
    link = next(l for l in mlab.plan.estate.links if {l.a.device, l.b.device} == {"prov-wan1", "chuzhou-wan1"})
    env = {"JINBAO_STATE_DIR": str(tmp_path)}
    ends = ("--device", "prov-wan1", "--device", "chuzhou-wan1")
    assert run_cli("monitor", "poll", "--lab", mlab.id, *ends, env=env).returncode == 0
    run_cli("lab", "link", "down", "--id", mlab.id, "prov-wan1", "chuzhou-wan1", check=True)
    try:
        want = {(link.a.device, f"if_down:{link.a.interface}"), (link.b.device, f"if_down:{link.b.interface}")}
        raised: set = set()
        for _ in range(15):  # net-snmp caches its interface table for a few seconds: poll until it tells
            r = run_cli("monitor", "poll", "--lab", mlab.id, *ends, "--json", env=env)
            assert r.returncode == 0, r.stderr  # every device answered: the alert is not a poll failure
            raised |= {(e["device"], e["key"]) for e in json.loads(r.stdout)["alerts"] if e["event"] == "raise"}
            if want <= raised:
                break
            time.sleep(1)
        assert want <= raised, r.stdout[-2000:]
    finally:
        run_cli("lab", "link", "up", "--id", mlab.id, "prov-wan1", "chuzhou-wan1", check=True)
    cleared: set = set()
    for _ in range(10):  # on a loaded machine a poll may not see the link back at once
        r = run_cli("monitor", "poll", "--lab", mlab.id, *ends, "--json", env=env)
        cleared |= {(e["device"], e["key"]) for e in json.loads(r.stdout)["alerts"] if e["event"] == "clear"}
        if (link.a.device, f"if_down:{link.a.interface}") in cleared:
            break
        time.sleep(1)
    assert (link.a.device, f"if_down:{link.a.interface}") in cleared, r.stdout[-2000:]
    log = [json.loads(x) for x in (tmp_path / "monitoring" / "alerts.jsonl").read_text().splitlines()]
    assert [e["event"] for e in log if e["key"] == f"if_down:{link.a.interface}"] == ["raise", "clear"]


def test_a_stopped_node_is_named_exit_1_and_clears_when_it_returns(mlab, tmp_path):
    env = {"JINBAO_STATE_DIR": str(tmp_path)}
    args = ("monitor", "poll", "--lab", mlab.id, "--timeout", "1", "--retries", "1", "--deadline", "15")
    assert run_cli(*args, "--device", "nosuch", env=env).returncode == 2
    run_cli("lab", "node", "stop", "--id", mlab.id, "prov-app1", check=True)
    try:
        r = run_cli(*args, "--json", env=env)
        assert r.returncode == 1 and "prov-app1" in r.stderr, r.stderr
        doc = json.loads(r.stdout)
        results = doc["results"]
        assert results["prov-app1"]["data"]["status"] == "unreachable"
        others = {h: x for h, x in results.items() if h != "prov-app1"}
        assert all(not x["failed"] for x in others.values())
        assert max(x["data"]["seconds"] for x in others.values()) < 15
        assert ("raise", "prov-app1", "unreachable") in {(e["event"], e["device"], e["key"]) for e in doc["alerts"]}
    finally:
        run_cli("lab", "node", "start", "--id", mlab.id, "prov-app1", check=True)
    for _ in range(30):  # snmpd takes a moment to start again
        r = run_cli(*args, "--device", "prov-app1", "--json", env=env)
        if r.returncode == 0:
            break
        time.sleep(1)
    assert r.returncode == 0, r.stderr
    assert ("clear", "unreachable") in {(e["event"], e["key"]) for e in json.loads(r.stdout)["alerts"]}
