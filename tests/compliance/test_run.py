"""`jinbao audit run` and `audit report`: each evidence source, clean, then broken one thing at a time.

Everything here is real: the core's checks on real estates, the rendered configs, a CA made by
`jinbao pki init`, `jinbao monitor posture`. The drill reports are written in the shape dr
writes them (dr/report.py), since a real drill needs a live lab (tests/dr covers that).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil
import subprocess
from pathlib import Path

import html5lib
import pytest
import yaml
from cryptography import x509

from compliance import runner
from compliance.registry import registry
from compliance.sources import configs, dr, inventory, monitoring, pki
from tests.support import REPO, run_cli

REG = registry()


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("JINBAO_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def _by_rule(verdicts):
    out = {}
    for v in verdicts:
        out.setdefault(v.rule, []).append(v)
    return out


def test_the_inventory_design_rules_are_the_core_checks():
    e, raw, where = inventory.load("province")
    assert {v.status for v in inventory.evaluate(e, raw, where, REG.of("inventory"))} == {"conforms"}
    e, raw, where = inventory.load(str(REPO / "tests/core/broken/design"))
    got = {
        (v.rule, f.file.rsplit("/", 1)[-1], f.line)
        for v in inventory.evaluate(e, raw, where, REG.of("inventory"))
        for f in v.findings
    }
    # the lines tests/core/broken/design.expected.yml names for `inventory validate`
    assert ("INV-ZONE-FIREWALL", "sites.yml", 20) in got
    assert ("INV-CLEARTEXT-MGMT", "sites.yml", 43) in got
    assert ("INV-REDUNDANT-UPLINKS", "links.yml", 4) in got
    assert ("INV-DB-DR-PAIR", "sites.yml", 25) in got
    assert ("INV-DR-TARGETS", "policy.yml", 9) in got


BROKEN = REPO / "tests/core/broken"


@pytest.mark.parametrize("case", sorted(p.name for p in BROKEN.iterdir() if p.is_dir()))
def test_a_broken_estate_is_audited_only_for_its_design(case):
    """An estate `inventory validate` refuses only for design rules the audit judges is audited,
    its problems the findings; refused for anything else (a reference to no device, an address
    used twice), it is bad input, not an estate that conforms on the points no rule judges."""
    from jinbao.errors import InventoryError

    expected = yaml.safe_load((BROKEN / f"{case}.expected.yml").read_text())
    design_only = all(e["check"] == "design" for e in expected)
    try:
        e, raw, where = inventory.load(str(BROKEN / case))
        verdicts = inventory.evaluate(e, raw, where, REG.of("inventory"))
    except InventoryError as x:
        assert x.problems and all(p.origin and p.fix for p in x.problems)
        want = {(e["file"], e["line"], e["field"]) for e in expected}
        got = {(Path(p.origin.file).name, p.origin.line, p.field) for p in x.problems}
        assert got <= want, (got, want)
        assert not design_only or all(p.check == "design" for p in x.problems)
        return
    assert design_only, case
    found = {(f.file.rsplit("/", 1)[-1], f.line) for v in verdicts for f in v.findings}
    assert found == {(e["file"], e["line"]) for e in expected}


def test_an_ntp_server_that_is_no_device_is_bad_input_not_a_traceback(state):
    # The management plane's rule judged the missing server as a finding, and the config
    # rendering that followed raised KeyError on it.
    r = run_cli("--estate", str(BROKEN / "management_plane"), "audit", "run", "--no-monitoring")
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "management.yml:3: management_plane.ntp: 'prov-mon2' is not a device of the estate" in r.stderr
    assert not (state / "compliance").exists()


def _drill(state: Path, run_id: str, pair: str, when: dt.datetime, verdict: str = "pass") -> None:
    d = state / "drills" / run_id
    d.mkdir(parents=True)
    body = {"run_id": run_id, "drill": "switchover", "pair": pair, "started": when.timestamp(), "verdict": verdict}
    (d / "report.json").write_text(json.dumps(body))


def test_a_level_5_pair_without_a_drill_in_a_year_is_one_finding(state):
    e = inventory.load("lab")[0]
    rules = REG.of("dr")
    [v] = dr.evaluate(e, rules)[0]
    assert v.status == "finding" and v.rule == "DR-DRILL-RECENT" and "core-db" in v.subject
    now = dt.datetime.now(dt.UTC)
    _drill(state, "d-old", "core-db", now - dt.timedelta(days=400))
    [v] = dr.evaluate(e, rules)[0]
    assert v.status == "finding" and "more than a year" in v.findings[0].message and "d-old" in v.findings[0].ref
    _drill(state, "d-new", "core-db", now - dt.timedelta(days=3))
    [v] = dr.evaluate(e, rules)[0]
    assert v.status == "conforms" and "d-new" in v.note
    _drill(state, "d-fail", "core-db", now - dt.timedelta(days=1), verdict="fail")
    [v] = dr.evaluate(e, rules)[0]
    assert v.status == "finding" and "verdict is fail" in v.findings[0].message


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    d = tmp_path_factory.mktemp("ca")
    r = run_cli(
        "pki",
        "init",
        "--ca-dir",
        str(d / "ca"),
        "--estate",
        "lab",
        "--admin-out",
        str(d / "admin"),
        env={"JINBAO_PKI_ROOT_PASS": "compliance-test root passphrase"},
    )
    assert r.returncode == 0, r.stderr
    # the audit log is verified as an auditor: the CA separates that role from its administrator
    r = run_cli(
        "pki",
        "operator",
        "add",
        "auditor1",
        "--ca-dir",
        str(d / "ca"),
        "--as",
        str(d / "admin"),
        "--role",
        "auditor",
        "--out",
        str(d / "auditor"),
    )
    assert r.returncode == 0, r.stderr
    return d


def test_the_ca_conforms_and_its_clock_running_out_shows_findings_with_serials(ca):
    # the CA's files and log; its responder, operators and deployments: tests/compliance/test_ca_ops.py
    rules = tuple(r for r in REG.of("pki") if r.probe in ("ca_keys", "cert_validity", "crl_fresh", "audit_chain"))
    got = {v.rule: v for v in pki.evaluate(rules, ca / "ca", str(ca / "auditor"))[0]}
    assert {r: v.status for r, v in got.items()} == {
        "PKI-KEY-STRENGTH": "conforms",
        "PKI-CERT-VALIDITY": "conforms",
        "PKI-CRL-FRESH": "conforms",
        "PKI-AUDIT-CHAIN": "conforms",
    }, {r: (v.note, v.findings) for r, v in got.items()}
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=365 * 30)
    got = {v.rule: v for v in pki.evaluate(rules, ca / "ca", None, now=later)[0]}
    assert got["PKI-CERT-VALIDITY"].status == "finding"
    assert all(f.ref.startswith("serial ") and "expired" in f.message for f in got["PKI-CERT-VALIDITY"].findings)
    assert got["PKI-CRL-FRESH"].status == "finding" and "stale" in got["PKI-CRL-FRESH"].findings[0].message
    assert got["PKI-AUDIT-CHAIN"].status == "no_evidence" and "--pki-as" in got["PKI-AUDIT-CHAIN"].note


def test_no_ca_is_no_evidence_not_conforms(tmp_path):
    vs, said = pki.evaluate(REG.of("pki"), tmp_path / "none", None)
    assert {v.status for v in vs} == {"no_evidence"} and "no CA" in said


def test_a_device_on_v2c_is_one_monitoring_finding(tmp_path, monkeypatch):
    monkeypatch.setenv("JB_TEST_COMMUNITY", "k8Qz-not-a-default-community")
    est = tmp_path / "lab"
    shutil.copytree(REPO / "inventory/lab", est)
    text = (est / "estate.yml").read_text()
    text = text.replace(
        "snmp_profiles:\n",
        "snmp_profiles:\n  v2c-legacy:\n    version: v2c\n    community: env:JB_TEST_COMMUNITY\n"
        "    insecure_because: the old router speaks only v2c until it is replaced\n",
    )
    (est / "estate.yml").write_text(text)
    sites = (est / "sites.yml").read_text()
    sites = sites.replace(
        "{name: prov-wan1, role: wan_router,", "{name: prov-wan1, snmp_profile: v2c-legacy, role: wan_router,"
    )
    (est / "sites.yml").write_text(sites)
    e = inventory.load(str(est))[0]
    vs = monitoring.evaluate(e, str(est), REG.of("monitoring"))[0]
    bad = [(v.rule, v.subject) for v in vs if v.status == "finding"]
    assert bad == [("MON-SNMP-V3", "prov-wan1")], [(v.rule, v.subject, v.findings) for v in vs if v.status == "finding"]
    [v] = [v for v in vs if v.status == "finding"]
    assert "v2c" in v.findings[0].text


def test_a_backed_up_config_with_telnet_wins_over_the_rendering(state):
    folder = state / "backups" / "estate-province"
    folder.mkdir(parents=True)
    good = run_cli("config", "render", "--device", "anqing-fw1", "--out", str(state / "r"), "--no-check")
    assert good.returncode == 0, good.stderr
    text = (
        (state / "r" / "anqing-fw1.huawei_vrp.conf")
        .read_text()
        .replace("undo telnet server enable", "telnet server enable")
    )
    (folder / "anqing-fw1.cfg").write_text(text)
    r = runner.run("province", site="anqing", with_monitoring=False)
    bad = [
        (v.rule, v.subject, f.file, f.line, f.text)
        for v in r.verdicts
        if v.status == "finding" and v.rule.startswith("DEV-")
        for f in v.findings
    ]
    line = text.splitlines().index("telnet server enable") + 1
    assert bad == [("DEV-TELNET", "anqing-fw1", str(folder / "anqing-fw1.cfg"), line, "telnet server enable")]
    assert "1 device(s) from backups" in r.sources["device_config"]


def test_a_backup_that_cannot_be_read_is_named_and_the_intent_is_judged_in_its_place(state, monkeypatch):
    folder = state / "backups" / "estate-province"
    folder.mkdir(parents=True)
    os.mkfifo(folder / "anqing-fw1.cfg")  # a FIFO would block a plain open() for ever
    (folder / "anqing-wan1.cfg").write_text("hostname anqing-wan1\n" * 200)
    monkeypatch.setenv("JINBAO_AUDIT_MAX_BYTES", "1000")
    r = runner.run("province", site="anqing", with_monitoring=False)
    said = r.sources["device_config"]
    assert "0 device(s) from backups" in said and "2 backup(s) could not be read" in said, said
    assert f"{folder / 'anqing-fw1.cfg'}: is a FIFO" in said and f"{folder / 'anqing-wan1.cfg'}: is 4,200 bytes" in said
    # both devices were still judged, on their rendered intent
    judged = {v.subject for v in r.verdicts if v.rule.startswith("DEV-") and v.status != "not_applicable"}
    assert {"anqing-fw1", "anqing-wan1"} <= judged
    # an empty dump, or the error a device printed instead of its config, is no evidence either
    (folder / "anqing-fw1.cfg").unlink()
    (folder / "anqing-fw1.cfg").write_text("% Error: connection reset\n")
    (folder / "anqing-wan1.cfg").write_text("")
    # a server's backup is its addresses and routes (netconfig's linux driver), which no rule
    # reads: neither evidence nor unreadable
    (folder / "anqing-app1.cfg").write_text("1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536\n    inet 127.0.0.1/8\n")
    said = runner.run("province", site="anqing", with_monitoring=False).sources["device_config"]
    assert "2 backup(s) could not be read" in said and said.count("does not read as a ") == 1, said
    assert f"{folder / 'anqing-wan1.cfg'}: is empty" in said, said
    assert "anqing-app1" not in said, said


def test_run_then_report_json_csv_html_pdf_with_trend_and_an_expired_waiver(state, tmp_path):
    w = tmp_path / "waivers.yml"
    w.write_text(
        "waivers:\n  - {rule: DR-DRILL-RECENT, scope: 'DR pair core-db*', justification: drill booked, approver: 王工, expiry: 2020-01-01}\n"
    )
    args = (
        "--estate",
        "lab",
        "audit",
        "run",
        "--no-monitoring",
        "--pki-dir",
        str(tmp_path / "noca"),
        "--waivers",
        str(w),
    )
    first = run_cli(*args, "--json")
    assert first.returncode == 1, first.stderr  # the never-drilled level-5 pair
    body = json.loads(first.stdout)
    [drill] = [v for v in body["verdicts"] if v["rule"] == "DR-DRILL-RECENT"]
    # the lab's only collector has nobody to send its logs and time to: not applicable, said why
    [ntp] = [v for v in body["verdicts"] if v["rule"] == "DEV-NO-NTP" and v["subject"] == "prov-mon1"]
    assert ntp["status"] == "not_applicable" and "only NTP server" in ntp["note"]
    assert drill["status"] == "finding" and "expired on 2020-01-01" in drill["waiver_note"]
    assert run_cli(*args).returncode == 1
    out = tmp_path / "report"
    r = run_cli("audit", "report", "--out", str(out))
    assert r.returncode == 0, r.stderr
    rep = json.loads((out / "report.json").read_text())
    s = rep["summary"]
    c = {x["clause"]: x for x in s["clauses"]}
    assert c["8.1.4.9"]["status"] == "partly" and c["8.1.4.9"]["zh"].endswith("数据备份恢复")
    assert c["8.1.2.2"]["status"] in ("conforms", "partly", "no_evidence")
    assert s["trend"] is not None and s["previous_at"]
    rows = list(csv.DictReader((out / "findings.csv").open(encoding="utf-8-sig")))
    assert [(x["rule"], x["clause"], x["clause_zh"]) for x in rows] == [
        ("DR-DRILL-RECENT", "8.1.4.9", "安全计算环境 — 数据备份恢复")
    ]
    page = (out / "report.html").read_text()
    html5lib.HTMLParser(strict=True).parse(page)  # raises on any parse error
    assert (
        "数据备份恢复" in page and "expired on 2020-01-01" in page and "@media print" in page and "<script" not in page
    )
    pdf = out / "report.pdf"
    assert pdf.is_file() and pdf.read_bytes().startswith(b"%PDF")
    png = tmp_path / "page"
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(pdf), str(png)], check=True, timeout=120)
    [img] = list(tmp_path.glob("page*.png"))
    assert img.stat().st_size > 5000


def test_an_unknown_site_or_estate_is_bad_input(state):
    r = run_cli("audit", "run", "--site", "atlantis", "--no-monitoring")
    assert r.returncode == 2 and "atlantis" in r.stderr
    r = run_cli("audit", "run", "--estate", str(REPO / "tests/core/broken/nosuch"), "--no-monitoring")
    assert r.returncode == 2, r.stdout + r.stderr


def test_report_without_a_run_says_what_to_do(state, tmp_path):
    r = run_cli("audit", "report", "--out", str(tmp_path / "r"))
    assert r.returncode == 2 and "audit run" in r.stderr


def test_an_issuing_ca_the_root_revoked_is_a_finding_read_from_the_root_crl(tmp_path):
    pw = {"JINBAO_PKI_ROOT_PASS": "compliance-test root passphrase"}
    ca = tmp_path / "ca"
    r = run_cli("pki", "init", "--ca-dir", str(ca), "--estate", "lab", "--admin-out", str(tmp_path / "admin"), env=pw)
    assert r.returncode == 0, r.stderr
    rules = tuple(r for r in REG.of("pki") if r.probe == "cert_validity")
    assert pki.evaluate(rules, ca, None)[0][0].status == "conforms"
    (tmp_path / "root.pass").write_text(pw["JINBAO_PKI_ROOT_PASS"])
    r = run_cli(
        "pki", "revoke-issuing-ca", "--ca-dir", str(ca), "--as", str(tmp_path / "admin"),
        "--root-pass-file", str(tmp_path / "root.pass"),
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    v = pki.evaluate(rules, ca, None)[0][0]
    issuing = x509.load_pem_x509_certificate((ca / "issuing" / "issuing.crt").read_bytes())
    assert v.status == "finding" and len(v.findings) == 1, v.findings
    f = v.findings[0]
    assert f.ref == f"serial {issuing.serial_number:x}" and "issuing certificate was revoked" in f.message
    assert "crl/root.crl" in f.message and "ca_compromise" in f.message, f.message


def test_a_lab_run_judges_the_lab_estate_unless_told_another(state, tmp_path):
    """`audit run --lab ID` reads that lab's backups: its devices are the lab estate's, not the
    province's (whose names they share), unless its --estate says otherwise."""
    noca = str(tmp_path / "noca")
    # no lab jb7 is up: its kept backups folder (empty here) is what makes it a lab to judge
    configs.backups("lab:jb7").mkdir(parents=True)

    def sources(*given: str) -> str:
        r = run_cli("audit", "run", "--lab", "jb7", *given, "--no-monitoring", "--pki-dir", noca, "--json")
        assert r.returncode in (0, 1), r.stderr
        return json.dumps(json.loads(r.stdout)["sources"])

    said = sources()
    assert "estate lab:" in said and "from the rendered intent" in said, said
    assert sources() == sources("--estate", "lab")
    assert "estate province:" in sources("--estate", "province")
