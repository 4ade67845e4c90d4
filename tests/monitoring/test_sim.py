"""The recorded devices of monitoring/sim/, served by a real snmpsim over SNMPv3 authPriv (and v2c),
polled as the province's devices of those classes; and faulty agents polled beside them.

Every expected value is read from the recording itself (monitoring/sim/recordings.py), so a
changed recording changes what is expected, never a figure written here."""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time

import pytest

from jinbao.estate import load_estate
from jinbao.model import MonitoringSettings, Thresholds
from jinbao.target import Target
from monitoring import alerts, poller, posture, thresholds
from monitoring.profiles import profile_of
from monitoring.sim import recordings
from monitoring.simulator import RECORDINGS, Simulator, free_udp_ports
from monitoring.snmp import Credentials
from monitoring.state import PollState
from tests.support import run_cli

pytestmark = pytest.mark.slow
USER = "jinbao-sim"
AUTH, PRIV = secrets.token_hex(12), secrets.token_hex(12)
CREDS = Credentials(USER, "sha", "aes", AUTH, PRIV)
ESTATE = load_estate("province")
# Each recording stands for these estate devices (by class and platform). The province has no
# Cisco router: its routers are Huawei and H3C, so the Cisco recording is polled as prov-wan1
# with the platform cisco_ios, which makes the poller read CISCO-PROCESS-MIB for its health.
DEVICES = {
    "prov-ups1": "ups",
    "prov-ups2": "ups-on-battery",
    "prov-env1": "env_sensor",
    "prov-san1": "storage",
    "prov-wan1": "router-cisco",
    "prov-agg-prod1": "switch-h3c",
}


def value(rec: str, oid: str):
    return next(v for o, _, v in recordings.RECORDINGS[rec] if o == oid)


def column(rec: str, col: str) -> dict[str, object]:
    return {o[len(col) + 1 :]: v for o, _, v in recordings.RECORDINGS[rec] if o.startswith(col + ".")}


def device(name: str):
    d = ESTATE.devices[name]
    return d.model_copy(update={"platform": "cisco_ios"}) if DEVICES.get(name) == "router-cisco" else d


def job(name: str, port: int, context: str, creds: Credentials = CREDS) -> poller.Job:
    d = device(name)
    prof = profile_of(d)
    assert prof is not None
    t = Target(name=name, platform=d.platform, host="127.0.0.1", user="", snmp_profile=d.snmp_profile)
    return poller.Job(d, t, prof, creds, port=port, context=context)


@pytest.fixture(scope="module")
def sim():
    s = Simulator(sorted(set(DEVICES.values())), USER, AUTH, PRIV)
    s.start(ready_within=120)
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def polled(sim):
    todo = [job(n, sim.port, rec) for n, rec in DEVICES.items()]
    agg = poller.poll(todo, PollState(), poller.Options(timeout=3, retries=1, deadline=60))
    return agg


def test_the_recordings_are_what_the_script_writes():
    for name, rows in recordings.RECORDINGS.items():
        assert (RECORDINGS / f"{name}.snmprec").read_text() == recordings.render(rows), name


def test_every_recorded_class_parses(polled):
    for name, rec in DEVICES.items():
        r = polled.results[name]
        assert not r.failed, (name, r.problems, r.data)
        assert r.data["system"]["sys_name"] == value(rec, "1.3.6.1.2.1.1.5.0")
        assert r.data["system"]["uptime_s"] == value(rec, "1.3.6.1.2.1.1.3.0") / 100
        if "interfaces" in r.data:
            names = column(rec, "1.3.6.1.2.1.31.1.1.1.1")
            assert [i["name"] for i in r.data["interfaces"]] == list(names.values())
            up = {names[i] for i, v in column(rec, "1.3.6.1.2.1.2.2.1.8").items() if v == 1}
            assert {i["name"] for i in r.data["interfaces"] if i["oper"] == "up"} == up


def test_ups_values(polled):
    u = polled.results["prov-ups1"].data["ups"]
    assert u["on_battery"] is False and u["battery"] == "normal"
    assert u["runtime_min"] == value("ups", "1.3.6.1.2.1.33.1.2.3.0")
    assert u["charge_pct"] == value("ups", "1.3.6.1.2.1.33.1.2.4.0")
    assert u["load_pct"] == max(column("ups", "1.3.6.1.2.1.33.1.4.4.1.5").values())
    b = polled.results["prov-ups2"].data["ups"]
    assert b["on_battery"] is True and b["output_source"] == "battery"
    assert b["seconds_on_battery"] == value("ups-on-battery", "1.3.6.1.2.1.33.1.2.2.0") > 0


def test_sensor_values(polled):
    s = polled.results["prov-env1"].data["sensors"]
    kind, prec, raw, status = (column("env_sensor", f"1.3.6.1.2.1.99.1.1.1.{c}") for c in (1, 3, 4, 5))
    ok = [i for i in kind if status[i] == 1]
    temps = [raw[i] / 10 ** prec[i] for i in ok if kind[i] == 8]
    hums = [raw[i] / 10 ** prec[i] for i in ok if kind[i] == 9]
    assert s["temperature_c"] == pytest.approx(max(temps))
    assert s["humidity_pct"] == pytest.approx(max(hums))
    assert s["sensors"] == len(ok) < len(kind)  # the unavailable probe is not counted


def test_storage_values(polled):
    h = polled.results["prov-san1"].data["health"]
    loads = column("storage", "1.3.6.1.2.1.25.3.3.1.2").values()
    assert h["cpu_pct"] == pytest.approx(sum(loads) / len(loads))
    kinds, descr = column("storage", "1.3.6.1.2.1.25.2.3.1.2"), column("storage", "1.3.6.1.2.1.25.2.3.1.3")
    size, used = column("storage", "1.3.6.1.2.1.25.2.3.1.5"), column("storage", "1.3.6.1.2.1.25.2.3.1.6")
    ram = next(i for i, k in kinds.items() if k.endswith(".2.1.2"))
    assert h["memory_pct"] == pytest.approx(100 * used[ram] / size[ram])
    disks = {descr[i]: 100 * used[i] / size[i] for i, k in kinds.items() if k.endswith(".2.1.4")}
    assert {d["mount"]: pytest.approx(d["used_pct"]) for d in h["disks"]} == disks


def test_vendor_router_and_switch_values(polled):
    r = polled.results["prov-wan1"].data
    cpu = column("router-cisco", "1.3.6.1.4.1.9.9.109.1.1.1.1.8")
    used, free = (column("router-cisco", f"1.3.6.1.4.1.9.9.109.1.1.1.1.{c}") for c in (12, 13))
    assert r["health"]["cpu_pct"] == max(cpu.values())
    assert r["health"]["memory_pct"] == pytest.approx(max(100 * used[i] / (used[i] + free[i]) for i in used))
    rid, state = (column("router-cisco", f"1.3.6.1.2.1.14.10.1.{c}") for c in (3, 6))
    assert r["ospf"]["exposed"] is True
    got = {n["router_id"]: n["state"] for n in r["ospf"]["neighbours"]}
    full = {rid[i] for i in state if state[i] == 8}
    assert set(got) == set(rid.values()) and {k for k, v in got.items() if v == "full"} == full
    s = polled.results["prov-agg-prod1"].data["health"]
    assert s["cpu_pct"] == max(column("switch-h3c", "1.3.6.1.4.1.25506.2.6.1.1.1.1.6").values())
    assert s["memory_pct"] == max(column("switch-h3c", "1.3.6.1.4.1.25506.2.6.1.1.1.1.8").values())


def test_ups_on_battery_raises_its_alerts_and_inventory_thresholds_apply(polled):
    limits = {n: thresholds.effective(ESTATE, device(n), profile_of(device(n))) for n in DEVICES}  # type: ignore[arg-type]
    active: dict[str, dict] = {}
    events = alerts.evaluate(polled, limits, active)
    raised = {(e["device"], e["key"]) for e in events if e["event"] == "raise"}
    runtime = value("ups-on-battery", "1.3.6.1.2.1.33.1.2.3.0")
    assert runtime < limits["prov-ups2"].ups_runtime_min  # the recording is meant to be below the limit
    assert {("prov-ups2", "ups_on_battery"), ("prov-ups2", "ups_runtime"), ("prov-ups2", "ups_battery")} <= raised
    assert not {k for d, k in raised if d == "prov-ups1"}
    # The inventory raises prov-ups1's runtime limit above what it has left: now it alerts too.
    left = value("ups", "1.3.6.1.2.1.33.1.2.3.0")
    est = ESTATE.model_copy(
        update={"monitoring": MonitoringSettings(devices={"prov-ups1": Thresholds(ups_runtime_min=left + 10)})}
    )
    th = thresholds.effective(est, device("prov-ups1"), profile_of(device("prov-ups1")))  # type: ignore[arg-type]
    assert (
        th.ups_runtime_min == left + 10 and th.ups_load_pct == profile_of(device("prov-ups1")).thresholds.ups_load_pct
    )  # type: ignore[union-attr]
    limits["prov-ups1"] = th
    events = alerts.evaluate(polled, limits, active)
    assert [(e["device"], e["key"]) for e in events if e["event"] == "raise"] == [("prov-ups1", "ups_runtime")]


def test_v2c_where_the_inventory_says_so(sim, monkeypatch):
    good = Credentials("", "", "", "", "", version="v2c", community="ups")
    wrong = Credentials("", "", "", "", "", version="v2c", community="not-" + secrets.token_hex(4))
    todo = [job("prov-ups1", sim.port, "", good), job("prov-ups3", sim.port, "", wrong)]
    agg = poller.poll(todo, PollState(), poller.Options(timeout=1, retries=0, deadline=10))
    assert not agg.results["prov-ups1"].failed, agg.results["prov-ups1"].problems
    assert agg.results["prov-ups1"].data["ups"]["runtime_min"] == value("ups", "1.3.6.1.2.1.33.1.2.3.0")
    # A wrong community is dropped without a word: it cannot be told from a dead agent.
    assert agg.results["prov-ups3"].data["status"] == "unreachable"
    assert "not-" not in str(agg.results["prov-ups3"].as_dict())


class Garbage:
    """A UDP socket that answers every datagram with junk bytes (a broken agent, a wrong service)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping.is_set():
            try:
                _, peer = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            self.sock.sendto(b"\x30\x03\x02\x01" + secrets.token_bytes(16), peer)

    def stop(self):
        self.stopping.set()
        self.thread.join(5)
        self.sock.close()


def test_faulty_agents_do_not_hold_up_good_ones(sim):
    dead_port = free_udp_ports(1)[0]  # nothing listens there
    junk = Garbage()
    try:
        wrong = Credentials(USER, "sha", "aes", "wrong-" + AUTH, PRIV)
        todo = [job(n, sim.port, rec) for n, rec in DEVICES.items() if rec in ("ups", "env_sensor", "switch-h3c")]
        todo += [
            job("prov-ups3", dead_port, "ups"),
            job("prov-ups4", sim.port, "ups", wrong),
            job("prov-env2", junk.port, "env_sensor"),
        ]
        opt = poller.Options(timeout=1.5, retries=1, deadline=30)
        started = time.monotonic()
        agg = poller.poll(todo, PollState(), opt)
        took = time.monotonic() - started
    finally:
        junk.stop()
    kinds = {h: r.data["status"] for h, r in agg.results.items()}
    assert kinds["prov-ups3"] == "unreachable"
    assert kinds["prov-ups4"] == "wrong_auth_key"
    assert kinds["prov-env2"] == "garbage"
    for n in ("prov-ups1", "prov-env1", "prov-agg-prod1"):
        assert kinds[n] == "ok", agg.results[n].problems
        # On time: a good device's poll ends well before a dead one's own timeouts run out.
        assert agg.results[n].data["seconds"] < agg.results["prov-ups3"].data["seconds"], agg.results[n].data
    # Every device holds only its own slot: the whole poll ends within one device's deadline
    # (plus the engines' set-up, which a loaded machine stretches).
    assert took < opt.deadline + max(r.data["seconds"] for r in agg.results.values() if not r.failed), took
    assert "wrong-" not in str({h: r.as_dict() for h, r in agg.results.items()})
    # What `monitor posture --poll` makes of the same poll: one finding per bad agent, by kind.
    found = {(f.kind, f.subject) for f in posture.silent_from_poll(agg)}
    assert found == {
        ("agent_unreachable", "prov-ups3"),
        ("agent_wrong_auth_key", "prov-ups4"),
        ("agent_garbage", "prov-env2"),
    }


def test_monitor_sim_polls_the_estate_devices_the_recordings_name():
    r = run_cli("monitor", "sim", "--json", timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert doc["map"] == DEVICES
    assert all(res["data"]["status"] == "ok" for res in doc["results"].values())
    raised = {(e["device"], e["key"]) for e in doc["alerts"] if e["event"] == "raise"}
    assert ("prov-ups2", "ups_on_battery") in raised
