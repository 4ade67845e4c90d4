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


def test_the_daemon_polls_at_the_inventorys_interval_unless_told(state, tmp_path):
    """monitoring.interval_s is the daemon's default: a --deadline longer than it is refused,
    naming it, before any device is contacted (estate targets: the devices' own addresses)."""
    est = tmp_path / "estate"
    shutil.copytree(REPO / "inventory" / "lab", est)
    (est / "monitoring.yml").write_text("monitoring:\n  interval_s: 10\n")
    exe = Path(sys.executable).parent / "jinbao"
    env = {
        **os.environ,
        "JINBAO_STATE_DIR": str(state),
        "JINBAO_SNMP_AUTH_KEY": "k" * 12,
        "JINBAO_SNMP_PRIV_KEY": "p" * 12,
    }
    base = [str(exe), "monitor", "run", "--targets", f"estate:{est}", "--estate", str(est), "--deadline", "20"]
    r = subprocess.run(base, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "longer than --interval 10s" in r.stderr, r.stderr
    # the flag wins over the inventory (refused again, so nothing is polled: these addresses are
    # not a lab's and must not be contacted)
    r = subprocess.run([*base[:-1], "400", "--interval", "5m"], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "longer than --interval 5m" in r.stderr, r.stderr


DASHBOARD = REPO / "monitoring" / "grafana" / "province.json"


def _queries(dash: dict, variables: bool = True) -> list[str]:
    """The panels' PromQL, and (variables) the template variables' Grafana queries."""
    exprs = []
    for p in dash["panels"]:
        for inner in [p, *p.get("panels", [])]:
            exprs += [t["expr"] for t in inner.get("targets", [])]
    if variables:
        exprs += [v["definition"] for v in dash["templating"]["list"] if v["type"] == "query"]
    return exprs


@pytest.mark.skipif(PROMTOOL is None, reason="needs promtool (Debian package prometheus; make setup installs it)")
def test_the_dashboard_queries_only_metrics_that_metrics_serves(agent, state, lab_estate, province, tmp_path):
    from jinbao.classes import device_class
    from jinbao.result import AggregatedResult, Result
    from monitoring import alerts, exposition
    from monitoring.profiles import profile_of

    dash = json.loads(DASHBOARD.read_text())
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids)) and all("gridPos" in p for p in dash["panels"])
    cycle = daemon.Cycle([job(lab_estate, agent.port)], "test:dash", lab_estate, poller.Options())
    cycle.run()
    cycle.run()  # utilisation needs two polls
    # Stand-ins, as their collectors return them, for what no agent here answers: UPS-MIB and
    # ENTITY-SENSOR-MIB (no such agent), and hrProcessorLoad (net-snmp answers it only after its
    # first minute of CPU sampling). Their alerts come from the real alert rules.
    pick = {
        c: next(d for d in province.devices.values() if device_class(d) == c) for c in ("ups", "env_sensor", "router")
    }
    stand_in = {
        "ups": {"ups": {"on_battery": True, "battery": "low", "runtime_min": 9, "charge_pct": 40, "load_pct": 55}},
        "env_sensor": {"sensors": {"temperature_c": 31.5, "humidity_pct": 48.0}},
        "router": {"health": {"cpu_pct": 12.0, "memory_pct": 30.0, "disks": []}},
    }
    extra = AggregatedResult("monitor poll")
    for c, d in pick.items():
        extra.add(Result(d.name, "monitor poll", data={"status": "ok", "system": {"uptime_s": 100.0}, **stand_in[c]}))
    active: dict = {}
    alerts.evaluate(extra, {d.name: profile_of(d).thresholds for d in pick.values()}, active)
    assert any(a["key"] == "ups_on_battery" for a in active.values())
    devices = {d.name: d for d in pick.values()}
    served = cycle.text + exposition.render(extra, {}, active, devices, None)
    families = {n for n, _, _ in parse(served)}
    used = {m for q in _queries(dash) for m in re.findall(r"\bjinbao_[a-z_]+\b", q)}
    assert used, "the dashboard queries nothing of jinbao's"
    assert used <= set(exposition.FAMILIES), used - set(exposition.FAMILIES)
    assert used <= families, f"queried but not served: {sorted(used - families)}"
    # Every panel's query is PromQL that Prometheus itself parses ($site as Grafana expands All);
    # label_values() of the site variable is Grafana's own, not PromQL.
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"jinbao:dashboard:q{i}", "expr": q.replace("$site", ".*")}
                    for i, q in enumerate(_queries(dash, variables=False))
                ],
            }
        ]
    }
    path = tmp_path / "rules.yml"
    path.write_text(json.dumps(rules))  # JSON is YAML
    check = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
