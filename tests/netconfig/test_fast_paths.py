"""The shortcuts apply takes for speed, proven against the lab's real FRR and sshd.

- The FRR driver runs `frr-reload.py --test` once per candidate: the check's report is the diff
  `compare_config` returns. It must be exactly frr-reload's own diff, survive the report being
  removed under it, and leave no report behind.
- `statecheck.Readers` keeps one read session per router across an apply's state reads: a kept
  session that died is replaced by a fresh login, never taken for a router that stopped answering.
"""

from __future__ import annotations

import dataclasses

import pytest

from netconfig import statecheck
from netconfig.drivers import base, driver_for, session
from netconfig.napalm_frr.frr import RELOAD, reload_diff

pytestmark = pytest.mark.lab

NODE = "wuhu-wan1"
MARK = "jinbao-fast-path-test"


def _reports(lab) -> list[str]:
    home = lab.node_dir(NODE) / "home" / "jinbao" / ".jinbao"
    return sorted(p.name for p in home.glob("candidate.*")) if home.exists() else []


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
