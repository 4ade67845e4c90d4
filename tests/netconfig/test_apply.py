"""`jinbao config apply`: waves, state checks, the change log, and the lab end to end.

The unit tests need no lab. The lab tests change the session's live lab through an estate copy
and restore it (re-apply `inventory/lab`, restart a stopped node) even when they fail.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from ipaddress import IPv4Address, IPv4Network

import pytest

from jinbao.errors import JinbaoError
from jinbao.estate import load_estate
from jinbao.result import AggregatedResult, Result
from netconfig import apply as apply_mod
from netconfig import changelog
from netconfig.statecheck import Readers, State, _routed, blame, lookups, losses, route_lookup, verify
from netconfig.waves import waves
from tests.support import REPO, run_cli

from .labchange import ANNOUNCED, _apply, _estate_copy, _plan, _restore, _routes


@pytest.fixture(scope="module")
def estate():
    return load_estate("lab")


# -- without a lab -------------------------------------------------------------------------------
def test_waves_go_province_then_dr_then_cities(estate):
    got = waves(estate, ["hefei-wan1", "dr-wan1", "prov-wan2", "wuhu-wan2", "prov-fw1", "nosuch"])
    assert got == [
        ("province", ["prov-fw1", "prov-wan2"]),
        ("dr", ["dr-wan1"]),
        ("city", ["hefei-wan1", "wuhu-wan2"]),
        ("other", ["nosuch"]),
    ]


def test_an_estate_may_define_its_own_waves_such_as_a_canary_city_first(tmp_path):
    copy = tmp_path / "estate"
    shutil.copytree(REPO / "inventory" / "lab", copy)
    (copy / "waves.yml").write_text(
        "change_waves:\n"
        "  - {name: canary, sites: [chuzhou]}\n"
        "  - {name: core, kinds: [province, dr]}\n"
        "  - {name: edge, kinds: [city]}\n"
    )
    est = load_estate(str(copy))
    got = waves(est, ["hefei-wan1", "dr-wan1", "chuzhou-wan2", "prov-wan2", "nosuch"])
    assert got == [("canary", ["chuzhou-wan2"]), ("core", ["dr-wan1", "prov-wan2"]), ("edge", ["hefei-wan1"]),
                   ("other", ["nosuch"])]  # fmt: skip


def test_change_log_is_append_only_and_knows_open_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("JINBAO_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("SUDO_USER", "alice")
    assert changelog.log_path() == tmp_path / "changes.jsonl"
    assert changelog.who() == "alice"
    changelog.append({"id": "c1", "event": "started", "devices": {"prov-wan1": "diff"}})
    assert changelog.open_change("prov-wan1") == "c1" and changelog.open_change("hefei-wan1") is None
    changelog.append({"id": "c1", "event": "finished", "devices": {"prov-wan1": {"status": "applied"}}})
    assert changelog.open_change("prov-wan1") is None
    with changelog.log_path().open("a") as f:
        f.write('{"torn')  # a crash mid-line loses that line only
    assert [r["event"] for r in changelog.records()] == ["started", "finished"]
    assert all("at" in r for r in changelog.records())


def _state(adj=(), routes=(), up=()):
    return State(frozenset(adj), frozenset(routes), frozenset(up))


def test_a_lost_adjacency_or_route_is_a_loss_unless_the_intent_removes_it(estate):
    prov = str(estate.devices["prov-wan1"].loopback)
    before = _state([("eth1", prov), ("eth1", "10.99.99.99")], [prov, "10.99.99.98"])
    after = _state()
    found = losses("hefei-wan1", before, after, estate)
    assert [w for _, w in found] == ["prov-wan1", "prov-wan1"]  # the unknown router id and loopback: gone by intent
    assert blame({"hefei-wan1": found}, {"prov-wan1"}) == {"prov-wan1": [f"hefei-wan1 {what}" for what, _ in found]}
    assert blame({"x": [("lost y", None)]}, {"a", "b"}).keys() == {"a", "b"}


def test_verify_waits_for_the_state_to_hold_and_gives_up_at_the_deadline(estate):
    class Clock:
        t = 0.0

    def pause(s):
        Clock.t += s

    prov = str(estate.devices["prov-wan1"].loopback)
    before = {"hefei-wan1": _state([("eth1", prov)])}
    T = type("T", (), {"name": "hefei-wan1"})
    states = iter([_state([("eth1", prov)])] * 3 + [_state()] * 100)
    got = verify([T()], before, {"hefei-wan1"}, estate, deadline_s=10, hold_s=5,
                 read=lambda ts, e: {"hefei-wan1": next(states)}, clock=lambda: Clock.t, pause=pause)  # fmt: skip
    assert got == {"hefei-wan1": [f"lost OSPF adjacency with prov-wan1 ({prov}) on eth1"]} and Clock.t >= 10
    Clock.t = 0.0
    ok = verify([T()], before, {"hefei-wan1"}, estate, deadline_s=10, hold_s=5,
                read=lambda ts, e: before, clock=lambda: Clock.t, pause=pause)  # fmt: skip
    assert ok == {} and 5 <= Clock.t < 7


def _announcing(estate, device="prov-wan2", prefix="10.200.1.0/24"):
    d = estate.devices[device]
    devices = {**estate.devices, device: d.model_copy(update={"announce": (IPv4Network(prefix),)})}
    return estate.model_copy(update={"devices": devices})


def test_an_announced_prefix_must_appear_everywhere_and_may_go_once_the_intent_drops_it(estate):
    announcing = _announcing(estate)
    # looked up by the first host, the /32 OSPF advertises for a loopback address
    assert lookups(announcing)["10.200.1.0/24"] == ("10.200.1.1", IPv4Network("10.200.1.0/24"))
    assert _routed({"10.200.1.1/32": [{"current_active": True}]}, IPv4Network("10.200.1.0/24"))
    assert not _routed({"0.0.0.0/0": [{"current_active": True}]}, IPv4Network("10.200.1.0/24"))  # a default is not it

    class Clock:
        t = 0.0

    def pause(s):
        Clock.t += s

    T = type("T", (), {"name": "hefei-wan1"})
    before = {"hefei-wan1": _state()}
    kw = dict(deadline_s=5, hold_s=2, clock=lambda: Clock.t, pause=pause)
    missing = verify([T()], before, {"prov-wan2"}, announcing, read=lambda ts, e: {"hefei-wan1": _state()}, **kw)
    assert missing == {"prov-wan2": ["hefei-wan1 does not route 10.200.1.0/24, which prov-wan2 now announces"]}
    seen = iter([_state()] * 2 + [_state(routes=["10.200.1.0/24"])] * 10)  # OSPF takes a moment
    Clock.t = 0.0
    assert verify([T()], before, {"prov-wan2"}, announcing, read=lambda ts, e: {"hefei-wan1": next(seen)}, **kw) == {}
    # a wave without the announcer does not wait for it (a later wave announces it)
    Clock.t = 0.0
    assert verify([T()], before, {"dr-wan1"}, announcing, read=lambda ts, e: {"hefei-wan1": _state()}, **kw) == {}
    routed = _state(routes=["10.200.1.0/24"])
    assert losses("hefei-wan1", routed, _state(), estate) == []  # the intent no longer announces it
    assert losses("hefei-wan1", routed, _state(), announcing) == [
        ("lost its route to 10.200.1.0/24, announced by prov-wan2", "prov-wan2")
    ]


def test_a_napalm_driver_is_read_whole_and_matched_longest_prefix_first():
    table = {
        "0.0.0.0/0": [{"current_active": True}],
        "10.90.0.0/16": [{"current_active": False}],
        "10.90.16.1/32": [{"current_active": True}],
    }

    calls = []

    class Napalm:  # NAPALM's signature: one call for the whole table
        def get_route_to(self, destination="", protocol="", longer=False):
            calls.append((destination, longer))
            return table

    class PerAddress:
        def get_route_to(self, destination):
            return {"asked": destination}

    look = route_lookup(Napalm())
    assert look("10.90.16.1") == {"10.90.16.1/32": table["10.90.16.1/32"]}
    assert look("10.90.16.2") == {"10.90.0.0/16": table["10.90.0.0/16"]}  # longest match, inactive
    assert look("192.0.2.1") == {"0.0.0.0/0": table["0.0.0.0/0"]}
    assert calls == [("0.0.0.0/0", True)]
    assert route_lookup(PerAddress())("10.90.16.1") == {"asked": "10.90.16.1"}


def _plans(**status):
    agg = AggregatedResult("plan")
    for h, s in status.items():
        agg.add(Result(h, "plan", failed=True, exception="ConnectionFailed: x") if s == "down" else
                Result(h, "plan", changed=s == "to change", diff="+x\n" if s == "to change" else "", data={"status": s}))  # fmt: skip
    return agg


class _T:
    def __init__(self, name):
        self.name = name


def _run(estate, monkeypatch, plans, check, opts=None, snapshot=None):
    done = []
    monkeypatch.setattr(apply_mod.statecheck, "snapshot", snapshot or (lambda ts, e, workers=8, readers=None: {}))
    for step in ("commit", "confirm", "rollback"):

        def fake(target, step=step, **kw):
            if step == "commit" and target.name == "wuhu-wan1":
                raise ConnectionError("ConnectionFailed: no route to host")
            done.append((step, target.name))
            return Result(target.name, step)

        monkeypatch.setattr(apply_mod, step, fake)
    targets = [_T(h) for h in plans.results]
    agg = apply_mod.Run(targets, estate, plans, opts or apply_mod.Options(), say=lambda s: None).run(check)
    return {h: r.data["status"] for h, r in agg.results.items()}, done, agg


PLANS = {"prov-wan1": "to change", "prov-wan2": "unchanged", "dr-wan1": "to change",
         "hefei-wan1": "to change", "wuhu-wan1": "to change", "chuzhou-wan1": "down"}  # fmt: skip


def test_an_unreachable_device_stops_nothing_and_is_named(estate, monkeypatch):
    got, done, agg = _run(estate, monkeypatch, _plans(**PLANS), lambda *a, **kw: {})
    assert got == {"prov-wan1": "applied", "prov-wan2": "unchanged", "dr-wan1": "applied",
                   "hefei-wan1": "applied", "wuhu-wan1": "unreachable", "chuzhou-wan1": "unreachable"}  # fmt: skip
    assert [s for s, _ in done] == ["commit", "confirm"] * 3  # wave by wave
    assert agg.exit_code() == 1 and "no route to host" in agg.results["wuhu-wan1"].why


def test_a_failed_check_reverts_that_device_and_no_later_wave_starts(estate, monkeypatch):
    def check(routers, before, wave, estate, **kw):
        return {"dr-wan1": ["lost it"]} if "dr-wan1" in wave else {}

    got, done, agg = _run(estate, monkeypatch, _plans(**PLANS), check)
    assert got["prov-wan1"] == "applied" and got["dr-wan1"] == "reverted"
    assert got["hefei-wan1"] == got["wuhu-wan1"] == "not started"
    assert ("rollback", "dr-wan1") in done and ("confirm", "dr-wan1") not in done
    assert not any(h in ("hefei-wan1", "wuhu-wan1") for _, h in done)
    assert agg.exit_code() == 1 and "lost it" in agg.results["dr-wan1"].why


def test_a_wave_whose_commits_used_up_the_revert_window_is_rolled_back_not_left_to_race_its_timers(estate, monkeypatch):
    checked = []
    opts = apply_mod.Options(revert_in=apply_mod.CONFIRM_MARGIN_S + 5, hold_s=10)  # 5 s left < 10 s to hold
    got, done, agg = _run(estate, monkeypatch, _plans(**PLANS), lambda *a, **kw: checked.append(a) or {}, opts)
    assert not checked and got["prov-wan1"] == "reverted" and ("confirm", "prov-wan1") not in done
    assert "raise --revert-in" in agg.results["prov-wan1"].why
    assert got["dr-wan1"] == "not started"


def test_a_verified_waves_final_state_is_the_next_waves_starting_state(estate, monkeypatch):
    reads = []

    def snapshot(targets, est, workers=8, readers=None):
        reads.append(len(reads))
        return {t.name: _state(up=["eth1"]) for t in targets}

    def check(routers, before, wave, est, read, **kw):
        assert before.keys() == {t.name for t in routers}
        read([t for t in routers if t.name in before], est)  # the settled state the wave ends in
        return {}

    got, _, _ = _run(estate, monkeypatch, _plans(**PLANS), check, snapshot=snapshot)
    assert got["hefei-wan1"] == "applied"
    assert len(reads) == 1 + 3  # one read before the first wave, then one per wave's check


def test_ctrl_c_rolls_back_the_wave_in_flight_and_names_what_never_started(estate, monkeypatch):
    def check(routers, before, wave, estate, **kw):
        if "dr-wan1" in wave:
            raise KeyboardInterrupt  # the operator gives up while the DR wave is being checked
        return {}

    got, done, agg = _run(estate, monkeypatch, _plans(**PLANS), check)
    assert got["prov-wan1"] == "applied"  # confirmed in an earlier wave: it keeps the change
    assert got["dr-wan1"] == "reverted" and "interrupted: rolled back" in agg.results["dr-wan1"].why
    assert ("rollback", "dr-wan1") in done and ("confirm", "dr-wan1") not in done
    assert got["hefei-wan1"] == "not started" and "interrupted" in agg.results["hefei-wan1"].why
    assert agg.exit_code() == 1


def test_a_device_changed_since_the_plan_is_not_committed(estate, monkeypatch):
    class Driver:
        committed = False

        def load_replace_candidate(self, config):
            pass

        def compare_config(self):
            return "interface eth2\n ip ospf cost 7\n"

        def get_config(self, retrieve):
            return {"running": "hostname prov-wan1\n"}

        def commit_config(self, revert_in):
            Driver.committed = True

    monkeypatch.setattr(apply_mod, "config_driver_for", lambda t: Driver())
    monkeypatch.setattr(apply_mod, "session", contextlib.nullcontext)
    monkeypatch.setattr(apply_mod, "intended", lambda e, t: "")
    monkeypatch.setattr(apply_mod.Redactor, "for_target", classmethod(lambda cls, e, t: lambda text: text))
    with pytest.raises(JinbaoError, match="changed since the plan"):
        apply_mod.commit(_T("prov-wan1"), estate, 60, planned={"prov-wan1": "interface eth2\n ip ospf cost 50\n"})
    assert not Driver.committed
    apply_mod.commit(_T("prov-wan1"), estate, 60, planned={"prov-wan1": "interface eth2\n ip ospf cost 7\n"})
    assert Driver.committed


def test_apply_refuses_bad_input_before_touching_anything(tmp_path):
    r = run_cli("config", "apply", "--targets", "nosuch:x", "--estate", "lab", "--yes")
    assert r.returncode == 2, r.stderr
    r = run_cli("config", "apply", "--targets", "lab:", "--estate", "province", "--yes")
    assert r.returncode == 2 and "--confirm province" in r.stderr, r.stderr
    r = run_cli("config", "apply", "--targets", "lab:", "--estate", "lab")  # no terminal, no --yes
    assert r.returncode == 2 and "--yes" in r.stderr, r.stderr


# -- against the lab -----------------------------------------------------------------------------
@pytest.mark.lab
def test_a_cost_change_is_applied_verified_and_logged(lab, tmp_path):
    env = {"JINBAO_STATE_DIR": str(tmp_path / "state")}
    copy = _estate_copy(tmp_path, announce=True)
    host_route = "10.200.1.1/32"  # what ospfd advertises for prov-wan2's lo address 10.200.1.1/24
    far = "chuzhou-wan1"  # another area, behind the province
    assert host_route not in _routes(lab, far)
    try:
        planned = _plan(lab, str(copy))
        assert planned["summary"]["to change"] == ["dr-wan1", "prov-wan1", "prov-wan2"], planned["summary"]
        for host in ("dr-wan1", "prov-wan1"):
            diff = planned["devices"][host]["diff"]  # frr-reload's lines to delete, then to add
            body = [ln.strip() for ln in diff.splitlines() if not ln.startswith(("Lines To", "====="))]
            assert "ip ospf cost 50" in body, diff
            assert all(
                ln.startswith(("ip ospf cost", "no ip ospf cost", "interface eth")) or ln == "exit" for ln in body
            ), diff
        diff = planned["devices"]["prov-wan2"]["diff"]
        body = [ln.strip() for ln in diff.splitlines() if not ln.startswith(("Lines To", "====="))]
        assert sorted(ln for ln in body if ln not in ("", "exit")) == sorted(
            ["interface lo", "ip address 10.200.1.1/24", "router ospf", f"network {ANNOUNCED} area 0"]
        ), diff
        r, got = _apply(lab, "--estate", str(copy), env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        assert got["summary"]["applied"] == ["dr-wan1", "prov-wan1", "prov-wan2"]
        # the intended effect, read on the far router itself (apply's own check also waited for it)
        entry = _routes(lab, far)[host_route][0]
        assert entry["protocol"] == "ospf" and entry["selected"], entry
        assert _plan(lab, str(copy))["summary"].get("to change") is None
        log = [json.loads(line) for line in (tmp_path / "state" / "changes.jsonl").read_text().splitlines()]
        events = [(e["event"], e.get("device")) for e in log]
        assert events[0] == ("started", None) and events[-1] == ("finished", None), events
        province = {("before", "prov-wan1"), ("after", "prov-wan1"), ("before", "prov-wan2"), ("after", "prov-wan2")}
        assert set(events[1:5]) == province, events  # the province wave, its devices in parallel
        assert events[5:7] == [("before", "dr-wan1"), ("after", "dr-wan1")], events  # then the DR wave
        assert {e["id"] for e in log} == {got["id"]}
        assert log[-1]["devices"]["prov-wan1"]["status"] == "applied"
        assert "ip ospf cost 50" not in log[1]["config"] and "router ospf" in log[1]["config"]
        assert lab.secret("env:JINBAO_OSPF_KEY") not in json.dumps(log) + r.stdout
    finally:
        _restore(lab, env)
    assert _plan(lab, "lab")["summary"].get("to change") is None
    assert host_route not in _routes(lab, far)  # the intent no longer announces it: it went, unflagged


@pytest.mark.lab
def test_a_lost_adjacency_fails_its_check_and_is_rolled_back(lab, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from lab import health
    from netconfig import plan as plan_mod
    from netconfig.cli import cli

    monkeypatch.setenv("JINBAO_STATE_DIR", str(tmp_path / "state"))
    original = plan_mod.intended

    def broken(estate, target):
        text = original(estate, target)
        if target.name != "dr-wan1":
            return text
        head, wan = text.split("interface eth2\n", 1)  # dr-wan1's end of the DR link only
        return head + "interface eth2\n" + wan.replace("ip ospf hello-interval 1", "ip ospf hello-interval 3", 1)

    monkeypatch.setattr(plan_mod, "intended", broken)
    monkeypatch.setattr(apply_mod, "intended", broken)
    try:
        args = ["apply", "--lab", lab.id, "--yes", "--json", "--revert-in", "90", "--check-timeout", "20"]
        r = CliRunner().invoke(cli, args)
        assert r.exit_code == 1, r.output
        got, _ = json.JSONDecoder().raw_decode(r.output[r.output.index("{") :])  # stderr follows it
        assert got["devices"]["dr-wan1"]["status"] == "reverted", got
        assert "adjacency" in got["devices"]["dr-wan1"]["why"]
        health.wait_converged(lab, timeout=120)  # the rollback brought the adjacency back
    finally:
        monkeypatch.undo()
        _restore(lab, {"JINBAO_STATE_DIR": str(tmp_path / "state")})


def _neighbours(lab, node: str) -> str:
    r = run_cli("lab", "exec", "--id", lab.id, node, "--", "vtysh", "-c", "show ip ospf neighbor", check=True)
    return r.stdout


def _route(lab, node: str, prefix: str) -> dict:
    cmd = ["lab", "exec", "--id", lab.id, node, "--", "vtysh", "-c", f"show ip route {prefix} json"]
    return json.loads(run_cli(*cmd, check=True).stdout or "{}")


@pytest.mark.lab
def test_an_unreachable_device_is_named_and_the_others_are_applied(lab, tmp_path):
    from lab import health

    env = {"JINBAO_STATE_DIR": str(tmp_path / "state")}
    copy = _estate_copy(tmp_path, cost=60)
    assert run_cli("lab", "node", "stop", "--id", lab.id, "dr-wan1").returncode == 0
    try:
        # Let prov-wan1 see its neighbour gone first (an OSPF dead interval): otherwise the stop's
        # own loss lands inside the wave's state check and is blamed on the change.
        dr_id = str(lab.plan.nodes["dr-wan1"].device.loopback)
        deadline = time.monotonic() + 60
        # every router that was its neighbour (prov-wan1 over the WAN, dr-fw1 on the DR site's LAN):
        # dr-fw1's loss of its only way out was seen landing in the wave's check and blamed on it
        for node in [n for n, nd in lab.plan.nodes.items() if nd.runs_frr and n != "dr-wan1"]:
            while dr_id in _neighbours(lab, node):
                assert time.monotonic() < deadline, f"{node} never noticed dr-wan1 stopped"
                time.sleep(0.5)
        # ...and the whole area: while another router still lists dr-wan1 as its neighbour, prov-wan1
        # keeps a route to its loopback, and its loss would land inside the wave's check instead.
        while _route(lab, "prov-wan1", f"{dr_id}/32"):
            assert time.monotonic() < deadline, "prov-wan1 still routes to dr-wan1's loopback"
            time.sleep(0.5)
        r, got = _apply(lab, "--estate", str(copy), env=env)
        assert r.returncode == 1, r.stdout + r.stderr
        summary = got.get("summary", {})
        assert summary.get("applied") == ["prov-wan1"] and summary.get("unreachable") == ["dr-wan1"], got
        assert "dr-wan1" in r.stderr
    finally:
        run_cli("lab", "node", "start", "--id", lab.id, "dr-wan1", check=True)
        health.wait_converged(lab, timeout=120)
        _restore(lab, env)


class _Kept:
    """A config driver that records what is asked of it (the commit's choices, without a lab)."""

    def __init__(self, running: str, diff: str, dead: bool = False):
        self.running, self.diff, self.dead, self.calls = running, diff, dead, []

    def __getattr__(self, name):
        def call(*args, **kw):
            self.calls.append(name)
            if name == "get_config":
                if self.dead:
                    raise ConnectionError("ConnectionFailed: lost the session")
                return {"running": self.running}
            return self.diff if name == "compare_config" else None

        return call


def test_the_commit_reuses_the_plans_candidate_only_on_the_config_it_was_diffed_against(estate, monkeypatch):
    monkeypatch.setattr(apply_mod.Redactor, "for_target", classmethod(lambda cls, e, t: lambda text: text))
    fresh: list[_Kept] = []
    monkeypatch.setattr(apply_mod, "config_driver_for", lambda t: fresh.append(_Kept("ran\n", "+x\n")) or fresh[-1])
    planned = {"prov-wan1": "+x\n"}

    def commit(d, config="want\n", seen="ran\n"):
        kept = Readers()
        kept.keep(_T("prov-wan1"), d, (config, seen))
        try:
            apply_mod.commit(_T("prov-wan1"), estate, 60, planned, wanted={"prov-wan1": "want\n"}, kept=kept)
        finally:
            left = kept.take("prov-wan1")[0]
        return left

    same = _Kept("ran\n", "+x\n")
    assert commit(same) is same and same.calls == ["get_config", "commit_config"]  # nothing loaded again
    moved = _Kept("ran, then changed\n", "+x\n")  # changed since the plan, to the same effect
    assert commit(moved) is moved
    assert moved.calls == ["get_config", "load_replace_candidate", "compare_config", "commit_config"]
    other = _Kept("ran\n", "+x\n")  # the plan loaded another config than the one to commit
    assert commit(other, config="other\n") is other and "load_replace_candidate" in other.calls
    gone = _Kept("ran, then changed\n", "+y\n")
    with pytest.raises(JinbaoError, match="changed since the plan"):
        commit(gone)
    assert "commit_config" not in gone.calls and gone.calls[-2:] == ["discard_config", "close"]
    dead = _Kept("ran\n", "+x\n", dead=True)  # the kept session died: a fresh login does it all
    assert commit(dead) is fresh[-1] and dead.calls == ["get_config", "close"]
    assert fresh[-1].calls == ["open", "get_config", "load_replace_candidate", "compare_config", "commit_config"]


def test_a_whole_table_lookup_is_the_longest_match_of_every_prefix():
    import random

    from netconfig.statecheck import table_lookup

    rng = random.Random(7)
    nets = {IPv4Network((rng.getrandbits(32) & 0x0A0F_FFFF | 0x0A00_0000, n), strict=False) for n in range(0, 33)
            for _ in range(4)} | {IPv4Network("0.0.0.0/0")}  # fmt: skip
    table = {str(n): [{"n": str(n)}] for n in nets}
    look = table_lookup(table)
    for _ in range(2000):
        a = rng.choice([rng.getrandbits(32), int(rng.choice(sorted(nets)).network_address) + rng.getrandbits(2)])
        best = max((n for n in nets if IPv4Address(a & 0xFFFFFFFF) in n), key=lambda n: n.prefixlen)
        assert look(str(IPv4Address(a & 0xFFFFFFFF))) == {str(best): table[str(best)]}
