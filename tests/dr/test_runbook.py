"""Runbooks without a lab: the shipped drills load and plan; mistakes are named with file, line
and fix; a run against a production estate is refused before anything is touched."""

from __future__ import annotations

import pytest

from dr import runbook
from tests.support import run_cli


@pytest.mark.parametrize("drill", ["switchover", "switchover-frozen", "failover", "stop-node", "isolate-province"])
def test_shipped_drills_load_and_plan_in_order(drill, lab_estate):
    rb = runbook.load(runbook.find(drill))
    assert rb.steps[0].action == "precheck"
    assert [s for s in rb.steps if s.fault], "a drill has a fault step"
    lines = runbook.plan_lines(rb, runbook.against(rb, lab_estate))
    assert len(lines) == len(rb.steps) + 3
    body = "\n".join(lines)
    # the fault lands on the inventory's primary, the promotion on its standby, in that order
    fault = next(l for l in lines if "the fault" in l)
    assert "prov-db1" in fault
    promote = next(i for i, l in enumerate(lines) if "[promote standby" in l)
    assert lines.index(fault) < promote and "dr-db1" in lines[promote]
    assert "dr-fw1 advertises it with the primary metric, prov-fw1 with the standby metric" in body


def test_plan_cli_prints_the_steps_with_their_devices():
    r = run_cli("--estate", "lab", "dr", "plan", "failover")
    assert r.returncode == 0, r.stderr
    assert "kill -9 the postmaster of prov-db1" in r.stdout
    assert "witness on hefei-wan2" in r.stdout
    assert "rebuild prov-db1 as a streaming standby of dr-db1" in r.stdout


BAD = """\
drill: broken
kind: switchover
pair: core-db
canary: {node: hefei-wan1}
steps:
  - {name: precheck, action: precheck, budget: 10s}
  - {name: stop, action: stop_db, budget: 5s}
  - {name: promote, action: promot, side: standby, budget: 5s}
  - {name: route, action: route, side: standby, budget: soon}
  - {name: verify, action: verify, budget: 5s, checks: [rpo_none], fault: true}
"""


def test_a_broken_runbook_names_every_problem_with_file_line_and_fix(tmp_path):
    f = tmp_path / "broken.yml"
    f.write_text(BAD)
    with pytest.raises(runbook.RunbookError) as e:
        runbook.load(f)
    got = {(p.origin.line, p.field): p for p in e.value.problems}
    assert (7, "steps[1].side") in got and "side: primary" in got[7, "steps[1].side"].fix
    assert (8, "steps[2].action") in got and "promote" in got[8, "steps[2].action"].fix
    assert (9, "steps[3].budget") in got and "10s" in got[9, "steps[3].budget"].fix
    assert (10, "steps[4].checks") in got and (10, "steps[4].fault") in got
    assert len(e.value.problems) == 5
    r = run_cli("--estate", "lab", "dr", "plan", str(f))
    assert r.returncode == 2
    assert f"{f}:8" in r.stderr and "fix:" in r.stderr


def test_a_witness_inside_a_site_of_the_pair_is_refused(tmp_path, lab_estate):
    f = tmp_path / "inside.yml"
    f.write_text(runbook.find("failover").read_text().replace("node: hefei-wan2", "node: prov-wan2"))
    rb = runbook.load(f)
    with pytest.raises(Exception, match="inside a site of pair core-db"):
        runbook.against(rb, lab_estate)


def test_a_run_against_production_is_refused_without_confirm():
    r = run_cli("--estate", "province", "dr", "run", "switchover")
    assert r.returncode == 2
    assert "--confirm province" in r.stderr and "nothing was touched" in r.stderr
    r = run_cli("--estate", "province", "dr", "run", "switchover", "--confirm", "lab")
    assert r.returncode == 2 and "--confirm province" in r.stderr


def test_the_cut_link_drill_names_the_link_and_promotes_only_with_the_witness(lab_estate):
    rb = runbook.load(runbook.find("cut-link"))
    lines = runbook.plan_lines(rb, runbook.against(rb, lab_estate))
    fault = next(l for l in lines if "the fault" in l)
    assert "prov-wan1—dr-wan1" in fault
    decide = next(i for i, l in enumerate(lines) if "[arbitrate standby" in l)
    promote = next(i for i, l in enumerate(lines) if "[promote standby" in l)
    assert decide < promote and "only if the witness decided promote" in lines[promote]
    assert all(s.when for s in rb.steps[decide:] if s.action in ("promote", "fence", "route"))


def test_when_without_an_arbitrate_step_is_named(tmp_path):
    f = tmp_path / "when.yml"
    f.write_text(
        "drill: w\nkind: failover\npair: core-db\ncanary: {node: hefei-wan1}\nsteps:\n"
        "  - {name: precheck, action: precheck, budget: 30s}\n"
        "  - {name: p, action: promote, side: standby, when: promote, budget: 10s}\n"
        "  - {name: q, action: heal, when: maybe, budget: 10s}\n"
    )
    with pytest.raises(runbook.RunbookError) as e:
        runbook.load(f)
    text = str(e.value)
    assert "when.yml:7" in text and "needs an arbitrate step" in text
    assert "when.yml:8" in text and "unknown when 'maybe'" in text
