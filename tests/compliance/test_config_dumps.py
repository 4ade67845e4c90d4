"""`jinbao audit config`: device rules on vendor dumps, each weakness found on its own line.

The weak configs (tests/compliance/configs/) are hand-written per platform; the clean ones are
what netconfig renders for the province, and the recorded dumps of tests/netconfig/recordings.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compliance import configtext, devicecheck
from compliance.registry import registry
from jinbao.redact import redact
from tests.support import REPO, run_cli

CONFIGS = REPO / "tests/compliance/configs"
RULES = registry().of("device_config")

# (file, rule, the line's text): every weakness written into each weak config.
WEAK = {
    "weak-ios.txt": [
        ("DEV-TELNET", " transport input telnet ssh"),
        ("DEV-SNMP-COMMUNITY", "snmp-server community public RO"),
        ("DEV-SNMP-COMMUNITY", "snmp-server host 10.1.1.9 public"),
        ("DEV-PASSWORD-PLAIN", "enable password cisco123"),
        ("DEV-PASSWORD-PLAIN", "username admin privilege 15 password 7 0822455D0A16"),
        ("DEV-PASSWORD-PLAIN", " password 7 045802150C2E"),
        ("DEV-NO-SYSLOG", None),
        ("DEV-NO-NTP", None),
        ("DEV-IDLE-TIMEOUT", " exec-timeout 0 0"),
        ("DEV-LOGIN-LOCKOUT", None),
        ("DEV-HTTP", "ip http server"),
        ("DEV-CONSOLE-AUTH", " no login"),
        ("DEV-CONSOLE-AUTH", "line aux 0"),
        ("DEV-ROUTING-AUTH", " ip ospf authentication-key s3cret"),
        ("DEV-ROUTING-AUTH", " neighbor 198.51.100.1 remote-as 65020"),
        ("DEV-WEAK-SSH", "ip ssh version 1"),
        ("DEV-WEAK-SSH", None),
    ],
    "weak-vrp.txt": [
        ("DEV-TELNET", "telnet server enable"),
        ("DEV-TELNET", " protocol inbound all"),
        ("DEV-SNMP-COMMUNITY", "snmp-agent community read cipher %^%#public%^%#"),
        ("DEV-SNMP-COMMUNITY", "snmp-agent sys-info version v2c v3"),
        ("DEV-PASSWORD-PLAIN", " local-user admin password cipher %@%@Yk8^0)n2I~4n7Z%@%@"),
        ("DEV-NO-SYSLOG", None),
        ("DEV-NO-NTP", None),
        ("DEV-IDLE-TIMEOUT", " idle-timeout 0 0"),
        ("DEV-HTTP", "http server enable"),
        ("DEV-CONSOLE-AUTH", " authentication-mode none"),
        ("DEV-ROUTING-AUTH", " ospf authentication-mode simple plain abc"),
        ("DEV-ROUTING-AUTH", "ospf 1"),
        ("DEV-ROUTING-AUTH", " peer 198.51.100.9 as-number 65020"),
        ("DEV-WEAK-SSH", "ssh server compatible-ssh1x enable"),
        ("DEV-WEAK-SSH", "ssh server cipher aes256_ctr 3des_cbc"),
        ("DEV-ZONE-DEFAULT-DENY", " default action permit"),
    ],
    "weak-comware7.txt": [
        ("DEV-TELNET", " telnet server enable"),
        ("DEV-TELNET", " protocol inbound telnet"),
        ("DEV-SNMP-COMMUNITY", " snmp-agent community read public"),
        ("DEV-SNMP-COMMUNITY", " snmp-agent sys-info version all"),
        ("DEV-PASSWORD-PLAIN", " password simple admin@123"),
        ("DEV-NO-SYSLOG", None),
        ("DEV-NO-NTP", None),
        ("DEV-IDLE-TIMEOUT", " idle-timeout 0 0"),
        ("DEV-LOGIN-LOCKOUT", None),
        ("DEV-HTTP", " ip http enable"),
        ("DEV-CONSOLE-AUTH", " authentication-mode none"),
        ("DEV-ROUTING-AUTH", "ospf 1"),
        ("DEV-WEAK-SSH", " ssh2 algorithm cipher aes128-ctr 3des-cbc"),
    ],
    "weak-comware5-gbk.txt": [
        ("DEV-TELNET", " telnet server enable"),
        ("DEV-TELNET", "user-interface vty 0 4"),
        ("DEV-PASSWORD-PLAIN", " password cipher $c$3$Abc123reversible=="),
        ("DEV-LOGIN-LOCKOUT", None),
        ("DEV-CONSOLE-AUTH", "user-interface aux 0"),
        ("DEV-WEAK-SSH", " ssh server compatible-ssh1x enable"),
    ],
    "weak-linux.txt": [
        ("DEV-SSH-ROOT-LOGIN", "PermitRootLogin yes"),
        ("DEV-WEAK-SSH", "Ciphers aes256-ctr,aes128-cbc"),
        ("DEV-WEAK-SSH", "MACs hmac-sha2-256,hmac-md5"),
        ("DEV-IDLE-TIMEOUT", "ClientAliveInterval 0"),
        ("DEV-IDLE-TIMEOUT", "TMOUT=0"),
        ("DEV-LOGIN-LOCKOUT", None),
        ("DEV-NO-NTP", None),
        ("DEV-NO-SYSLOG", None),
        ("DEV-SNMP-COMMUNITY", "rocommunity public 10.0.0.0/8"),
    ],
    "weak-frr.txt": [
        ("DEV-PASSWORD-PLAIN", "password zebra"),
        ("DEV-PASSWORD-PLAIN", "enable password zebra"),
        ("DEV-NO-SYSLOG", None),
        ("DEV-IDLE-TIMEOUT", " exec-timeout 0 0"),
        ("DEV-ROUTING-AUTH", "router ospf"),
        ("DEV-ROUTING-AUTH", " neighbor 198.51.100.13 remote-as 65020"),
    ],
}
PLATFORM = {
    "weak-ios.txt": "cisco_ios",
    "weak-vrp.txt": "huawei_vrp",
    "weak-comware7.txt": "h3c_comware",
    "weak-comware5-gbk.txt": "h3c_comware",
    "weak-frr.txt": "frr",
    "weak-linux.txt": "linux",
}


def _lines(path: Path) -> list[str]:
    return configtext.split(configtext.decode(path.read_bytes())[0])


@pytest.mark.parametrize("name", sorted(WEAK))
def test_each_weakness_is_found_on_its_line_and_nothing_else(name):
    path = CONFIGS / name
    cfg = configtext.read(path)
    assert cfg.platform == PLATFORM[name] and cfg.complete
    lines = _lines(path)
    # a missing line (no NTP server at all) has no line number: 0 here
    got = sorted(
        (v.rule, f.line or 0, f.text or "")
        for v in devicecheck.evaluate(cfg, RULES)
        if v.status == "finding"
        for f in v.findings
    )
    # the line is quoted with its secret masked (the fixture's passwords are fake but look real)
    want = sorted(
        (rule, lines.index(text) + 1 if text else 0, redact(text) if text else "") for rule, text in WEAK[name]
    )
    assert got == want
    assert not any("cisco123" in t or "admin@123" in t or "s3cret" in t for _, _, t in got)


def test_gbk_crlf_and_trailing_nuls_are_read_as_the_device_wrote_them():
    raw = (CONFIGS / "weak-comware5-gbk.txt").read_bytes()
    assert raw.endswith(b"\x00") and b"\r\n" in raw  # the fixture is what a Windows export looks like
    cfg = configtext.read(CONFIGS / "weak-comware5-gbk.txt")
    assert cfg.encoding == "gbk" and cfg.dialect == "comware5"
    assert " description 营业厅 窗口网段" in cfg.lines and cfg.lines[-1] == "return"
    assert not any("\r" in x or "\x00" in x for x in cfg.lines)


def test_paging_prompts_are_cleaned_without_moving_lines():
    text = "#\nsysname a\n  ---- More ----\x1b[42D                                          \x1b[42Dtelnet server enable\n#\nreturn\n"
    cfg = configtext.classify("dump.txt", text)
    v = next(v for v in devicecheck.evaluate(cfg, RULES) if v.rule == "DEV-TELNET")
    assert v.status == "finding" and v.findings[0].line == 3 and v.findings[0].text == "telnet server enable"


def test_a_fragment_without_the_section_says_no_evidence_not_conforms():
    cfg = configtext.read(CONFIGS / "fragment-vrp.txt", "huawei_vrp")
    assert not cfg.complete
    # every rule with a VRP check has no evidence; the Linux-only one does not apply
    assert {
        v.status for v in devicecheck.evaluate(cfg, RULES) if "huawei_vrp" in registry().rule(v.rule).platforms
    } == {"no_evidence"}
    assert {
        v.status for v in devicecheck.evaluate(cfg, RULES) if "huawei_vrp" not in registry().rule(v.rule).platforms
    } <= {"not_applicable"}
    # a fragment holding the vty section is judged on that rule, and only that one
    text = (
        CONFIGS / "fragment-vrp.txt"
    ).read_text() + "user-interface vty 0 4\n authentication-mode aaa\n protocol inbound ssh\n idle-timeout 10 0\n"
    got = {v.rule: v.status for v in devicecheck.evaluate(configtext.classify("f", text, "huawei_vrp"), RULES)}
    assert (
        got["DEV-TELNET"] == "conforms" and got["DEV-IDLE-TIMEOUT"] == "conforms" and got["DEV-NO-NTP"] == "no_evidence"
    )


def test_unknown_text_is_bad_input_naming_the_file(tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("hello\nworld\n")
    r = run_cli("audit", "config", str(f))
    assert r.returncode == 2 and "notes.txt" in r.stderr and "--platform" in r.stderr


def test_recorded_dumps_give_only_their_real_finding():
    """The recorded IOS and Comware dumps run OSPF without authentication; VRP authenticates it."""
    rec = REPO / "tests/netconfig/recordings"
    got = {}
    for path in sorted(rec.glob("*/*config*.txt")):
        cfg = configtext.read(path)
        assert cfg.platform == path.parent.name and cfg.complete
        got[cfg.platform] = [
            (v.rule, f.text) for v in devicecheck.evaluate(cfg, RULES) if v.status == "finding" for f in v.findings
        ]
    assert got["huawei_vrp"] == []
    assert got["cisco_ios"] == [("DEV-ROUTING-AUTH", "router ospf 1")]
    assert got["h3c_comware"] == [("DEV-ROUTING-AUTH", "ospf 1 router-id 10.34.0.8")]


@pytest.fixture(scope="module")
def province_configs(tmp_path_factory):
    out = tmp_path_factory.mktemp("province")
    r = run_cli("config", "render", "--out", str(out), "--no-check")
    assert r.returncode == 0, r.stderr
    return out


def test_the_rendered_province_gives_no_false_findings(province_configs):
    files = sorted(
        p
        for p in province_configs.glob("*.conf")
        if p.name.split(".")[-2] in ("cisco_ios", "huawei_vrp", "h3c_comware", "frr")
    )
    assert len(files) > 400
    bad = []
    for p in files:
        cfg = configtext.read(p)
        assert cfg.platform == p.name.split(".")[-2] and cfg.complete, p
        bad += [
            (p.name, v.rule, v.status)
            for v in devicecheck.evaluate(cfg, RULES)
            if v.status in ("finding", "no_evidence")
        ]
    assert bad == []


def test_the_cli_names_file_line_and_line_and_exits_1_on_findings():
    r = run_cli(
        "audit",
        "config",
        "--json",
        str(CONFIGS / "weak-vrp.txt"),
        str(CONFIGS / "fragment-vrp.txt"),
        "--platform",
        "huawei_vrp",
    )
    assert r.returncode == 1, r.stderr
    body = json.loads(r.stdout)
    telnet = next(v for v in body["verdicts"] if v["rule"] == "DEV-TELNET" and v["subject"].endswith("weak-vrp.txt"))
    assert {"file": str(CONFIGS / "weak-vrp.txt"), "line": 13, "text": "telnet server enable"}.items() <= telnet[
        "findings"
    ][0].items()
    assert {v["status"] for v in body["verdicts"] if v["subject"].endswith("fragment-vrp.txt")} == {
        "no_evidence",
        "not_applicable",
    }
    clean = run_cli(
        "audit", "config", str(REPO / "tests/netconfig/recordings/huawei_vrp/display_current-configuration.txt")
    )
    assert clean.returncode == 0, clean.stdout + clean.stderr
