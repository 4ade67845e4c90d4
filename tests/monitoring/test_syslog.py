"""`jinbao monitor syslog`: the parsers against real-world RFC 3164/5424 samples and garbage, the
meanings against the daemons' own texts, and the receiver as a child process on loopback fed by
util-linux `logger` (UDP, TCP octet-counted and LF-framed) and by raw garbage."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jinbao.model import Thresholds
from jinbao.result import AggregatedResult, Result
from monitoring import alerts, syslogmap
from monitoring.syslogparse import MAX_BYTES, Malformed, parse

LOGGER = shutil.which("logger") or "/usr/bin/logger"
BOM = "\ufeff".encode()

# RFC 3164 5.4 and RFC 5424 6.5, as published; then what the estate's senders really send.
RFC3164_SU = b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8"
RFC3164_BFG = b"<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!"
RFC5424_SU = (
    b"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - " + BOM + b"'su root' failed for lonvick"
)
RFC5424_SD = (
    b'<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" '
    b'eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]'
)
RFC5424_PROC = b"<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nothing."
# util-linux logger --rfc5424 (the lab's forwarder) carrying a line of FRR's log file
FRR_VIA_LOGGER = (
    b'<29>1 2026-12-01T20:31:07.412230+00:00 prov-wan1 frr - - [timeQuality tzKnown="1" isSynced="0"] '
    b"2026/12/01 20:26:19 OSPF: [Y05P2-YJVXY] AdjChg: Nbr 10.90.24.1, NbrIP 10.90.240.10 (default) on "
    b"eth4:10.90.240.9: Full -> Deleted (KillNbr)"
)
# FRR's own `log syslog` (production), sshd through syslog(3), and Cisco IOS with its sequence number
FRR_SYSLOG = (
    b"<29>Dec  1 20:26:28 chuzhou-wan1 ospfd[811]: [Y05P2-YJVXY] AdjChg: Nbr 10.90.0.1, NbrIP 10.90.240.9 (default) "
    b"on eth2:10.90.240.10: Exchange -> Full (ExchangeDone)"
)
SSHD = b"<38>Dec  1 20:40:01 prov-db1 sshd[2456]: Failed password for jinbao from 10.90.250.10 port 40022 ssh2"
IOS_LINK = b"<187>1234: Dec  1 20:31:07.123 CST: %LINK-3-UPDOWN: Interface GigabitEthernet0/1, changed state to down"
IOS_OSPF = (
    b"<189>1235: *Mar  1 00:01:23.456: %OSPF-5-ADJCHG: Process 1, Nbr 10.0.0.2 on GigabitEthernet0/1 from FULL to "
    b"DOWN, Neighbor Down: Interface down or detached"
)


def test_real_world_messages_parse():
    m = parse(RFC3164_SU)
    assert (m.protocol, m.facility, m.severity, m.host, m.app, m.procid) == (
        "rfc3164",
        "auth",
        "crit",
        "mymachine",
        "su",
        None,
    )
    assert m.timestamp == "Oct 11 22:14:15" and m.msg == "'su root' failed for lonvick on /dev/pts/8"
    m = parse(RFC3164_BFG)
    assert (m.host, m.app, m.msg) == ("10.0.0.99", None, "Use the BFG!")
    m = parse(RFC5424_SU)
    assert (m.protocol, m.host, m.app, m.procid, m.msgid, m.sd) == (
        "rfc5424",
        "mymachine.example.com",
        "su",
        None,
        "ID47",
        None,
    )
    assert m.msg == "'su root' failed for lonvick"  # the BOM is not part of the text
    m = parse(RFC5424_SD)
    assert m.sd and m.sd.count("[") == 2 and m.msg == "" and m.facility == "local4" and m.severity == "notice"
    m = parse(RFC5424_PROC)
    assert (m.procid, m.timestamp) == ("8710", "2003-08-24T05:14:15.000003-07:00")
    m = parse(FRR_SYSLOG)
    assert (m.host, m.app, m.procid) == ("chuzhou-wan1", "ospfd", "811") and m.msg.startswith("[Y05P2-YJVXY] AdjChg")
    m = parse(IOS_LINK)
    assert m.facility == "local7" and m.severity == "err" and "%LINK-3-UPDOWN" in m.msg and m.notes
    # SD values may hold escaped quotes and brackets
    assert parse(b'<14>1 - h a - - [x@1 k="a\\"b\\]c"] text').msg == "text"
    # Huawei/H3C send GB18030: read as such, and noted
    m = parse("<188>Dec  1 20:00:00 hefei-sw1 %%01IFNET/4/LINK_STATE(l): 接口 GE0/0/1 已关闭".encode("gb18030"))
    assert "接口" in m.msg and "GB18030" in m.notes[0]


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "empty"),
        (b"no pri at all", "no <PRI>"),
        (b"<192>Oct 11 22:14:15 h x: y", "not 0-191"),
        (b"<034>Oct 11 22:14:15 h x: y", "leading zeros"),
        (b"<34>", "nothing after"),
        (b"<34>1 2003-10-11T22:14:15.003Z mymachine", "no APP-NAME"),
        (b"<34>1 2003-10-11T22:14:15.003Z h app - ID47", "no STRUCTURED-DATA"),
        (b"<34>1 yesterday h app - ID47 - x", "not RFC 3339"),
        (b'<34>1 - h app - - [id k="unterminated] x', "structured data not well formed"),
        (b'<34>1 - h app - - [id@1 k="v"]x', "not a space"),
        (b"<34>\xff\xfe\xfd\xff\x80", "not UTF-8"),
        (b"<34>" + b"a" * MAX_BYTES, "oversize"),
        (b"\x00\x01\x02\xff" * 50, "no <PRI>"),
    ],
)
def test_garbage_is_malformed_with_why(data, why):
    with pytest.raises(Malformed, match=why):
        parse(data)


def test_random_bytes_never_raise_anything_but_malformed():
    for _ in range(2000):
        data = b"<13>" + os.urandom(int.from_bytes(os.urandom(1), "big"))
        with contextlib.suppress(Malformed):
            parse(data)


def _meaning(data: bytes):
    event, changes = syslogmap.meaning(parse(data))
    return event, [(c.op, c.condition.key) for c in changes]


def test_known_events_mean_the_same_alerts_as_traps():
    assert _meaning(FRR_VIA_LOGGER) == ("ospf_adjacency", [("raise", "ospf_adjacency:eth4:10.90.24.1")])
    assert _meaning(FRR_SYSLOG) == ("ospf_adjacency", [("clear", "ospf_adjacency:eth2:10.90.0.1")])
    # FRR before 8.4 printed no NbrIP
    older = b"<29>1 - r1 ospfd - - - AdjChg: Nbr 10.0.0.2(default) on eth1:10.0.0.1: Full -> Down (InactivityTimer)"
    assert _meaning(older) == ("ospf_adjacency", [("raise", "ospf_adjacency:eth1:10.0.0.2")])
    assert _meaning(IOS_OSPF) == ("ospf_adjacency", [("raise", "ospf_adjacency:GigabitEthernet0/1:10.0.0.2")])
    # the linkDown trap's key, so a trap and a message about one interface raise one alert
    assert _meaning(IOS_LINK) == ("link_updown", [("raise", "if_down:GigabitEthernet0/1")])
    assert _meaning(IOS_LINK.replace(b"to down", b"to up")) == (
        "link_updown",
        [("clear", "if_down:GigabitEthernet0/1")],
    )
    assert _meaning(SSHD) == ("ssh_auth_failure", [("raise", "ssh_auth_failure")])
    # a key-only sshd refusing a password (what the lab's OpenSSH 9.2 logs), and one refused key
    # among those a client offers (no failed login by itself)
    gave_up = b"<38>1 - prov-app1 sshd - - - Connection closed by authenticating user jinbao 10.91.255.254 port 33620 [preauth]"
    assert _meaning(gave_up) == ("ssh_auth_failure", [("raise", "ssh_auth_failure")])
    assert _meaning(SSHD.replace(b"Failed password", b"Failed publickey")) == (None, [])
    invalid = b"<38>Dec  1 20:40:01 prov-db1 sshd[2456]: Invalid user mallory from 10.90.250.10 port 40022"
    event, changes = syslogmap.meaning(parse(invalid))
    assert event == "ssh_auth_failure" and "invalid user mallory" in changes[0].condition.message
    # a neighbour that was never Full going down is no lost adjacency; a message from another
    # program with sshd's words is not sshd's
    init_down = FRR_VIA_LOGGER.replace(b"Full -> Deleted", b"Init -> Down")
    assert _meaning(init_down) == ("ospf_adjacency", [])
    assert _meaning(SSHD.replace(b"sshd[2456]", b"myapp[2456]")) == (None, [])
    assert _meaning(RFC3164_SU) == (None, [])


def test_a_poll_does_not_clear_what_only_syslog_can_see():
    """A lost OSPF neighbour leaves OSPF-MIB's table: a successful poll must not clear its alert,
    while it still clears a momentary one (as it does for the trap's reboot)."""
    active = {
        "r1|ospf_adjacency:eth1:10.0.0.2": {"device": "r1", "key": "ospf_adjacency:eth1:10.0.0.2"},
        "r1|ssh_auth_failure": {"device": "r1", "key": "ssh_auth_failure"},
    }
    agg = AggregatedResult("poll")
    agg.add(Result("r1", "poll", data={"status": "ok", "interfaces": []}))
    events = alerts.evaluate(agg, {"r1": Thresholds()}, active)
    assert [(e["event"], e["key"]) for e in events] == [("clear", "ssh_auth_failure")]
    assert "r1|ospf_adjacency:eth1:10.0.0.2" in active


# -- the receiver, on loopback -------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u.bind(("127.0.0.1", port))  # free for both
        return port


def _until(what, timeout: float = 20.0, every: float = 0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = what()
        if got:
            return got
        time.sleep(every)
    return what()


class SyslogReceiver:
    """`jinbao monitor syslog` as a child process, ended by its PID."""

    def __init__(self, tmp: Path, *args: str):
        self.tmp = tmp
        self.port = _free_port()
        self.out, self.err = tmp / "syslog.out", tmp / "syslog.err"
        env = {**os.environ, "JINBAO_STATE_DIR": str(tmp / "state")}
        cmd = [sys.executable, "-m", "jinbao.cli", "monitor", "syslog", "--estate", "lab", "--port", str(self.port)]
        cmd += ["--tcp", "--sender", "prov-wan1=127.0.0.1", "--json", *args]
        self.proc = subprocess.Popen(cmd, stdout=self.out.open("w"), stderr=self.err.open("w"), env=env)
        assert _until(lambda: "listening on" in self.err.read_text() or self.proc.poll() is not None, 60)
        assert self.proc.poll() is None, self.err.read_text()

    def records(self) -> list[dict]:
        return [json.loads(x) for x in self.out.read_text().splitlines() if x.startswith('{"at"')]

    def alerts(self) -> list[dict]:
        p = self.tmp / "state/monitoring/alerts.jsonl"
        return [json.loads(x) for x in p.read_text().splitlines()] if p.is_file() else []

    def send(self, data: bytes, source: str = "127.0.0.1") -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((source, 0))
            s.sendto(data, ("127.0.0.1", self.port))

    def logger(self, *args: str) -> None:
        r = subprocess.run([LOGGER, "-n", "127.0.0.1", "-P", str(self.port), *args], capture_output=True, timeout=10)
        assert r.returncode == 0, r.stderr

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(20)


@pytest.fixture
def receiver(tmp_path):
    r = SyslogReceiver(tmp_path, "--hold", "2")
    yield r
    r.stop()


@pytest.mark.skipif(not Path(LOGGER).exists(), reason="needs util-linux logger (package bsdutils)")
def test_receiver_records_every_message_and_raises_and_clears(receiver):
    r = receiver
    adj = "AdjChg: Nbr 10.90.0.12, NbrIP 10.90.1.2 (default) on eth1:10.90.1.1: {} (KillNbr)"
    r.logger("-d", "--rfc5424", "-t", "frr", "-p", "daemon.notice", adj.format("Full -> Deleted"))
    raised = _until(lambda: [a for a in r.alerts() if a["event"] == "raise"])
    assert raised[0]["key"] == "ospf_adjacency:eth1:10.90.0.12" and raised[0]["device"] == "prov-wan1"
    assert raised[0]["severity"] == "major" and raised[0]["source"] == "syslog"
    # the same loss again (the other daemon's copy, a resend): recorded, not raised twice
    r.logger("-T", "--octet-count", "--rfc5424", "-t", "frr", adj.format("Full -> Down"))
    r.logger("-T", "--rfc3164", "-t", "frr", adj.format("Loading -> Full"))  # LF-framed over TCP
    assert _until(lambda: [a for a in r.alerts() if a["event"] == "clear"])
    assert [a["event"] for a in r.alerts()] == ["raise", "clear"]

    # garbage of every kind, each logged against its source; an unknown sender is named
    r.send(b"\xff\xfe\x00garbage")
    r.send(b"<34>1 2003-10-11T22:14:15.003Z truncated")
    r.send(b"<34>" + b"x" * (MAX_BYTES + 10))
    r.send(b"<13>Dec  1 20:00:00 somewhere sshd[1]: Failed password for root from 1.2.3.4 port 5 ssh2", "127.0.0.2")
    with socket.create_connection(("127.0.0.1", r.port)) as s:
        s.sendall(b"99999999 " + b"y" * 64)  # an octet count past the limit: recorded, connection closed
        assert s.recv(10) == b""
    recs = _until(lambda: len(r.records()) >= 8 and r.records())
    malformed = [x for x in recs if x["outcome"] == "malformed"]
    assert [x["transport"] for x in malformed] == ["udp", "udp", "udp", "tcp"], malformed
    assert "no <PRI>" in malformed[0]["why"] and malformed[0]["source"].startswith("127.0.0.1:")
    assert "no APP-NAME" in malformed[1]["why"] and "oversize" in malformed[2]["why"]
    assert "octet count 99999999" in malformed[3]["why"]
    unknown = [x for x in recs if x["outcome"] == "unknown_sender"]
    assert unknown and unknown[0]["source"].startswith("127.0.0.2:") and unknown[0]["device"] is None
    assert unknown[0]["event"] == "ssh_auth_failure"  # understood, but raises nothing for no device
    assert not [a for a in r.alerts() if a["key"] == "ssh_auth_failure"]

    # still alive: a failed login from a known device raises, and clears after the hold
    r.logger("-d", "-t", "sshd", "-p", "auth.info", "Failed password for jinbao from 10.90.250.10 port 40022 ssh2")
    auth = _until(lambda: [a for a in r.alerts() if a["key"] == "ssh_auth_failure"])
    assert auth[0]["event"] == "raise" and "jinbao from 10.90.250.10" in auth[0]["message"]
    assert _until(lambda: [a for a in r.alerts() if a["key"] == "ssh_auth_failure" and a["event"] == "clear"], 30)
    assert r.proc.poll() is None
    logged = (r.tmp / "state/monitoring/syslog.jsonl").read_text()
    assert logged.count('"outcome": "malformed"') == 4


# -- the lab: the nodes' own daemons, through their forwarders, to the monitoring node ------------

_PASSWORD_LOGIN = """\
import sys, paramiko
t = paramiko.Transport((sys.argv[1], 22))
t.start_client(timeout=20)
try:
    t.auth_password("jinbao", "not-the-password")
except paramiko.SSHException as e:
    print("refused:", type(e).__name__, e)
finally:
    t.close()
"""


def _jinbao(*args: str) -> list[str]:
    return [sys.executable, "-m", "jinbao.cli", *args]


def test_lab_nodes_syslog_reaches_the_monitoring_node(lab, tmp_path):
    """Each node's FRR and sshd log lines reach the estate's collector (prov-mon1) as syslog over
    UDP 514 from the node's own address: a WAN link taken down raises the OSPF adjacency alert
    on both routers from ospfd's own messages, bringing it up clears both, and a failed SSH
    password login to a server raises an authentication-failure alert naming it."""
    mon = lab.plan.nodes["prov-mon1"]
    env = {**os.environ, "JINBAO_STATE_DIR": str(tmp_path / "state")}
    out, err = tmp_path / "syslog.out", tmp_path / "syslog.err"
    cmd = _jinbao("monitor", "syslog", "--lab", lab.id, "--json", "--hold", "600")
    cmd += ["--netns", mon.ns, "--listen", str(mon.device.mgmt_ip), "--port", "514"]
    link = next(x for x in lab.plan.links if {x.a.device, x.b.device} == {"prov-wan1", "chuzhou-wan1"})
    rid = {n: lab.plan.nodes[n].device.loopback for n in ("prov-wan1", "chuzhou-wan1")}  # the OSPF router id
    want = {
        (link.a.device, f"ospf_adjacency:{link.a.interface}:{rid[link.b.device]}"),
        (link.b.device, f"ospf_adjacency:{link.b.interface}:{rid[link.a.device]}"),
    }

    def alerts_(event: str) -> set:
        p = tmp_path / "state/monitoring/alerts.jsonl"
        lines = [json.loads(x) for x in p.read_text().splitlines()] if p.is_file() else []
        return {(a["device"], a["key"]) for a in lines if a["event"] == event and a["source"] == "syslog"}

    def records() -> list[dict]:
        return [json.loads(x) for x in out.read_text().splitlines() if x.startswith('{"at"')]

    proc = subprocess.Popen(cmd, stdout=out.open("w"), stderr=err.open("w"), env=env)
    try:
        assert _until(lambda: "listening on" in err.read_text() or proc.poll() is not None, 60)
        assert proc.poll() is None, err.read_text()
        subprocess.run(_jinbao("lab", "link", "down", "--id", lab.id, "prov-wan1", "chuzhou-wan1"), check=True)
        try:
            started = time.monotonic()
            assert _until(lambda: want <= alerts_("raise"), 60, 0.2), out.read_text()[-3000:] + err.read_text()
            print(f"adjacency-loss alerts on both routers {time.monotonic() - started:.1f} s after link down")
        finally:
            subprocess.run(_jinbao("lab", "link", "up", "--id", lab.id, "prov-wan1", "chuzhou-wan1"), check=True)
        started = time.monotonic()
        assert _until(lambda: want <= alerts_("clear"), 90, 0.2), out.read_text()[-3000:]
        print(f"cleared on both {time.monotonic() - started:.1f} s after link up")
        losses = [r for r in records() if r.get("event") == "ospf_adjacency" and "Full -> " in r["msg"]]
        assert {r["device"] for r in losses} >= {"prov-wan1", "chuzhou-wan1"}
        for r in losses:  # from the router's own address, named as the router names itself
            assert r["outcome"] == "accepted" and r["source"].split(":")[0] == str(
                lab.plan.nodes[r["device"]].device.mgmt_ip
            )
            assert r["host"] == r["device"] and r["app"] == "frr" and r["protocol"] == "rfc5424"

        server = lab.plan.nodes["prov-app1"]
        tried = lab.in_node("ops", [sys.executable, "-c", _PASSWORD_LOGIN, str(server.device.mgmt_ip)], check=False)
        assert "refused" in tried.stdout, tried.stdout + tried.stderr
        assert _until(lambda: ("prov-app1", "ssh_auth_failure") in alerts_("raise"), 30, 0.2), out.read_text()[-3000:]
        failed = [r for r in records() if r.get("event") == "ssh_auth_failure"]
        assert failed[0]["device"] == "prov-app1" and failed[0]["app"] == "sshd", failed
        assert not [r for r in records() if r["outcome"] != "accepted"], [
            r for r in records() if r["outcome"] != "accepted"
        ]
    finally:
        proc.terminate()
        proc.wait(20)
