"""History, /metrics and the daemon against a real net-snmp snmpd on loopback (no lab, no root).

/metrics is checked by Prometheus's own `promtool check metrics` and against what net-snmp's
`snmpget`/`snmpbulkwalk` read from the same agent in the same test; the daemon is a real process,
signalled with SIGTERM, and every wait polls for a state."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from monitoring import daemon, poller
from monitoring.history import History
from tests.support.loopback_snmpd import SNMPD, Agent, free_tcp_port, free_udp_port, job, snmp

pytestmark = pytest.mark.skipif(not Path(SNMPD).exists(), reason="needs net-snmp's snmpd (make setup installs it)")
PROMTOOL = shutil.which("promtool")
REPO = Path(__file__).resolve().parents[2]
SAMPLE = re.compile(r"^([a-z_]+)(?:\{(.*)\})? (\S+)$")


def parse(text: str) -> list[tuple[str, dict[str, str], float]]:
    out = []
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        m = SAMPLE.match(line)
        assert m, f"not an exposition line: {line!r}"
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out.append((m.group(1), labels, float(m.group(3))))
    return out


def value(samples, name: str, **labels: str) -> float:
    found = [v for n, ls, v in samples if n == name and all(ls.get(k) == x for k, x in labels.items())]
    assert len(found) == 1, f"{name}{labels}: {len(found)} samples"
    return found[0]


def walk(port: int, oid: str) -> dict[str, str]:
    """{index: value} of one column, read by net-snmp."""
    rows = {}
    for line in snmp("snmpbulkwalk", port, oid).splitlines():
        name, _, rest = line.partition(" = ")
        rows[name.rsplit(".", 1)[1]] = rest.split(": ", 1)[-1].strip()
    return rows


def ticks(port: int) -> int:
    """sysUpTime as net-snmp reads it (-Ot: plain hundredths of a second)."""
    return int(snmp("snmpget", port, ".1.3.6.1.2.1.1.3.0").split(" = ")[1].split(": ")[-1])


@pytest.fixture
def agent(tmp_path):
    a = Agent(tmp_path / "agent")
    a.start()
    yield a
    a.stop()


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("JINBAO_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def test_two_polls_leave_history_rows_equal_to_what_the_poller_saw(agent, state, lab_estate):
    cycle = daemon.Cycle([job(lab_estate, agent.port)], "test:hist", lab_estate, poller.Options())
    first, _ = cycle.run()
    second, _ = cycle.run()
    r1, r2 = first.results["loopback-agent"], second.results["loopback-agent"]
    assert not r1.failed and not r2.failed, (r1.why, r2.why)
    with History(state / "monitoring" / "history.sqlite") as h:
        _, up = h.query("loopback-agent", "", "reachable", 3600)
        _, uptime = h.query("loopback-agent", "", "uptime_s", 3600)
        assert [p.avg for p in up] == [1.0, 1.0]
        assert [p.avg for p in uptime] == [r1.data["system"]["uptime_s"], r2.data["system"]["uptime_s"]]
        assert h.polls("test:hist", 5)[0]["devices"] == 1 and len(h.polls("test:hist", 5)) == 2
        for i in r2.data["interfaces"]:
            # Rates need two polls: one row each, the second poll's value.
            _, bps = h.query("loopback-agent", i["name"], "in_bps", 3600)
            assert [p.avg for p in bps] == [i["in_bps"]], i["name"]
            _, oper = h.query("loopback-agent", i["name"], "oper_up", 3600)
            assert len(oper) == 2


@pytest.mark.skipif(PROMTOOL is None, reason="needs promtool (Debian package prometheus; make setup installs it)")
def test_metrics_pass_promtool_and_match_what_snmpget_reads(agent, state, lab_estate):
    cycle = daemon.Cycle([job(lab_estate, agent.port)], "test:prom", lab_estate, poller.Options())
    oper, speed = walk(agent.port, ".1.3.6.1.2.1.2.2.1.8"), walk(agent.port, ".1.3.6.1.2.1.31.1.1.1.15")
    names = walk(agent.port, ".1.3.6.1.2.1.31.1.1.1.1")
    before = walk(agent.port, ".1.3.6.1.2.1.31.1.1.1.6")
    up_before = ticks(agent.port)
    cycle.run()
    after = walk(agent.port, ".1.3.6.1.2.1.31.1.1.1.6")
    up_after = ticks(agent.port)
    check = subprocess.run([PROMTOOL, "check", "metrics"], input=cycle.text, capture_output=True, text=True)
    assert check.returncode == 0 and not (check.stdout + check.stderr).strip(), check.stdout + check.stderr
    got = parse(cycle.text)
    dev = {"device": "loopback-agent", "site": "prov", "role": "monitor", "class": "server"}
    assert value(got, "jinbao_up", **dev) == 1
    assert up_before / 100 <= value(got, "jinbao_sys_uptime_seconds", **dev) <= up_after / 100
    assert names, "the agent has no interfaces"
    for idx, name in names.items():
        il = {**dev, "if_name": name.strip('"')}
        assert value(got, "jinbao_if_oper_status", **il) == int(re.sub(r"\D", "", oper[idx]))
        assert value(got, "jinbao_if_speed_bytes_per_second", **il) == int(speed[idx]) * 1_000_000 // 8
        # The counter is the agent's own, read between net-snmp's two reads of it.
        assert int(before[idx]) <= value(got, "jinbao_if_hc_in_octets_total", **il) <= int(after[idx])


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as r:
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return r.read().decode()


def _until(what, timeout: float = 90, every: float = 0.2):
    end = time.monotonic() + timeout
    while True:
        try:
            got = what()
            if got:
                return got
        except OSError:
            pass
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout} s waiting for {what.__doc__ or what}")
        time.sleep(every)


@pytest.mark.slow
def test_the_daemon_serves_polls_refuses_a_twin_reports_status_and_stops_on_sigterm(agent, state, tmp_path):
    port, dead = free_tcp_port(), free_udp_port()
    env = {**os.environ, "JINBAO_STATE_DIR": str(state), "PYTHONPATH": str(REPO)}
    args = [sys.executable, "-m", "tests.support.loopback_daemon", "test:loopd", "1"]
    devices = [f"loopback-agent={agent.port}", f"dead-agent={dead}"]
    log = (tmp_path / "daemon.log").open("w+")
    proc = subprocess.Popen([*args, f"127.0.0.1:{port}", *devices], cwd=REPO, env=env, stderr=log)
    try:

        def two_polls():
            """two polls served on /metrics"""
            text = _get(f"http://127.0.0.1:{port}/metrics")
            return text if value(parse(text), "jinbao_polls_total") >= 2 else None

        got = parse(_until(two_polls))
        assert value(got, "jinbao_up", device="loopback-agent") == 1
        assert value(got, "jinbao_up", device="dead-agent") == 0  # a dead agent: the daemon goes on
        assert value(got, "jinbao_alert_active", device="dead-agent", key="unreachable") == 1
        # A second daemon on the same source refuses, naming the first.
        twin = subprocess.run([*args, "", *devices], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert twin.returncode == 2 and f"pid {proc.pid}" in twin.stderr, twin.stderr
        exe = Path(sys.executable).parent / "jinbao"
        st = subprocess.run(
            [str(exe), "monitor", "status", "--targets", "test:loopd"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert st.returncode == 1, st.stdout + st.stderr
        line = next(l for l in st.stdout.splitlines() if "dead-agent" in l)
        assert "critical" in line and "unreachable" in line and f"daemon pid {proc.pid}" in st.stdout
        doc = json.loads(
            subprocess.run(
                [str(exe), "monitor", "status", "--targets", "test:loopd", "--json"],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            ).stdout
        )
        assert [a["device"] for a in doc["down"]] == ["dead-agent"] and doc["daemon_pid"] == proc.pid
        assert doc["last_poll"]["devices"] == 2 and doc["last_poll"]["failed"] == 1
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    log.seek(0)
    text = log.read()
    assert "SIGTERM" in text and re.search(r"stopped after \d+ poll", text), text
    with pytest.raises(OSError):
        _get(f"http://127.0.0.1:{port}/metrics")
    assert daemon.holder("test:loopd") is None  # the lock went with the process
    with History(state / "monitoring" / "history.sqlite") as h:
        _, up = h.query("loopback-agent", "", "reachable", 3600)
        _, down = h.query("dead-agent", "", "reachable", 3600)
    assert len(up) >= 2 and {p.avg for p in up} == {1.0} and {p.avg for p in down} == {0.0}


def test_status_of_a_source_never_polled_is_bad_input(state):
    exe = Path(sys.executable).parent / "jinbao"
    env = {**os.environ, "JINBAO_STATE_DIR": str(state)}
    r = subprocess.run(
        [str(exe), "monitor", "status", "--targets", "test:never"], env=env, capture_output=True, text=True
    )
    assert r.returncode == 2 and "never been polled" in r.stderr
