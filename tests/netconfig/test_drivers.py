"""One conformance suite for every netconfig driver, as NAPALM's base/test/getters.py is.

Each test function takes a `case`: a driver, how to make it, and what the suite may expect of
its device. The live cases (FRR, nftables, Linux) are lab nodes and carry the `lab` marker. The
vendor drivers (VRP, Comware, IOS) run the same functions over recorded sessions
(`netconfig.drivers.replay`), without the mark: each test replays the dialogue named after it from
`recordings/<platform>/sessions/`, and fails if the driver sends a line the dialogue does not have
or stops before its end.

Lifecycle tests change a lab node that other tests share, so each one registers the node's
config first and puts it back afterwards, whatever happened (then waits for OSPF convergence).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import typing
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from jinbao.target import Target
from netconfig.drivers import base, config_driver_for, driver_for, session
from netconfig.drivers.replay import Replay

from .recorded import RECORDED, recorded_case

MARK = "jinbao-conformance"


@dataclass
class DriverCase:
    """What the suite needs to exercise one driver against one device."""

    id: str
    make: Callable[[], base.Getters]
    expect_hostname: str
    expect_ospf: bool  # the device runs OSPF and has neighbours
    route_probe: str  # an address the device has a route to
    # for drivers with a config lifecycle:
    with_marker: Callable[[str], str] | None = None  # running config -> a harmless candidate
    has_marker: Callable[[str], bool] | None = None
    out_of_band: Callable[[], str] | None = None  # the running config, read without the driver
    restore: Callable[[str], None] | None = None  # put a config back without the driver
    routing: bool = False  # restoring may disturb routing: wait for convergence after
    mgmt_interface: str = "mgmt0"
    all_full: bool = True  # every adjacency is Full (the lab); a recording also shows others
    replay: Replay | None = None  # a recorded session: its dialogue must be played to the end
    with_error: Callable[[str], str] | None = None  # running config -> a candidate the device refuses
    device_error: str = ""  # what the device says about it


def _frr_case(lab) -> DriverCase:
    node = "wuhu-wan1"
    t = lab.target(node)

    def running() -> str:
        out = lab.in_node(node, ["vtysh", "-c", "show running-config"]).stdout
        return out[out.index("frr version") :]

    def restore(config: str) -> None:
        d = lab.node_dir(node)
        path = d / "conformance-restore.conf"
        path.write_text(config)
        try:
            lab.in_node(node, ["/usr/lib/frr/frr-reload.py", "--reload", "--stdout", str(path)], timeout=120)
        finally:
            path.unlink()

    return DriverCase(
        id="frr",
        make=lambda: driver_for(t),
        expect_hostname=node,
        expect_ospf=True,
        route_probe=str(lab.plan.nodes["prov-wan1"].device.loopback),
        with_marker=lambda cfg: cfg.rstrip() + f"\ninterface lo\n description {MARK}\nexit\n!\n",
        has_marker=lambda cfg: MARK in cfg,
        out_of_band=running,
        restore=restore,
        routing=True,
    )


def _nft_case(lab) -> DriverCase:
    node = "dr-fw1"
    t = lab.target(node)

    def restore(config: str) -> None:
        lab.in_node(node, ["bash", "-c", f"nft -f - <<'EOF'\nflush ruleset\n{config}\nEOF"])

    return DriverCase(
        id="nftables",
        make=lambda: driver_for(t),
        expect_hostname=node,
        expect_ospf=True,  # the lab's firewalls run FRR to advertise their zones
        route_probe=str(lab.plan.nodes["prov-wan1"].device.loopback),
        with_marker=lambda cfg: f"{cfg.rstrip()}\ntable inet {MARK.replace('-', '_')} {{\n  chain c {{\n  }}\n}}\n",
        has_marker=lambda cfg: MARK.replace("-", "_") in cfg,
        out_of_band=lambda: lab.in_node(node, ["nft", "list", "ruleset"]).stdout,
        restore=restore,
    )


def _linux_case(lab) -> DriverCase:
    node = "prov-db1"
    return DriverCase(
        id="linux",
        make=lambda: driver_for(lab.target(node)),
        expect_hostname=node,
        expect_ospf=False,
        route_probe=str(lab.plan.nodes["prov-wan1"].device.loopback),
    )


LIVE = {"frr": _frr_case, "nftables": _nft_case, "linux": _linux_case}

CASES = [pytest.param(k, marks=pytest.mark.lab, id=k) for k in LIVE] + list(RECORDED)
CONFIG_CASES = [pytest.param(k, marks=pytest.mark.lab, id=k) for k in ("frr", "nftables")] + list(RECORDED)
LIVE_CONFIG_CASES = [pytest.param(k, marks=pytest.mark.lab, id=k) for k in ("frr", "nftables")]


def _make_case(request) -> DriverCase:
    if request.param in RECORDED:
        return recorded_case(DriverCase, request.param, request.node.originalname.removeprefix("test_"))
    return LIVE[request.param](request.getfixturevalue("lab"))


@pytest.fixture
def case(request):
    c = _make_case(request)
    yield c
    if c.replay:
        c.replay.finished()


@pytest.fixture
def changing(request):
    """A config case whose device is restored after the test, even when it fails."""
    c = _make_case(request)
    before = c.out_of_band()
    yield c, before
    if c.replay:
        c.replay.finished()  # a recorded device is restored by the next test's fresh replay
        return
    lab = request.getfixturevalue("lab")
    _cancel_timer(lab, c.expect_hostname)
    if c.out_of_band() != before:
        c.restore(before)
        assert c.out_of_band() == before, f"{c.id}: the lab node was not restored"
        if c.routing:
            from lab import health

            health.wait_converged(lab, timeout=120)


def _cancel_timer(lab, node: str) -> None:
    # A revert timer left by a failed test would change the node under the next test.
    home = lab.node_dir(node) / "home" / "jinbao" / ".jinbao"
    for f in ("pending", "confirming", "cancelling"):
        if (home / f).exists():
            pid = (home / f).read_text().strip()
            lab.in_node(node, ["sh", "-c", f"kill -TERM -- -{pid} 2>/dev/null; rm -f {home / f}"], check=False)


def _shape(value, typed_dict) -> None:
    """value has exactly the TypedDict's keys, each of its declared type."""
    hints = typing.get_type_hints(typed_dict)
    assert set(value) == set(hints), f"keys {sorted(value)} != {sorted(hints)}"
    for k, tp in hints.items():
        origin = typing.get_origin(tp) or tp
        assert isinstance(value[k], origin), f"{k}: {value[k]!r} is not {tp}"


# -- getters: every driver --------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, indirect=True)
def test_get_facts(case):
    with session(case.make()) as d:
        f = d.get_facts()
        _shape(f, base.Facts)
        assert f["hostname"] == case.expect_hostname
        assert f["uptime"] > 0 and case.mgmt_interface in f["interface_list"]


@pytest.mark.parametrize("case", CASES, indirect=True)
def test_get_interfaces(case):
    with session(case.make()) as d:
        ifs = d.get_interfaces()
        for i in ifs.values():
            _shape(i, base.Interface)
        mgmt = ifs[case.mgmt_interface]
        assert mgmt["is_up"] and any(a.startswith(d.target.host + "/") for a in mgmt["ipv4"])
        assert sorted(ifs) == d.get_facts()["interface_list"]


@pytest.mark.parametrize("case", CASES, indirect=True)
def test_get_ospf_neighbors(case):
    with session(case.make()) as d:
        ns = d.get_ospf_neighbors()
    for n in ns:
        _shape(n, base.OspfNeighbor)
    assert bool(ns) == case.expect_ospf
    if case.all_full:
        assert all(n["state"].startswith("Full") for n in ns)
    else:  # a recording also holds adjacencies on their way up, in one spelling for all platforms
        assert any(n["state"].startswith("Full/") for n in ns)
        assert {n["state"].split("/")[0] for n in ns} <= {"Init", "2-Way", "ExStart", "Exchange", "Loading", "Full"}


@pytest.mark.parametrize("case", CASES, indirect=True)
def test_get_route_to(case):
    with session(case.make()) as d:
        routes = d.get_route_to(case.route_probe)
    assert routes, f"no route to {case.route_probe}"
    for entries in routes.values():
        for e in entries:
            _shape(e, base.RouteEntry)
    assert any(e["current_active"] and e["outgoing_interface"] for es in routes.values() for e in es)


@pytest.mark.parametrize("case", CASES, indirect=True)
def test_get_config(case):
    with session(case.make()) as d:
        c = d.get_config()
    _shape(c, base.Configs)
    assert c["running"].strip() and c["candidate"] == ""


# -- config lifecycle: every driver that has one ------------------------------------------------------
def _load(d: base.Driver, case: DriverCase, before: str) -> str:
    assert case.with_marker
    candidate = case.with_marker(d.get_config("running")["running"])
    d.load_replace_candidate(config=candidate)
    return candidate


@pytest.mark.parametrize("changing", CONFIG_CASES, indirect=True)
def test_replace_compare_discard_commit_rollback(changing):
    case, before = changing
    with session(case.make()) as d:
        _load(d, case, before)
        diff = d.compare_config()
        assert case.has_marker(diff), diff  # compare shows the change before anything is applied
        assert case.out_of_band() == before
        sent = len(case.replay.sent) if case.replay else 0
        d.discard_config()
        assert d.compare_config() == "" and case.out_of_band() == before  # discard left the device as it was
        if case.replay:
            assert case.replay.sent[sent:] == []  # and sent the device nothing at all

        _load(d, case, before)
        d.commit_config()
        assert case.has_marker(case.out_of_band())  # commit applied it
        assert d.compare_config() == "" and not d.has_pending_commit()
        d.rollback()
    assert case.out_of_band() == before  # rollback restored it, read by another path


@pytest.mark.parametrize("changing", CONFIG_CASES, indirect=True)
def test_leaving_a_session_discards_its_candidate(changing):
    case, before = changing
    with pytest.raises(RuntimeError), session(case.make()) as d:
        _load(d, case, before)
        raise RuntimeError("the operator's code failed half-way")
    assert d._candidate is None and case.out_of_band() == before


@pytest.mark.parametrize("changing", CONFIG_CASES, indirect=True)
def test_a_refused_candidate_changes_nothing(changing):
    case, before = changing
    with session(case.make()) as d, pytest.raises(base.CandidateInvalid):
        d.load_replace_candidate(config="this is not a config {\n")
    assert case.out_of_band() == before


@pytest.mark.parametrize("changing", CONFIG_CASES, indirect=True)
def test_a_confirmed_commit_stays(changing):
    case, before = changing
    with session(case.make()) as d:
        _load(d, case, before)
        d.commit_config(revert_in=60)
        if case.replay:  # the platform's own timer, not one in jinbao
            assert TIMERS[case.id] in case.replay.sent, case.replay.sent
        assert d.has_pending_commit()
        with pytest.raises(base.CommitFailed, match="awaits confirmation"):
            _load(d, case, before)
            d.commit_config()
        d.discard_config()
        d.confirm_commit()
        assert not d.has_pending_commit()
        with pytest.raises(base.CommitFailed, match="no commit awaits"):
            d.confirm_commit()
    assert case.has_marker(case.out_of_band())


# revert_in=60 as each platform's safety net spells it (VRP counts seconds, the others minutes).
TIMERS = {
    "huawei_vrp": "commit trial 60",
    "h3c_comware": "configuration commit delay 1",
    "cisco_ios": "configure replace flash:jinbao-candidate.cfg force time 1",
}


@pytest.mark.parametrize("changing", list(RECORDED), indirect=True)
def test_a_device_error_during_commit_is_commit_failed(changing):
    case, before = changing
    assert case.with_error
    with session(case.make()) as d:
        d.load_replace_candidate(config=case.with_error(d.get_config("running")["running"]))
        with pytest.raises(base.CommitFailed) as e:
            d.commit_config(revert_in=60)
        assert case.device_error in str(e.value)  # the device's own words reach the caller
    assert case.out_of_band() == before  # and the device is left as it was


CHILD = textwrap.dedent(
    """
    import sys, time
    from jinbao.target import target
    from netconfig.drivers import driver_for
    d = driver_for(target(sys.argv[1], sys.argv[2]))
    d.open()
    running = d.get_config("running")["running"]
    d.load_replace_candidate(config=sys.stdin.read())
    d.commit_config(revert_in=int(sys.argv[3]))
    print("committed", flush=True)
    time.sleep(600)  # jinbao "hangs" here, holding its session, until it is killed
    """
)


@pytest.mark.parametrize("changing", LIVE_CONFIG_CASES, indirect=True)
def test_two_sessions_of_one_device_keep_their_own_candidates(changing):
    """Another operator's session on the same device (here: one whose candidate is refused and
    removed) never touches this session's candidate: it still compares and commits as loaded."""
    case, before = changing
    with session(case.make()) as a:
        _load(a, case, before)
        with session(case.make()) as b, pytest.raises(base.CandidateInvalid):
            b.load_replace_candidate(config="this is not a config {\n")
        assert case.has_marker(a.compare_config())
        a.commit_config()
        assert case.has_marker(case.out_of_band())
        a.rollback()
    assert case.out_of_band() == before


def test_a_route_lookup_refuses_anything_but_an_address_before_any_device():
    assert base.destination("10.90.0.1") == "10.90.0.1" and base.destination("10.90.0.0/16") == "10.90.0.0/16"
    for bad in ("10.90.20.2\nconfigure terminal", "not-an-ip", "10.0.0.1; reboot", ""):
        with pytest.raises(base.BadDestination):
            base.destination(bad)


@pytest.mark.parametrize("changing", LIVE_CONFIG_CASES, indirect=True)
def test_an_unconfirmed_commit_reverts_on_the_device_after_jinbao_is_killed(changing, lab):
    case, before = changing
    revert_in = 10
    with session(case.make()) as d:
        candidate = case.with_marker(d.get_config("running")["running"])
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, f"lab:{lab.id}", case.expect_hostname, str(revert_in)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        child.stdin.write(candidate)
        child.stdin.close()
        assert child.stdout.readline().strip() == "committed"
        t_commit = time.monotonic()
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    with session(case.make()) as d:  # log in again: the change is live and its timer pending
        assert case.has_marker(d.get_config("running")["running"])
        assert d.has_pending_commit()
    deadline = t_commit + revert_in + 30
    while case.has_marker(case.out_of_band()):
        assert time.monotonic() < deadline, f"{case.id}: not reverted {revert_in + 30}s after an unconfirmed commit"
        time.sleep(0.5)
    took = time.monotonic() - t_commit
    assert took >= revert_in - 1, f"reverted after {took:.1f}s, before its timer ran out"
    with session(case.make()) as d:  # and by logging in again: the old config is back
        assert not d.has_pending_commit()
        after = d.get_config("running")["running"]
    assert not case.has_marker(after)
    assert case.out_of_band() == before
    print(f"{case.id}: reverted on the device {took:.1f}s after the commit (timer {revert_in}s)")


# -- what is decided before any device is touched --------------------------------------------------------
def test_unsupported_is_known_before_connecting():
    with pytest.raises(base.NotSupported, match="no config lifecycle"):
        config_driver_for(Target("db1", "linux", "192.0.2.1", "jinbao"))
    with pytest.raises(base.NotSupported, match="no driver for platform 'junos'"):
        driver_for(Target("sw1", "junos", "192.0.2.2", "jinbao"))
    for platform in ("frr", "huawei_vrp", "h3c_comware", "cisco_ios"):
        assert isinstance(config_driver_for(Target("r1", platform, "192.0.2.3", "jinbao")), base.ConfigLifecycle)


def test_napalm_finds_the_frr_driver_from_a_plain_shell(tmp_path):
    code = "import napalm; d = napalm.get_network_driver('frr'); print(d.__module__, d.__name__)"
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert r.stdout.split() == ["napalm_frr.frr", "FRRDriver"], r.stderr


def test_every_error_derives_from_the_one_root():
    from jinbao.errors import JinbaoError

    for e in (base.ConnectionFailed, base.NotSupported, base.CandidateInvalid, base.CommitFailed):
        assert issubclass(e, base.DriverError) and issubclass(e, JinbaoError)


def test_frr_reload_report_without_its_log_lines():
    from napalm_frr.frr import reload_diff

    out = (
        "2026-01-01 10:00:00,000  INFO: Called via ...\n"
        "vtysh_pam: Failed in account validation\n"
        "\nLines To Delete\n===============\nno hostname old\n\nLines To Add\n============\nhostname new\n"
    )
    assert (
        reload_diff(out)
        == "Lines To Delete\n===============\nno hostname old\nLines To Add\n============\nhostname new\n"
    )
    assert reload_diff("2026-01-01 10:00:00,000  INFO: Loading Config object\n") == ""


def test_an_nftables_replace_starts_from_an_empty_ruleset():
    from netconfig.drivers.nftables import NftablesDriver

    d = NftablesDriver(Target("fw", "nftables", "192.0.2.1", "jinbao"))
    assert d._prepare("table inet t {\n}\n", "replace").startswith("flush ruleset\n")
    assert d._prepare("flush ruleset\ntable inet t {\n}\n", "replace").count("flush ruleset") == 1
    assert "flush" not in d._prepare("add rule inet t c accept\n", "merge")
