"""Monitoring without a lab: rates, reboots, value checks, thresholds and alerts, profile coverage."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime

import pytest
from pysnmp.proto.rfc1902 import Counter64, OctetString, TimeTicks

from jinbao.classes import ROLE_CLASS, device_class, device_classes
from jinbao.platforms import PLATFORMS
from jinbao.result import AggregatedResult, Result
from monitoring import alerts, collect, profiles
from monitoring.profiles import HEALTH_MIBS, Thresholds
from monitoring.rates import COUNTER32, COUNTER64, TIMETICKS, delta, rate_bps, rebooted, utilisation_pct
from monitoring.snmp import SnmpFailure
from tests.support import REPO, run_cli


# -- counters and rates ---------------------------------------------------------------------------
def test_counter_wrap_is_counted_once_across_the_top():
    assert delta(100, 350, COUNTER64) == 250
    assert delta(COUNTER64 - 100, 50, COUNTER64) == 150
    assert delta(COUNTER32 - 1, 0, COUNTER32) == 1


def test_rate_in_bits_per_second_across_a_wrap():
    # 1,000 octets in 4 s = 2,000 bit/s, whether or not the counter passed its top on the way.
    assert rate_bps(5_000, 6_000, 4.0) == 2_000
    assert rate_bps(COUNTER64 - 400, 600, 4.0, speed_mbps=1000) == 2_000


def test_a_counter_that_went_back_by_more_than_the_link_can_carry_is_a_reset_not_a_wrap():
    # From 10^12 back to 10: a wrap would mean ~10^19 octets in 10 s on a 1 Gbit/s link.
    assert rate_bps(10**12, 10, 10.0, speed_mbps=1000) is None
    assert rate_bps(1, 2, 0.0) is None  # no time passed: no rate


def test_utilisation_against_the_interface_speed():
    assert utilisation_pct(250_000_000, 1000) == 25.0
    assert utilisation_pct(1, None) is None and utilisation_pct(None, 1000) is None


def test_uptime_going_back_is_a_reboot_but_a_timeticks_wrap_is_not():
    assert not rebooted(None, 500, 60)
    assert not rebooted(1000, 7000, 60)
    assert rebooted(900_000, 1_200, 60)
    # 2^32 ticks is 497 days: 30 s before the top, then 30 s after it, one minute apart.
    assert not rebooted(TIMETICKS - 3000, 3000, 60)
    # Up 60 s at the last poll, up 70 s now, 300 s later: it restarted in between.
    assert rebooted(6_000, 7_000, 300)
    assert not rebooted(6_000, 40_000, 300)  # up more than the time that passed: the agent's clock, not a restart


def test_values_of_the_wrong_type_are_malformed_not_crashes():
    assert collect.number(Counter64(2**63), "x") == 2**63
    assert collect.number(TimeTicks(12), "x") == 12
    for bad in (OctetString(b"12"), None, b"7"):
        with pytest.raises(SnmpFailure) as e:
            collect.number(bad, "ifHCInOctets.3")
        assert e.value.kind == "malformed" and "ifHCInOctets.3" in str(e.value)


def test_entity_sensor_values_are_scaled_by_their_si_prefix_and_precision():
    assert collect.sensor_value(235, 9, 1) == 23.5  # units, one decimal
    assert collect.sensor_value(23500, 8, 0) == 23.5  # milli
    assert collect.sensor_value(2, 10, 0) == 2000  # kilo


def test_getbulk_is_sized_to_the_table_and_to_one_answer():
    assert collect.reps_for(3, 8) == 4  # the whole table and its end in one answer
    assert collect.reps_for(200, 8) == collect.VARBINDS_PER_REQUEST // 8


# -- thresholds and alerts ------------------------------------------------------------------------
def _ok(host, **data):
    return Result(host, "monitor poll", data={"status": "ok", "class": "router", **data})


ROUTER = Thresholds(cpu_pct=80, link_utilisation_pct=80)


def _run(active, *results, th=ROUTER):
    agg = AggregatedResult("monitor poll")
    for r in results:
        agg.add(r)
    return alerts.evaluate(agg, {r.host: th for r in results}, active, datetime(2026, 1, 1, tzinfo=UTC))


def test_an_alert_is_raised_once_held_within_its_hysteresis_and_cleared_once():
    active: dict = {}
    raised = _run(active, _ok("r1", health={"cpu_pct": 91.0}))
    assert [(e["event"], e["key"], e["severity"]) for e in raised] == [("raise", "cpu", "warning")]
    assert _run(active, _ok("r1", health={"cpu_pct": 95.0})) == []  # still hot: nothing new
    # 79 is under the limit but inside the band (80 - 5 %): it does not clear yet.
    assert _run(active, _ok("r1", health={"cpu_pct": 79.0})) == []
    cleared = _run(active, _ok("r1", health={"cpu_pct": 70.0}))
    assert [(e["event"], e["key"]) for e in cleared] == [("clear", "cpu")] and not active


def test_a_linked_interface_down_raises_even_when_taken_down_by_hand_and_clears():
    active: dict = {}
    down = [{"name": "eth2", "admin": "down", "oper": "down", "link": "prov-wan1--hefei-wan1", "utilisation_pct": None}]
    spare = [{"name": "eth9", "admin": "down", "oper": "down", "link": None, "utilisation_pct": None}]
    ev = _run(active, _ok("r1", interfaces=down + spare))
    assert [(e["event"], e["key"]) for e in ev] == [("raise", "if_down:eth2")]
    up = [{**down[0], "admin": "up", "oper": "up"}]
    assert [(e["event"], e["key"]) for e in _run(active, _ok("r1", interfaces=up + spare))] == [
        ("clear", "if_down:eth2")
    ]


def test_a_device_that_cannot_be_polled_raises_unreachable_and_keeps_its_other_alerts():
    active: dict = {}
    _run(active, _ok("r1", health={"cpu_pct": 99.0}))
    failed = Result("r1", "monitor poll", failed=True, data={"status": "unreachable"}, problems=("unreachable",))
    ev = _run(active, failed)
    assert [(e["event"], e["key"], e["severity"]) for e in ev] == [("raise", "unreachable", "critical")]
    assert "r1|cpu" in active  # nothing is known about its CPU: the alert stays
    ev = _run(active, _ok("r1", health={"cpu_pct": 10.0}))
    assert sorted((e["event"], e["key"]) for e in ev) == [("clear", "cpu"), ("clear", "unreachable")]


def test_wrong_keys_are_a_credentials_alert_and_a_reboot_is_an_event():
    active: dict = {}
    bad = Result("r1", "monitor poll", failed=True, data={"status": "wrong_priv_key"}, problems=("wrong key",))
    assert [e["key"] for e in _run(active, bad)] == ["snmp_credentials"]
    ev = _run(active, _ok("r1", system={"rebooted": True, "uptime_s": 12.0}))
    assert sorted((e["event"], e["key"]) for e in ev) == [("clear", "snmp_credentials"), ("raise", "reboot")]
    assert [(e["event"], e["key"]) for e in _run(active, _ok("r1", system={"rebooted": False}))] == [
        ("clear", "reboot")
    ]


def test_ups_on_battery_and_short_runtime_are_critical():
    th = Thresholds(ups_runtime_min=15, ups_load_pct=80)
    ups = {"on_battery": True, "battery": "normal", "runtime_min": 9, "load_pct": 40}
    ev = _run({}, _ok("ups1", ups=ups), th=th)
    assert sorted((e["key"], e["severity"]) for e in ev) == [
        ("ups_on_battery", "critical"),
        ("ups_runtime", "critical"),
    ]


def test_alerts_are_appended_to_the_log_as_json_lines(tmp_path):
    log = tmp_path / "a" / "alerts.jsonl"
    alerts.deliver([{"event": "raise", "key": "cpu"}], log)
    alerts.deliver([{"event": "clear", "key": "cpu"}], log)
    assert [json.loads(x)["event"] for x in log.read_text().splitlines()] == ["raise", "clear"]


# -- classes and profiles -------------------------------------------------------------------------
def test_every_device_class_has_a_profile_and_every_platform_a_readable_health_mib():
    profs = profiles.load(profiles.PROFILE_DIR)
    assert not profs.errors, profs.errors
    assert set(profs.by_class) == set(device_classes())
    for name, facts in PLATFORMS.items():
        assert facts.snmp_health_mib in HEALTH_MIBS, name


@pytest.mark.parametrize("estate", ["province", "lab"])
def test_every_device_of_the_estates_has_a_profile(estate, request):
    e = request.getfixturevalue("province" if estate == "province" else "lab_estate")
    profs = profiles.load(profiles.PROFILE_DIR).by_class
    missing = sorted({device_class(d) for d in e.devices.values()} - set(profs))
    assert not missing
    ups = [d for d in e.devices.values() if d.role == "ups"]
    assert all(profs[device_class(d)].collect == ("system", "ups") for d in ups)


def test_a_ups_is_a_ups_not_a_linux_box(province):
    assert device_class(province.devices["prov-ups1"]) == "ups"
    assert device_class(province.devices["prov-env1"]) == "env_sensor"
    assert device_class(province.devices["prov-san1"]) == "storage"
    assert set(ROLE_CLASS.values()) == set(device_classes())


def test_validate_names_each_device_whose_class_has_no_profile(tmp_path):
    folder = tmp_path / "profiles"
    shutil.copytree(REPO / "monitoring" / "profiles", folder)
    (folder / "ups.yml").unlink()
    r = run_cli("inventory", "validate", "--json", env={"JINBAO_MONITORING_PROFILES": str(folder)})
    assert r.returncode == 2, r.stderr
    problems = [p for p in json.loads(r.stdout)["problems"] if p["check"] == "monitoring"]
    assert problems and all(p["field"] == "role" and "ups" in p["message"] for p in problems)
    assert all(p["file"].startswith("inventory/province/") and p["line"] > 0 for p in problems)
    assert {p["fix"] for p in problems} == {
        f"add {folder}/ups.yml saying what to poll on a ups (see docs/monitoring.md)"
    }
    # The same folder with the profile back is clean: the problem was the missing file, nothing else.
    shutil.copy(REPO / "monitoring" / "profiles" / "ups.yml", folder)
    assert run_cli("inventory", "validate", env={"JINBAO_MONITORING_PROFILES": str(folder)}).returncode == 0


def test_a_malformed_profile_is_named_by_file_line_and_field(tmp_path):
    folder = tmp_path / "profiles"
    shutil.copytree(REPO / "monitoring" / "profiles", folder)
    text = (folder / "router.yml").read_text().replace("collect: [system,", "collect: [sytsem,")
    (folder / "router.yml").write_text(text)
    r = run_cli("--estate", "lab", "inventory", "validate", "--json", env={"JINBAO_MONITORING_PROFILES": str(folder)})
    assert r.returncode == 2
    (p,) = json.loads(r.stdout)["problems"]
    line = next(i for i, l in enumerate(text.splitlines(), 1) if l.startswith("collect:"))
    assert (p["file"], p["line"], p["field"]) == (str(folder / "router.yml"), line, "collect.0")
