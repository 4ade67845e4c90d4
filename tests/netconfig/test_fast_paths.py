"""The shortcuts apply takes for speed, proven against the lab's real FRR and sshd.

- The FRR driver runs `frr-reload.py --test` once per candidate: the check's report is the diff
  `compare_config` returns. It must be exactly frr-reload's own diff, survive the report being
  removed under it, and leave no report behind.
- `statecheck.Readers` keeps one read session per router across an apply's state reads: a kept
  session that died is replaced by a fresh login, never taken for a router that stopped answering.
"""

from __future__ import annotations

import dataclasses
import sys
import time

import pytest

from netconfig import statecheck
from netconfig.drivers import base, driver_for, session
from netconfig.napalm_frr import delta
from netconfig.napalm_frr.frr import RELOAD, reload_diff

NODE = "wuhu-wan1"
MARK = "jinbao-fast-path-test"


def _reports(lab) -> list[str]:
    home = lab.node_dir(NODE) / "home" / "jinbao" / ".jinbao"
    return sorted(p.name for p in home.glob("candidate.*")) if home.exists() else []


@pytest.mark.lab
def test_frr_compare_is_frr_reloads_own_diff_from_one_run(lab):
    with session(driver_for(lab.target(NODE))) as d:
        running = d.get_config("running")["running"]
        d.load_replace_candidate(config=running.rstrip() + f"\ninterface lo\n description {MARK}\nexit\n!\n")
        diff = d.compare_config()
        assert MARK in diff and "Lines To Add" in diff, diff
        # frr-reload asked afresh about the same candidate says the same thing
        fresh = d.sh.run(d._script(RELOAD + f" --test {d.candidate_file} 2>&1")).out
        assert diff == d.masked(reload_diff(fresh))
        # the report gone (someone cleaned the state folder): compare asks frr-reload again
        d.sh.check(d._script(f"rm -f {d.candidate_file}.diff"))
        assert d.compare_config() == diff
        d.discard_config()
        assert d.compare_config() == ""
    assert _reports(lab) == []  # neither candidate nor report is left on the router
    with session(driver_for(lab.target(NODE))) as d, pytest.raises(base.CandidateInvalid) as refused:
        d.load_replace_candidate(config="router ospf\n this is not a command\n")
    assert "this is not a command" in str(refused.value), refused.value  # frr-reload's complaint, kept
    assert _reports(lab) == []  # a refused candidate leaves no report either


@pytest.mark.lab
def test_readers_keep_a_session_and_replace_a_dead_one(lab):
    to = statecheck.lookups(lab.plan.estate)
    t = lab.target(NODE)
    readers = statecheck.Readers()
    try:
        first = readers.read(t, to)
        kept = readers._open[NODE]
        assert readers.read(t, to) == first and readers._open[NODE] is kept  # no second login
        kept.sh._client.close()  # type: ignore[attr-defined]  # the session dies under the reader
        assert readers.read(t, to) == first  # a fresh login, not "did not answer"
        assert readers._open[NODE] is not kept
        # a router that does not answer still fails the read, and no session is kept for it
        gone = dataclasses.replace(lab.target("prov-wan2"), port=1)
        with pytest.raises(base.ConnectionFailed):
            readers.read(gone, to)
        assert "prov-wan2" not in readers._open
    finally:
        readers.close()
    assert readers._open == {}
    assert first.adjacencies and first.interfaces and first.routes  # it read a real router's state


class _Getters:
    """The FRR driver seen as any other driver: its getters, without the one-round-trip read."""

    def __init__(self, d) -> None:
        self.get_ospf_neighbors, self.get_route_to, self.get_interfaces = (
            d.get_ospf_neighbors,
            d.get_route_to,
            d.get_interfaces,
        )


@pytest.mark.lab
def test_frrs_one_round_trip_state_read_is_what_the_getters_say(lab):
    to = statecheck.lookups(lab.plan.estate)
    with session(driver_for(lab.target(NODE))) as d:
        nbrs, table, up = d.get_routing_state()  # type: ignore[attr-defined]
        assert nbrs == d.get_ospf_neighbors() and nbrs
        assert up == {n for n, i in d.get_interfaces().items() if i["is_up"]} and "lo" in up
        assert set(table) == set(d.get_route_to("0.0.0.0/0", longer=True))
        assert statecheck._read(d, to) == statecheck._read(_Getters(d), to)


# -- the quick commit of a diff that only adds (netconfig/napalm_frr/delta.py) -----------------------
REPORT = """2026-11-30 22:00:00,000  INFO: Called via "Namespace(...)"
Lines To Delete
===============
interface eth1
 no description old text here
Lines To Add
============
interface eth1
 description CT-1 old text here
ip route 10.251.0.0/24 Null0
"""


def test_only_a_diff_that_adds_or_replaces_descriptions_takes_the_quick_way():
    assert delta.only_adds(REPORT) == "interface eth1\n description CT-1 old text here\nip route 10.251.0.0/24 Null0\n"
    other_delete = REPORT.replace(" no description old text here", " no ip ospf cost 10")
    assert delta.only_adds(other_delete) is None  # any other delete: frr-reload does it
    other_iface = REPORT.replace("interface eth1\n no", "interface eth2\n no")
    assert delta.only_adds(other_iface) is None  # a description removed where none replaces it
    assert delta.only_adds("Lines To Delete\n===============\nno ip route 10.9.0.0/24 Null0\n") is None
    assert delta.only_adds("") is None


def _running(lab) -> str:
    out = lab.in_node(NODE, ["vtysh", "-c", "show running-config"]).stdout
    return out[out.index("frr version") :]


@pytest.fixture
def restored(lab):
    """NODE's running config before the test; put back (timer cancelled) even if the test fails."""
    from .test_drivers import _cancel_timer

    before = _running(lab)
    yield before
    _cancel_timer(lab, NODE)
    if _running(lab) != before:
        path = lab.node_dir(NODE) / "fast-path-restore.conf"
        path.write_text(before)
        try:
            lab.in_node(NODE, ["/usr/lib/frr/frr-reload.py", "--reload", "--stdout", str(path)], timeout=120)
        finally:
            path.unlink()
        assert _running(lab) == before


def _apply_log(d) -> str:
    return d.sh.run(d._script("cat apply.log")).out


def _changed(running: str) -> str:
    return running.replace(" description ", " description CT-FAST ", 2).rstrip() + "\nip route 10.251.0.0/24 Null0\n"


@pytest.mark.lab
def test_an_adding_commit_takes_the_quick_way_and_its_timer_still_reverts_it(lab, restored):
    with session(driver_for(lab.target(NODE))) as d:
        d.load_replace_candidate(config=_changed(restored))
        assert "no description" in d.compare_config()  # descriptions replaced: deletes the quick way covers
        d.commit_config(revert_in=5)
        assert "frr-reload applies it all" not in _apply_log(d)  # the quick way held
        now = _running(lab)
        assert "ip route 10.251.0.0/24 Null0" in now and " description CT-FAST " in now
        d.load_replace_candidate(config=_changed(restored))
        assert d.compare_config() == ""  # the node runs exactly the candidate, says frr-reload
        d.discard_config()
        assert d.has_pending_commit()
    deadline = time.monotonic() + 90
    while _running(lab) != restored:  # the on-node timer restores the old config with frr-reload
        assert time.monotonic() < deadline, "the revert timer did not restore the config after a quick commit"
        time.sleep(0.5)


@pytest.mark.lab
def test_a_removal_goes_through_frr_reload(lab, restored):
    line = next(ln for ln in restored.splitlines() if ln.startswith(" description "))
    with session(driver_for(lab.target(NODE))) as d:
        d.load_replace_candidate(config=restored.replace(line + "\n", "", 1))
        assert "no description" in d.compare_config()
        d.commit_config()
        assert line not in _running(lab).splitlines()
        d.rollback()
    assert _running(lab) == restored


@pytest.mark.lab
def test_a_quick_commit_that_leaves_a_difference_is_finished_by_frr_reload(lab, restored, monkeypatch):
    # The quick lines miss the descriptions (as if the report were stale): the check afterwards
    # must see them missing and have frr-reload apply the whole candidate.
    with session(driver_for(lab.target(NODE))) as d:
        # the module the driver was loaded from: napalm imports it as napalm_frr.frr
        monkeypatch.setattr(sys.modules[type(d).__module__], "only_adds", lambda r: "ip route 10.251.0.0/24 Null0\n")
        d.load_replace_candidate(config=_changed(restored))
        d.commit_config()
        assert "frr-reload applies it all" in _apply_log(d)
        d.load_replace_candidate(config=_changed(restored))
        assert d.compare_config() == ""
        d.discard_config()
        d.rollback()
    assert _running(lab) == restored


# -- an apply's plan and commit share one session and one candidate -----------------------------
@pytest.mark.lab
def test_the_commit_uses_the_plans_session_and_candidate_and_refuses_a_router_changed_since(lab, restored, monkeypatch):
    from jinbao.errors import JinbaoError
    from netconfig import apply, plan

    est, t, config = lab.plan.estate, lab.target(NODE), _changed(restored)
    kept = statecheck.Readers()
    try:
        planned = plan.plan_device(t, est, config={NODE: config}, kept=kept)
        assert "CT-FAST" in planned.diff and NODE in kept.planned and len(_reports(lab)) >= 2  # candidate + report
        d = kept._open[NODE]
        monkeypatch.setattr(
            d, "load_replace_candidate", lambda **kw: pytest.fail("the plan's candidate was loaded again")
        )
        apply.commit(t, est, 60, planned={NODE: planned.diff}, wanted={NODE: config}, kept=kept)
        assert kept._open[NODE] is d and d.has_pending_commit()  # the same session, kept for the polls
        now = _running(lab)
        assert "ip route 10.251.0.0/24 Null0" in now and " description CT-FAST " in now
        d.rollback()
    finally:
        kept.close()
    assert _running(lab) == restored and _reports(lab) == []

    kept = statecheck.Readers()
    try:
        planned = plan.plan_device(t, est, config={NODE: config}, kept=kept)
        lab.in_node(NODE, ["vtysh", "-c", "configure terminal", "-c", "interface lo", "-c", f"description {MARK}"])
        with pytest.raises(JinbaoError, match="changed since the plan"):
            apply.commit(t, est, 60, planned={NODE: planned.diff}, wanted={NODE: config}, kept=kept)
        assert NODE not in kept._open  # the session went with its refused candidate
    finally:
        kept.close()
    now = _running(lab)
    assert MARK in now and "CT-FAST" not in now and _reports(lab) == []  # nothing committed, nothing left
