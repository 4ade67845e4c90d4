"""Secrets in evidence jinbao did not write (kept `jinbao verify` runs, drill reports) never reach a
kept audit run or any report format, and a message cannot become a spreadsheet formula.

The secrets are planted where real ones arrive: testinfra's failure message quoting the snmpd.conf
line it read (as a Python repr), a check label carrying pytest's parameter, a drill report's
fields. The run and report go through the real CLI; the PDF through WeasyPrint and pdftotext when
this machine has them.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
import subprocess

import pytest

from compliance import keptruns, report, scrub
from compliance.registry import registry
from compliance.sources import dr, inventory
from jinbao import verify
from jinbao.redact import redact
from jinbao.state import state_dir
from tests.support import run_cli

REG = registry()
SECRETS = ("s3cretComm4udit", "Vrp-Trap-Secret9", "Drill-Pass-77x", "Label-Key-5521")
# testinfra's message for `assert line not in snmpd_conf`: the config quoted as a repr, one line of
# it a community; a second failing check quotes a VRP trap target.
MESSAGES = {
    "snmpd: test_no_community_is_configured[rocommunity -V all s3cretComm4udit]": (
        "AssertionError: assert 'rocommunity -V all s3cretComm4udit 10.0.0.0/8' not in "
        "'agentAddress udp:10.91.0.2:161\\nrocommunity -V all s3cretComm4udit 10.0.0.0/8\\nsysName x\\n'"
    ),
    "ssh_hardening: test_password_authentication_is_off": (
        "AssertionError: snmp-agent target-host trap address udp-domain 10.0.0.1 params securityname "
        "Vrp-Trap-Secret9 v2c; bindpw Label-Key-5521"
    ),
    "ssh_hardening: test_root_cannot_log_in": '=HYPERLINK("http://evil.example/x","click")',
}


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("JINBAO_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def _keep_verify_run(source: str = "lab:jb7") -> None:
    at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    d = verify.results_dir(source)
    d.mkdir(parents=True, exist_ok=True)
    checks = {label: {"outcome": "failed", "message": m} for label, m in MESSAGES.items()}
    body = {"format": 1, "at": at.isoformat(timespec="seconds"), "source": source, "hosts": {"prov-db1": checks}}
    (d / f"{at:%Y%m%dT%H%M%S%f}.json").write_text(json.dumps(body))


def _keep_drill(pair: str = "core-db") -> None:
    d = state_dir("drills") / "d-secret"
    d.mkdir(parents=True)
    body = {
        "run_id": "d-secret password Drill-Pass-77x",
        "drill": "switchover",
        "pair": pair,
        "started": (dt.datetime.now(dt.UTC) - dt.timedelta(days=2)).timestamp(),
        "verdict": "fail: createUser dr SHA Drill-Pass-77x",
    }
    (d / "report.json").write_text(json.dumps(body))


def _leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def test_a_drill_report_s_fields_are_redacted_in_its_verdict(state):
    _keep_drill()
    [v] = dr.evaluate(inventory.load("lab")[0], REG.of("dr"))[0]
    assert v.status == "finding" and "verdict is fail" in v.findings[0].message
    assert not _leaks(json.dumps(v.as_dict())), v.as_dict()
    assert "d-secret password <redacted>" in v.findings[0].ref


def test_verify_and_drill_secrets_reach_no_run_and_no_report_format(state, tmp_path):
    _keep_verify_run()
    _keep_drill()
    args = ("--estate", "lab", "audit", "run", "--lab", "jb7", "--no-monitoring", "--pki-dir", str(tmp_path / "noca"))
    r = run_cli(*args, "--json")
    assert r.returncode == 1, r.stderr
    assert not _leaks(r.stdout + r.stderr)
    body = json.loads(r.stdout)
    kept = (state / "compliance" / "runs").glob("*.json")
    [run_file] = list(kept)
    assert not _leaks(run_file.read_text())
    # the finding is still there, its evidence masked, not dropped
    texts = [f.get("text", "") for v in body["verdicts"] for f in v["findings"] if v["subject"] == "prov-db1"]
    assert any("rocommunity -V all <redacted>" in t for t in texts), texts
    assert any("securityname <redacted> v2c" in t for t in texts), texts
    # the human table too
    assert not _leaks(run_cli(*args).stdout)

    out = tmp_path / "report"
    pdf = shutil.which("weasyprint") is not None and shutil.which("pdftotext") is not None
    rep = run_cli("audit", "report", "--out", str(out), *(() if pdf else ("--no-pdf",)))
    assert rep.returncode == 0, rep.stderr
    for name in ("report.json", "findings.csv", "report.html"):
        assert not _leaks((out / name).read_text(encoding="utf-8-sig")), name
    if pdf:
        assert (out / "report.pdf").is_file(), rep.stdout
        text = subprocess.run(["pdftotext", str(out / "report.pdf"), "-"], capture_output=True, text=True).stdout
        assert "prov-db1" in text and not _leaks(text)

    # the formula from the verify message is text in the CSV, and only there escaped
    rows = list(csv.DictReader((out / "findings.csv").open(encoding="utf-8-sig")))
    [hyper] = [x for x in rows if "HYPERLINK" in x["evidence"]]
    assert hyper["evidence"] == "'" + MESSAGES["ssh_hardening: test_root_cannot_log_in"]
    assert not [x for x in rows for c in x.values() if c and c[0] in "=+-@\t\r"]
    report_json = json.loads((out / "report.json").read_text())
    assert any(f["evidence"].startswith("=HYPERLINK") for f in report_json["findings"])


def test_a_run_kept_before_redaction_is_redacted_when_reported(state, tmp_path):
    """A run kept by an older jinbao (or edited by hand) carries the secret: the report must not."""
    runs = state / "compliance" / "runs"
    runs.mkdir(parents=True)
    community_rule = "no line like /^snmp-server community /"
    body = {
        "estate": "lab",
        "site": None,
        "at": "2026-11-30T00:00:00+00:00",
        "sources": {"servers": "1 run; 1 check(s) map to no rule (e.g. x[bindpw Label-Key-5521])"},
        "verdicts": [
            {
                "rule": "SRV-IDENTITY",
                "subject": "prov-db1",
                "status": "finding",
                "findings": [
                    {"message": "testinfra check failed", "text": "rocommunity s3cretComm4udit", "ref": "prov-db1: x"}
                ],
            },
            {
                "rule": "DEV-SNMP-COMMUNITY",
                "subject": "r1.txt",
                "status": "finding",
                "findings": [
                    {
                        "message": community_rule,
                        "file": "r1.txt",
                        "line": 3,
                        "text": "snmp-server community Vrp-Trap-Secret9 RO",
                    }
                ],
            },
        ],
    }
    run_file = runs / "20261130T000000000000.json"
    run_file.write_text(json.dumps(body))
    out = tmp_path / "report"
    report.write(keptruns.read(run_file), None, out, pdf=False)
    for name in ("report.json", "findings.csv", "report.html"):
        text = (out / name).read_text(encoding="utf-8-sig")
        assert not _leaks(text), name
        # jinbao's own text, quoting the rule's pattern, is not garbled by redaction
        assert community_rule in text, name


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("plain text", "plain text"),
        (3, 3),
        ("", ""),
    ],
)
def test_a_csv_cell_never_starts_a_formula(value, shown):
    assert report.cell(value) == shown


def test_kept_verdicts_of_device_rules_keep_their_message():
    v = {
        "rule": "DEV-SNMP-COMMUNITY",
        "subject": "r1",
        "status": "finding",
        "findings": [{"message": "no line like /^snmp-server community /", "text": "snmp-server community c0mm RO"}],
    }
    [got] = scrub.kept(REG, [v])
    assert got["findings"][0] == {
        "message": "no line like /^snmp-server community /",
        "text": "snmp-server community <redacted> RO",
    }


def test_a_check_label_s_parameter_is_redacted_when_verify_reads_it(tmp_path):
    cls = "roles.snmpd.tests.test_snmpd"
    (tmp_path / "r.xml").write_text(
        "<testsuites><testsuite>"
        f'<testcase classname="{cls}" name="test_line_absent[ssh://10.0.0.1-rocommunity s3cretComm4udit]">'
        "<failure message=\"assert 'rocommunity s3cretComm4udit' not in conf\">x</failure></testcase>"
        "</testsuite></testsuites>"
    )
    checks, why = verify.read_junit(tmp_path / "r.xml", {"10.0.0.1": "a1"}, redact)
    assert checks == {"a1": {"snmpd: test_line_absent[rocommunity <redacted>]": "failed"}}
    assert not _leaks(json.dumps(why)) and "rocommunity <redacted>" in json.dumps(why)


def test_a_hand_edited_note_of_a_device_verdict_is_redacted_in_the_report(state, tmp_path):
    """Every free-text field of a kept run is redacted, not only the external sources' ones."""
    runs = state / "compliance" / "runs"
    runs.mkdir(parents=True)
    body = {
        "estate": "lab",
        "site": None,
        "at": "2026-11-30T00:00:00+00:00",
        "sources": {"device_config": "test"},
        "verdicts": [
            {
                "rule": "DEV-HTTP",
                "subject": "r3",
                "status": "finding",
                "note": "edited: password Note-Secret-7731",
                "waiver_note": "snmp-server community Waiver-Secret-4410 RO",
                "findings": [{"message": "ip http server is on", "file": "f", "line": 5, "text": "ip http server"}],
            }
        ],
    }
    run_file = runs / "20261130T000000000000.json"
    run_file.write_text(json.dumps(body))
    out = tmp_path / "report"
    report.write(keptruns.read(run_file), None, out, pdf=False)
    text = (out / "report.json").read_text()
    assert "Note-Secret-7731" not in text and "Waiver-Secret-4410" not in text
    assert "ip http server is on" in text  # a device finding's own message is kept as written
