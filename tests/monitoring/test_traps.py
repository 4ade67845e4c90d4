"""`jinbao monitor traps` against net-snmp's snmptrap/snmpinform on loopback (no lab, no root):
v2c and v3 traps and a v3 inform become the poller's alerts, a linkUp clears, a wrong key and a
wrong community are refused and logged without ending the receiver, and every alert event
reaches a real HTTP webhook and a real UDP syslog listener in RFC 5424 form."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.receivers import Syslog, Webhook, until

SNMPTRAP = shutil.which("snmptrap") or "/usr/bin/snmptrap"
SNMPINFORM = shutil.which("snmpinform") or "/usr/bin/snmpinform"
pytestmark = pytest.mark.skipif(not Path(SNMPTRAP).exists(), reason="needs net-snmp's snmptrap (package snmp)")

AUTH, PRIV, COMMUNITY = "trap-auth-key-1", "trap-priv-key-1", "trap-community-1"
LINK_DOWN, LINK_UP, COLD_START = "1.3.6.1.6.3.1.1.5.3", "1.3.6.1.6.3.1.1.5.4", "1.3.6.1.6.3.1.1.5.1"
IF_INDEX, IF_ADMIN, IF_OPER = "1.3.6.1.2.1.2.2.1.1", "1.3.6.1.2.1.2.2.1.7", "1.3.6.1.2.1.2.2.1.8"
UPS_ON_BATTERY = "1.3.6.1.2.1.33.2.1"


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    """`jinbao monitor traps` as a child process, ended by its PID."""

    def __init__(self, tmp: Path, *args: str, env: dict | None = None):
        self.port = _free_udp_port()
        self.tmp = tmp
        self.out, self.err = tmp / "traps.out", tmp / "traps.err"
        self.env = {**os.environ, **(env or {})}
        cmd = [sys.executable, "-m", "jinbao.cli", "monitor", "traps", "--estate", "lab", "--port", str(self.port)]
        cmd += ["--sender", "prov-wan1=127.0.0.1", "--json", *args]
        self.proc = subprocess.Popen(cmd, stdout=self.out.open("w"), stderr=self.err.open("w"), env=self.env)
        assert until(lambda: "listening on" in self.err.read_text() or self.proc.poll() is not None, 60)
        assert self.proc.poll() is None, self.err.read_text()

    def records(self) -> list[dict]:
        return [json.loads(x) for x in self.out.read_text().splitlines() if x.startswith("{")]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(20)


def send(tool: str, port: int, tmp: Path, auth: list[str], trap: str, *varbinds: str):
    env = {**os.environ, "SNMP_PERSISTENT_DIR": str(tmp / "net-snmp")}
    cmd = [tool, *auth, f"127.0.0.1:{port}", "", trap, *varbinds]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30)


def v3(key: str = AUTH, engine: str | None = "0x80001f8804747261707465737431") -> list[str]:
    out = ["-v", "3", "-u", "jinbao-mon", "-l", "authPriv", "-a", "SHA", "-A", key, "-x", "AES", "-X", PRIV]
    return out + (["-e", engine] if engine else [])


@pytest.fixture
def setting(tmp_path, monkeypatch):
    env = {
        "JINBAO_STATE_DIR": str(tmp_path / "state"),
        "JINBAO_SNMP_AUTH_KEY": AUTH,
        "JINBAO_SNMP_PRIV_KEY": PRIV,
        "TRAP_COMMUNITY": COMMUNITY,
        "HOOK_TOKEN": "hook-token-secret-1",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    hook, syslog = Webhook(), Syslog()
    yield tmp_path, hook, syslog
    hook.close()
    syslog.sock.close()


def _alerts(tmp: Path) -> list[dict]:
    p = tmp / "state/monitoring/alerts.jsonl"
    return [json.loads(x) for x in p.read_text().splitlines()] if p.is_file() else []


def test_v2c_v3_traps_and_an_inform_become_alerts_delivered_to_webhook_and_syslog(setting):
    tmp, hook, syslog = setting
    r = Receiver(
        tmp,
        "--community",
        "env:TRAP_COMMUNITY",
        "--webhook",
        hook.url,
        "--webhook-token",
        "env:HOOK_TOKEN",
        "--syslog",
        f"udp://127.0.0.1:{syslog.port}",
    )
    try:
        # v2c linkDown on ifIndex 2 raises if_down; v3 linkUp on the same interface clears it.
        down = send(SNMPTRAP, r.port, tmp, ["-v", "2c", "-c", COMMUNITY], LINK_DOWN, f"{IF_INDEX}.2", "i", "2",
                    f"{IF_ADMIN}.2", "i", "1", f"{IF_OPER}.2", "i", "2")  # fmt: skip
        assert down.returncode == 0, down.stderr
        raised = until(lambda: [a for a in _alerts(tmp) if a["event"] == "raise" and a["key"] == "if_down:ifIndex.2"])
        assert raised and raised[0]["device"] == "prov-wan1" and raised[0]["severity"] == "major"
        up = send(SNMPTRAP, r.port, tmp, v3(), LINK_UP, f"{IF_INDEX}.2", "i", "2", f"{IF_OPER}.2", "i", "1")
        assert up.returncode == 0, up.stderr
        assert until(lambda: [a for a in _alerts(tmp) if a["event"] == "clear" and a["key"] == "if_down:ifIndex.2"])

        # A v3 inform: acknowledged (snmpinform exits 0 only on the receiver's response).
        inform = send(SNMPINFORM, r.port, tmp, v3(engine=None), UPS_ON_BATTERY)
        assert inform.returncode == 0, inform.stderr + r.err.read_text()
        assert until(lambda: [a for a in _alerts(tmp) if a["key"] == "ups_on_battery" and a["event"] == "raise"])
        # The same trap again is deduplicated: still one raise.
        send(SNMPINFORM, r.port, tmp, v3(engine=None), UPS_ON_BATTERY)
        assert until(lambda: sum(1 for x in r.records() if x.get("trap") == "upsTrapOnBattery") == 2)
        assert sum(1 for a in _alerts(tmp) if a["key"] == "ups_on_battery") == 1

        # Every event reached the webhook (with the resolved token) and syslog (RFC 5424).
        assert until(lambda: len(hook.posts) >= 3), hook.posts
        assert [(p["event"], p["key"]) for p in hook.posts[:3]] == [
            ("raise", "if_down:ifIndex.2"),
            ("clear", "if_down:ifIndex.2"),
            ("raise", "ups_on_battery"),
        ]
        assert hook.headers[0]["Authorization"] == "Bearer hook-token-secret-1"
        lines = until(lambda: len(syslog.drain()) >= 3 and syslog.lines)
        first = lines[0].decode("utf-8")
        # <PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD] BOM MSG; local0 + err (major) = 131.
        m = re.match(r"^<(\d+)>1 (\S+Z) (\S+) jinbao (\d+) raise \[alert@32473 ([^]]*)\] \ufeff(.*)$", first)
        assert m, first
        assert m.group(1) == "131" and 'device="prov-wan1"' in m.group(5) and 'key="if_down:ifIndex.2"' in m.group(5)
        assert lines[1].decode().startswith("<133>1 ")  # a clear is a notice
        # No key, community or token in anything written.
        written = "".join(p.read_text() for p in (tmp / "state/monitoring").glob("*")) + r.out.read_text()
        for secret in (AUTH, PRIV, COMMUNITY, "hook-token-secret-1"):
            assert secret not in written + r.err.read_text()
    finally:
        r.stop()
    assert r.proc.returncode == 0, r.err.read_text()


def test_wrong_key_wrong_community_and_garbage_are_refused_and_logged(setting):
    tmp, _hook, _syslog = setting
    r = Receiver(tmp)  # no community given: v2c is refused
    try:
        bad_key = send(SNMPTRAP, r.port, tmp, v3(key="not-the-auth-key"), LINK_DOWN, f"{IF_INDEX}.5", "i", "5")
        assert bad_key.returncode == 0
        v2c = send(SNMPTRAP, r.port, tmp, ["-v", "2c", "-c", "public"], LINK_DOWN, f"{IF_INDEX}.6", "i", "6")
        assert v2c.returncode == 0
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(b"\x30\x03garbage that is not BER", ("127.0.0.1", r.port))
        recs = until(lambda: len(r.records()) >= 3 and r.records())
        assert recs[0]["outcome"] == "refused" and recs[0]["why"] == "wrong_auth_key", recs[0]
        assert recs[0]["device"] == "prov-wan1" and recs[0]["source"].startswith("127.0.0.1:")
        assert "forgotten" in recs[0]["note"]  # the engine ID is not kept for a sender that failed
        assert recs[1]["outcome"] == "refused" and recs[1]["why"] == "bad_community"
        assert recs[2]["outcome"] == "refused"
        # Still alive: a good trap after all that is accepted and raises its alert.
        ok = send(SNMPTRAP, r.port, tmp, v3(), COLD_START)
        assert ok.returncode == 0
        assert until(lambda: [a for a in _alerts(tmp) if a["key"] == "reboot"])
        assert not [a for a in _alerts(tmp) if a["key"].startswith("if_down")]
        assert r.proc.poll() is None
        logged = (tmp / "state/monitoring/traps.jsonl").read_text()
        assert "wrong_auth_key" in logged and "bad_community" in logged
    finally:
        r.stop()


def test_unknown_sender_is_logged_not_alerted(setting):
    tmp, _, _ = setting
    r = Receiver(tmp, "--community", "env:TRAP_COMMUNITY")
    try:
        # 127.0.0.2 is loopback too, but no device of the estate sends from it: a trap with the
        # right community is logged against that address and raises nothing.
        got = send(SNMPTRAP, r.port, tmp, ["-v", "2c", "-c", COMMUNITY, "--clientaddr=127.0.0.2"], LINK_DOWN,
                   f"{IF_INDEX}.7", "i", "7")  # fmt: skip
        assert got.returncode == 0, got.stderr
        recs = until(r.records)
        assert recs[0]["outcome"] == "unknown_sender" and recs[0]["device"] is None
        assert recs[0]["source"].startswith("127.0.0.2:") and recs[0]["trap"] == "linkDown"
        assert not _alerts(tmp)
    finally:
        r.stop()


def test_a_restart_alert_is_cleared_after_its_hold_time(setting):
    tmp, _, _ = setting
    r = Receiver(tmp, "--hold", "1")
    try:
        assert send(SNMPTRAP, r.port, tmp, v3(), COLD_START).returncode == 0
        assert until(lambda: [a for a in _alerts(tmp) if a["key"] == "reboot" and a["event"] == "raise"])
        cleared = until(lambda: [a for a in _alerts(tmp) if a["key"] == "reboot" and a["event"] == "clear"], 30)
        assert cleared and cleared[0]["source"] == "trap"
    finally:
        r.stop()


def test_a_down_webhook_is_dead_lettered_and_does_not_block(tmp_path, monkeypatch):
    from monitoring import delivery

    hook = Webhook()
    hook.fail = True
    try:
        d = delivery.Dispatcher(
            delivery.Targets(webhook=hook.url, timeout=1.0, retries=1), tmp_path / "alerts-undelivered.jsonl"
        )
        started = time.monotonic()
        d.send([{"event": "raise", "device": "x", "key": "cpu", "severity": "warning", "message": "m"}])
        assert time.monotonic() - started < 0.1  # queued, not sent inline
        assert d.flush(20)
        dead = [json.loads(x) for x in (tmp_path / "alerts-undelivered.jsonl").read_text().splitlines()]
        assert dead[0]["target"] == "webhook" and "503" in dead[0]["why"] and dead[0]["event"]["key"] == "cpu"
        assert d.failed["webhook"] == 1 and d.sent["webhook"] == 0
    finally:
        hook.close()


@pytest.mark.lab
def test_lab_link_down_makes_the_node_send_linkdown_to_the_monitoring_node(lab, tmp_path):
    """The nodes' snmpd send v3 traps to the estate's collector (prov-mon1): a link taken down
    raises if_down on both ends through traps alone, and bringing it up clears them."""
    mon = lab.plan.nodes["prov-mon1"]
    env = {**os.environ, "JINBAO_STATE_DIR": str(tmp_path / "state")}
    out, err = tmp_path / "traps.out", tmp_path / "traps.err"
    cmd = [sys.executable, "-m", "jinbao.cli", "monitor", "traps", "--lab", lab.id, "--json"]
    cmd += ["--netns", mon.ns, "--listen", str(mon.device.mgmt_ip), "--port", "162"]
    proc = subprocess.Popen(cmd, stdout=out.open("w"), stderr=err.open("w"), env=env)
    link = next(x for x in lab.plan.links if {x.a.device, x.b.device} == {"prov-wan1", "chuzhou-wan1"})
    want = {(link.a.device, f"if_down:{link.a.interface}"), (link.b.device, f"if_down:{link.b.interface}")}

    def seen(event: str) -> set:
        return {(a["device"], a["key"]) for a in _alerts(tmp_path) if a["event"] == event and a.get("source") == "trap"}

    try:
        assert until(lambda: "listening on" in err.read_text() or proc.poll() is not None, 60)
        assert proc.poll() is None, err.read_text()
        subprocess.run([*_jinbao(), "lab", "link", "down", "--id", lab.id, "prov-wan1", "chuzhou-wan1"], check=True)
        try:
            # snmpd checks ifOperStatus every 5 s, behind its own interface cache: poll for it.
            started = time.monotonic()
            assert until(lambda: want <= seen("raise"), 90, 0.5), out.read_text()[-3000:] + err.read_text()
            print(f"linkDown alerts on both ends {time.monotonic() - started:.1f} s after link down")
        finally:
            subprocess.run([*_jinbao(), "lab", "link", "up", "--id", lab.id, "prov-wan1", "chuzhou-wan1"], check=True)
        started = time.monotonic()
        assert until(lambda: want <= seen("clear"), 90, 0.5), out.read_text()[-3000:]
        print(f"linkUp clears on both ends {time.monotonic() - started:.1f} s after link up")
        recs = [json.loads(x) for x in out.read_text().splitlines() if x.startswith("{") and '"outcome"' in x]
        downs = [r for r in recs if r.get("trap") == "linkDown"]
        assert downs and all(r["version"] == "v3" and r["outcome"] == "accepted" for r in downs)
        assert not [r for r in recs if r["outcome"] == "refused"], recs
    finally:
        proc.terminate()
        proc.wait(20)


def _jinbao() -> list[str]:
    return [sys.executable, "-m", "jinbao.cli"]


def test_trap_meanings_follow_the_pollers_keys():
    from pysnmp.proto.rfc1902 import Integer, ObjectName, OctetString

    from monitoring import trapmap as tm

    def vbs(trap, *pairs):
        return {tm.SNMP_TRAP_OID: ObjectName(trap), **{o: v for o, v in pairs}}

    # ifName in the payload wins; else the poller's cached name; else ifIndex.N.
    named = tm.changes(
        vbs(tm.LINK_DOWN, (tm.IF_INDEX + (3,), Integer(3)), (tm.IF_NAME + (3,), OctetString("eth2"))), {}
    )
    assert named and named[0].op == "raise" and named[0].condition.key == "if_down:eth2"
    cached = tm.changes(vbs(tm.LINK_UP, (tm.IF_INDEX + (4,), Integer(4))), {"4": "eth3"})
    assert cached and cached[0].op == "clear" and cached[0].condition.key == "if_down:eth3"
    assert tm.changes(vbs(tm.LINK_DOWN, (tm.IF_INDEX + (9,), Integer(9))), {})[0].condition.key == "if_down:ifIndex.9"
    # UPS-MIB: an alarm entry added/removed with upsAlarmOnBattery raises/clears ups_on_battery.
    on_battery = (tm.UPS_ALARM_DESCR + (1,), ObjectName(tm.UPS_WELL_KNOWN_ALARMS + (2,)))
    assert [(c.op, c.condition.key) for c in tm.changes(vbs(tm.UPS_ALARM_ADDED, on_battery), {})] == [
        ("raise", "ups_on_battery")
    ]
    assert [(c.op, c.condition.key) for c in tm.changes(vbs(tm.UPS_ALARM_REMOVED, on_battery), {})] == [
        ("clear", "ups_on_battery")
    ]
    assert tm.changes(vbs(tm.UPS_TRAPS + (2,)), {}) == []  # self-test completed: no alert
    assert tm.changes({}, {}) is None  # no snmpTrapOID: malformed
    # The life cycle: a raise is deduplicated, a clear of nothing says nothing.
    active: dict = {}
    down = tm.changes(vbs(tm.LINK_DOWN, (tm.IF_INDEX + (3,), Integer(3))), {"3": "eth2"})
    assert len(tm.apply("r1", down, active, "t0", "trap")) == 1
    assert tm.apply("r1", down, active, "t1", "trap") == []
    up = tm.changes(vbs(tm.LINK_UP, (tm.IF_INDEX + (3,), Integer(3))), {"3": "eth2"})
    assert [e["event"] for e in tm.apply("r1", up, active, "t2", "trap")] == ["clear"]
    assert tm.apply("r1", up, active, "t3", "trap") == [] and not active


def test_rfc5424_format_and_bad_targets():
    from jinbao.errors import JinbaoError
    from monitoring import delivery

    e = {"event": "raise", "device": 'a"b', "key": "cpu", "severity": "critical", "message": "CPU 99 % above 85 %"}
    line = delivery.rfc5424(e, "mon host").decode()
    assert re.match(
        r'^<130>1 \S+Z monhost jinbao \d+ raise \[alert@32473 device="a\\"b" key="cpu" severity="critical"\] ', line
    )
    for bad in (
        delivery.Targets(webhook="ftp://x"),
        delivery.Targets(syslog="http://x:1"),
        delivery.Targets(webhook_token_ref="env:X"),
    ):
        with pytest.raises(JinbaoError):
            bad.check()
    assert delivery.syslog_address("10.0.0.1") == ("udp", "10.0.0.1", 514)


def test_the_pollers_alert_path_delivers_from_the_environment(setting):
    """alerts.deliver (what monitor poll calls) sends to the webhook and syslog named by the
    JINBAO_ALERT_* variables, and a one-shot process waits for its queue before it exits."""
    tmp, hook, syslog = setting
    env = {
        **os.environ,
        "JINBAO_ALERT_WEBHOOK": hook.url,
        "JINBAO_ALERT_SYSLOG": f"udp://127.0.0.1:{syslog.port}",
    }
    code = (
        "import sys; from pathlib import Path; from monitoring import alerts\n"
        "alerts.deliver([{'at': 't', 'event': 'raise', 'device': 'prov-wan1', 'key': 'unreachable',"
        " 'severity': 'critical', 'message': 'no answer'}], Path(sys.argv[1]))\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code, str(tmp / "alerts.jsonl")], env=env, capture_output=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    assert [p["key"] for p in hook.posts] == ["unreachable"]  # delivered before the process ended
    assert until(syslog.drain)[0].startswith(b"<130>1 ")
    assert json.loads((tmp / "alerts.jsonl").read_text())["key"] == "unreachable"


@pytest.mark.lab
def test_the_internal_query_user_answers_nothing_without_its_key(lab):
    """The Event MIB's internal query user (lab/render.py) reads five ifTable columns; without its
    auth key, from the management network, the agent must refuse it (it answered when keyless)."""
    node = lab.plan.nodes["prov-wan1"]
    get = ["snmpget", "-m", "", "-v3", "-u", "jinbao-iquery", "-r", "1", "-t", "3"]
    r = lab.in_node(
        "ops", [*get, "-l", "noAuthNoPriv", f"udp:{node.device.mgmt_ip}:161", ".1.3.6.1.2.1.2.2.1.2.1"], check=False
    )
    assert "STRING" not in r.stdout, r.stdout
    # the agent answered (a refusal, not a timeout): the request reached it
    assert "authorizationError" in r.stdout + r.stderr, r.stdout + r.stderr
