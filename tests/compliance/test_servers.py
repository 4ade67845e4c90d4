"""The servers' evidence: `jinbao verify`'s kept testinfra results, judged per host and per check.

A recorded run (tests/compliance/verify/lab-run.json, in the shape jinbao/verify.py's record()
writes) has one failed check; a real testinfra run of a role's suite (against this machine's own
files, read-only, over testinfra's local backend: no lab) goes through verify's JUnit reader and
record() to the audit, and every failed check comes out as a finding on its rule.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from compliance.registry import registry
from compliance.sources import inventory, servers
from jinbao import verify
from tests.support import REPO, run_cli

REG = registry()
RECORDED = Path(__file__).parent / "verify" / "lab-run.json"
SOURCE = "lab:jb7"


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("JINBAO_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def _keep(body: dict, at: dt.datetime, source: str = SOURCE) -> Path:
    """The recorded run as verify would have kept it at `at`."""
    d = verify.results_dir(source)
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{at:%Y%m%dT%H%M%S%f}.json"
    path.write_text(json.dumps({**body, "at": at.isoformat(timespec="seconds")}))
    return path


def _lab():
    return inventory.load("lab")[0]


def test_no_verify_results_is_no_evidence_not_conforms(state):
    vs, said = servers.evaluate(_lab(), REG.of("servers"), SOURCE)
    assert len(vs) == len(REG.of("servers")) and {v.status for v in vs} == {"no_evidence"}
    assert "no `jinbao verify` results" in said and "run `jinbao verify`" in vs[0].note
    # a damaged file is skipped and named, never read as a clean run
    verify.results_dir(SOURCE).mkdir(parents=True)
    (verify.results_dir(SOURCE) / "20261130T000000000000.json").write_text('{"at": "2026-11-30T00:00:00+00:00"')
    vs, said = servers.evaluate(_lab(), REG.of("servers"), SOURCE)
    assert {v.status for v in vs} == {"no_evidence"} and "unreadable, skipped: 20261130T000000000000.json" in said


@pytest.mark.parametrize(
    "planted",
    [
        {"at": "2026-11-30T00:00:00", "hosts": {}},  # no zone: cannot be ordered against the others
        {"at": "2026-11-30T00:00:00+00:00", "hosts": {"prov-db1": "oops"}},
        {"at": "2026-11-30T00:00:00+00:00", "hosts": ["prov-db1"]},
        [],
    ],
    ids=["naive time", "host not a mapping", "hosts a list", "a list"],
)
def test_a_kept_run_of_the_wrong_shape_is_named_and_the_good_ones_still_count(state, planted):
    good = _keep(json.loads(RECORDED.read_text()), dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    (good.parent / "20261130T000000000000.json").write_text(json.dumps(planted))
    vs, said = servers.evaluate(_lab(), REG.of("servers"), SOURCE)
    assert "unreadable, skipped: 20261130T000000000000.json" in said
    assert [(v.rule, v.subject) for v in vs if v.status == "finding"] == [("SRV-IDENTITY", "prov-db1")]


def test_a_failed_check_in_a_kept_run_is_exactly_one_finding_with_its_clause_host_and_check(state):
    now = dt.datetime.now(dt.UTC)
    path = _keep(json.loads(RECORDED.read_text()), now - dt.timedelta(days=1))
    vs, said = servers.evaluate(_lab(), REG.of("servers"), SOURCE)
    findings = [(v, f) for v in vs for f in v.findings]
    assert len(findings) == 1, findings
    [(v, f)] = findings
    assert (v.rule, REG.rule(v.rule).clause, v.subject, v.site, v.status) == (
        "SRV-IDENTITY",
        "8.1.4.1",
        "prov-db1",
        "prov",
        "finding",
    )
    assert f.ref == "prov-db1: ssh_hardening: test_password_authentication_is_off"
    assert f.file == str(path) and f.text == "AssertionError: assert 'yes' == 'no'"
    got = {(v.rule, v.subject): v.status for v in vs}
    assert got[("SRV-ACCESS-CONTROL", "prov-db1")] == "conforms"  # root login check passed
    assert got[("SRV-AUDIT", "prov-db1")] == "conforms"  # one passed, one skipped
    assert got[("SRV-HOST-FIREWALL", "prov-app1")] == "conforms"
    assert got[("SRV-IDENTITY", "prov-app1")] == "conforms"
    # the lab's other servers were not in the run: no evidence for them, named
    missing = [v for v in vs if v.rule == "SRV-IDENTITY" and v.status == "no_evidence"]
    assert len(missing) == 1 and "dr-db1" in missing[0].note and "prov-mon1" in missing[0].note
    assert "check(s) map to no rule (e.g. common: test_banner_is_shown_after_login)" in said


def test_the_newest_outcome_of_each_check_counts_and_an_old_run_is_said_to_be_old(state):
    now = dt.datetime.now(dt.UTC)
    body = json.loads(RECORDED.read_text())
    _keep(body, now - dt.timedelta(days=45))
    got = {(v.rule, v.subject): v for v in servers.evaluate(_lab(), REG.of("servers"), SOURCE)[0]}
    v = got[("SRV-IDENTITY", "prov-db1")]
    assert v.status == "no_evidence" and not v.findings
    assert "older than the audit window of 30 days" in v.note
    assert "then failing: ssh_hardening: test_password_authentication_is_off" in v.note
    # a later `verify --host prov-db1 --role ssh_hardening` run that passes replaces only what it ran
    fixed = {"prov-db1": {"ssh_hardening: test_password_authentication_is_off": {"outcome": "passed"}}}
    _keep({**body, "hosts": fixed}, now - dt.timedelta(hours=1))
    got = {(v.rule, v.subject): v for v in servers.evaluate(_lab(), REG.of("servers"), SOURCE)[0]}
    assert got[("SRV-IDENTITY", "prov-db1")].status == "conforms"
    # the other checks of prov-db1 are only in the old run: still no evidence, not conforms
    assert got[("SRV-AUDIT", "prov-db1")].status == "no_evidence"


def test_a_real_testinfra_run_round_trips_through_verify_to_the_audit(state, tmp_path):
    """os_hardening's suite over testinfra's local backend reads this machine's files (nothing is
    changed); whatever passes or fails here, each failure is a finding of the rule for it."""
    report = tmp_path / "testinfra.xml"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(REPO / "roles/os_hardening/tests"),
            "-p",
            "no:cacheprovider",
            "-q",
            "--rootdir",
            str(REPO),
            "--hosts=local://",
            f"--junitxml={report}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert r.returncode in (0, 1) and report.is_file(), r.stdout[-2000:] + r.stderr[-2000:]
    cases = list(ET.parse(report).getroot().iter("testcase"))
    checks, why = verify.read_junit(report, {"local": "prov-app1"})
    labels = checks["prov-app1"]
    # every case is kept, the parametrized ones with their parameter (pytest puts the host first)
    assert len(labels) == len(cases) > 10
    assert "os_hardening: test_network_sysctl_is_in_force[net.ipv4.ip_forward]" in labels
    failed = {k for k, o in labels.items() if o in ("failed", "error")}
    assert set(why["prov-app1"]) == failed
    kept = verify.record("lab:local", "lab", checks, why, [REPO / "roles/os_hardening/tests"])
    assert json.loads(kept.read_text())["hosts"]["prov-app1"].keys() == labels.keys()
    vs, _ = servers.evaluate(_lab(), REG.of("servers"), "lab:local")
    found = {f.ref.split(": ", 1)[1] for v in vs if v.subject == "prov-app1" for f in v.findings}
    mapped = {k for k in failed if any(rule.field.search(k) for rule in REG.of("servers"))}
    assert found == mapped
    assert all(f.file == str(kept) for v in vs for f in v.findings)
    judged = {v.rule for v in vs if v.subject == "prov-app1"}
    assert {"SRV-IDENTITY", "SRV-ACCESS-CONTROL", "SRV-INTRUSION"} <= judged  # os_hardening's rules


def test_audit_run_and_report_carry_the_server_finding(state, tmp_path):
    _keep(json.loads(RECORDED.read_text()), dt.datetime.now(dt.UTC) - dt.timedelta(hours=2), "lab:jb7")
    args = ("--estate", "lab", "audit", "run", "--lab", "jb7", "--no-monitoring", "--pki-dir", str(tmp_path / "noca"))
    r = run_cli(*args, "--json")
    assert r.returncode == 1, r.stderr
    body = json.loads(r.stdout)
    [v] = [v for v in body["verdicts"] if v["rule"].startswith("SRV-") and v["status"] == "finding"]
    assert v["subject"] == "prov-db1" and "1 `jinbao verify` run(s)" in body["sources"]["servers"]
    out = tmp_path / "report"
    rep = run_cli("audit", "report", "--out", str(out), "--no-pdf")
    assert rep.returncode == 0, rep.stderr
    rows = [x for x in csv.DictReader((out / "findings.csv").open(encoding="utf-8-sig")) if x["rule"] == "SRV-IDENTITY"]
    assert [(x["clause"], x["subject"], x["ref"]) for x in rows] == [
        ("8.1.4.1", "prov-db1", "prov-db1: ssh_hardening: test_password_authentication_is_off")
    ]
    assert "test_password_authentication_is_off" in (out / "report.html").read_text()
