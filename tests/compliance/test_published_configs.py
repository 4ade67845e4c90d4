"""`jinbao audit config` on device configs that others published: exactly the findings a reading gives.

tests/compliance/configs/published/ holds configs copied unchanged from public repositories
(SOURCES.md names each one's repository, path, commit and licence): real dumps recorded by
oxidized's contributors, batfish's example network, netutils' Comware 7 fixture, containerlab's
FRR labs, and hand-written VRP and FRR fixtures of sentriflow. Each was read line by line; the
table below is every (rule, line) that reading found, with the line's text, and which rules
have no evidence in a dump trimmed by its publisher. Every other rule conforms or does not apply.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pytest

from compliance import configtext, devicecheck
from compliance.registry import registry
from jinbao.redact import redact
from tests.support import REPO, run_cli

PUBLISHED = REPO / "tests/compliance/configs/published"
RULES = registry().of("device_config")


@dataclass(frozen=True)
class Expect:
    platform: str
    whole: bool
    # (rule, line, the line as the file has it); line 0 is a weakness with no line to name (a
    # missing NTP server)
    findings: tuple[tuple[str, int, str | None], ...]
    no_evidence: frozenset[str] = frozenset()


TRIMMED_IOS = frozenset(
    {"DEV-TELNET", "DEV-NO-NTP", "DEV-IDLE-TIMEOUT", "DEV-CONSOLE-AUTH", "DEV-ROUTING-AUTH", "DEV-ZONE-DEFAULT-DENY"}
)

EXPECTED = {
    # HPE Comware 7.1.045 (netutils): telnet on, a v2c community, 15 and 60 minute idle timeouts,
    # one BGP peer of two without a key, no password-control; the `password hash` users and the
    # keyed peer are clean
    "comware7-netutils-full.txt": Expect(
        "h3c_comware",
        True,
        (
            ("DEV-TELNET", 22, " telnet server enable"),
            ("DEV-SNMP-COMMUNITY", 196, " snmp-agent community read Test-Community acl 1234"),
            ("DEV-SNMP-COMMUNITY", 199, " snmp-agent sys-info version v2c v3"),
            ("DEV-IDLE-TIMEOUT", 171, " idle-timeout 15 0"),
            ("DEV-IDLE-TIMEOUT", 179, " idle-timeout 60 0"),
            ("DEV-LOGIN-LOCKOUT", 0, None),
            ("DEV-ROUTING-AUTH", 143, "  peer 192.0.2.62 as-number 65006"),
        ),
    ),
    # FRR 8.4.1 frr.conf as vtysh wrote it (no `end`): OSPF without authentication
    "frr-containerlab-corerouter1.conf": Expect("frr", True, (("DEV-ROUTING-AUTH", 23, "router ospf"),)),
    # FRR 10.5.1 frr.conf with nothing of FRR's own but its first lines: no syslog, OSPF bare
    "frr-containerlab-router1.conf": Expect(
        "frr", True, (("DEV-NO-SYSLOG", 0, None), ("DEV-ROUTING-AUTH", 18, "router ospf"))
    ),
    # hand-annotated (comment lines first, CRLF): read as a fragment; an unkeyed BGP peer group
    "frr-sentriflow-bgp.txt": Expect(
        "frr",
        False,
        (("DEV-ROUTING-AUTH", 14, " neighbor underlay remote-as external"),),
        frozenset({"DEV-PASSWORD-PLAIN", "DEV-IDLE-TIMEOUT"}),
    ),
    # IOS 15.2 (batfish's example network): vty without `transport input`, console and aux with
    # no timeout and no login (AAA has no default login list), OSPF and three BGP peer groups
    # without keys, no log host, no lockout, no `ip ssh version 2`
    "ios-batfish-as2border1.cfg": Expect(
        "cisco_ios",
        True,
        (
            ("DEV-TELNET", 194, "line vty 0 4"),
            ("DEV-NO-SYSLOG", 0, None),
            ("DEV-IDLE-TIMEOUT", 185, " exec-timeout 0 0"),
            ("DEV-IDLE-TIMEOUT", 190, " exec-timeout 0 0"),
            ("DEV-LOGIN-LOCKOUT", 0, None),
            ("DEV-CONSOLE-AUTH", 184, "line con 0"),
            ("DEV-CONSOLE-AUTH", 189, "line aux 0"),
            ("DEV-ROUTING-AUTH", 81, "router ospf 1"),
            ("DEV-ROUTING-AUTH", 90, " neighbor as1 remote-as 1"),
            ("DEV-ROUTING-AUTH", 92, " neighbor as2 remote-as 2"),
            ("DEV-ROUTING-AUTH", 94, " neighbor as3 remote-as 3"),
            ("DEV-WEAK-SSH", 0, None),
        ),
    ),
    # IOS-XE 16.8 on an ASR920 (oxidized): 20-minute timeouts, no `ip ssh version 2`; the
    # `username root secret 5 password` (a hash the publisher replaced by the word) is no
    # cleartext password, and SSH-only vty, AAA login, lockout, log host and NTP conform
    "ios-oxidized-asr920.txt": Expect(
        "cisco_ios",
        True,
        (
            ("DEV-IDLE-TIMEOUT", 492, " exec-timeout 20 0"),
            ("DEV-IDLE-TIMEOUT", 502, " exec-timeout 20 0"),
            ("DEV-IDLE-TIMEOUT", 507, " exec-timeout 20 0"),
            ("DEV-WEAK-SSH", 0, None),
        ),
    ),
    # IOS-XE 17.9 on a C9200L (oxidized), its line section cut by the publisher: a fragment, so
    # the rules reading lines have no evidence; a RW community and three v2c trap hosts (one in
    # a VRF), no log host, no lockout
    "ios-oxidized-c9200l.txt": Expect(
        "cisco_ios",
        False,
        (
            ("DEV-SNMP-COMMUNITY", 181, "snmp-server community public RW 5"),
            ("DEV-SNMP-COMMUNITY", 183, "snmp-server host 10.42.0.33 version 2c AAAAAAAAAABBBBBBBBBB"),
            ("DEV-SNMP-COMMUNITY", 184, "snmp-server host 10.42.0.34 version 2c AAAAAAAAAABBBBBBBBBB"),
            (
                "DEV-SNMP-COMMUNITY",
                185,
                "snmp-server host 10.42.0.35 vrf Mgmt-vrf informs version 2c AAAAAAAAAABBBBBBBBBB  tty vtp",
            ),
            ("DEV-NO-SYSLOG", 0, None),
            ("DEV-LOGIN-LOCKOUT", 0, None),
        ),
        TRIMMED_IOS | {"DEV-PASSWORD-PLAIN", "DEV-HTTP"},
    ),
    # IOS-XE 17.6 on a C9800 wireless controller (oxidized), trimmed too: the web server on and
    # the AP profiles' dot1x and management passwords stored as typed (type 0)
    "ios-oxidized-c9800.txt": Expect(
        "cisco_ios",
        False,
        (
            ("DEV-PASSWORD-PLAIN", 157, " dot1x username dot1x-username password 0 DOT1XPASSW0RD"),
            ("DEV-PASSWORD-PLAIN", 158, " mgmtuser username apmgmtuser password 0 MGMTPASSW0RD secret 0 MGMTSECR3T"),
            ("DEV-PASSWORD-PLAIN", 160, " dot1x username dot1x-username password 0 DOT1X PASSW0RD"),
            ("DEV-PASSWORD-PLAIN", 161, " mgmtuser username username password 0 MGMT PASSW0RD secret 0 MGMT SECR3T"),
            ("DEV-NO-SYSLOG", 0, None),
            ("DEV-LOGIN-LOCKOUT", 0, None),
            ("DEV-HTTP", 133, "ip http server"),
        ),
        TRIMMED_IOS | {"DEV-SNMP-COMMUNITY"},
    ),
    # hand-written VRP (sentriflow, CRLF): logging turned off, v2c and two communities, a console
    # password in reversible cipher (one finding though two steps forbid the line), a 15-minute
    # vty timeout
    "vrp-sentriflow-basic.txt": Expect(
        "huawei_vrp",
        True,
        (
            ("DEV-SNMP-COMMUNITY", 65, "snmp-agent sys-info version v2c v3"),
            ("DEV-SNMP-COMMUNITY", 66, "snmp-agent community read public"),
            ("DEV-SNMP-COMMUNITY", 67, "snmp-agent community write private"),
            ("DEV-PASSWORD-PLAIN", 71, " set authentication password cipher Password123"),
            ("DEV-NO-SYSLOG", 7, "undo info-center enable"),
            ("DEV-IDLE-TIMEOUT", 77, " idle-timeout 15 0"),
        ),
    ),
    # hand-written VRP with no user interfaces (VRP always writes them): a fragment; two BGP
    # peers and OSPF without authentication
    "vrp-sentriflow-bgp.txt": Expect(
        "huawei_vrp",
        False,
        (
            ("DEV-ROUTING-AUTH", 36, " peer 2.2.2.2 as-number 65000"),
            ("DEV-ROUTING-AUTH", 49, "  peer 192.168.1.2 as-number 65001"),
            ("DEV-ROUTING-AUTH", 54, "ospf 1 router-id 1.1.1.1"),
        ),
        frozenset(r.id for r in RULES if "huawei_vrp" in r.platforms) - {"DEV-ROUTING-AUTH"},
    ),
    # hand-written VRP, hardened: SSH only, AAA on console and vty, 5 and 10 minute timeouts;
    # only the log host and the NTP server are missing
    "vrp-sentriflow-security.txt": Expect("huawei_vrp", True, (("DEV-NO-SYSLOG", 0, None), ("DEV-NO-NTP", 0, None))),
}

# The issue's weaknesses, each where a published config shows it (file, rule, line).
WEAKNESSES = {
    "telnet on vty": ("comware7-netutils-full.txt", "DEV-TELNET", 22),
    "SNMP v1/v2c communities": ("ios-oxidized-c9200l.txt", "DEV-SNMP-COMMUNITY", 181),
    "plaintext or reversible passwords": ("ios-oxidized-c9800.txt", "DEV-PASSWORD-PLAIN", 157),
    "no remote logging": ("vrp-sentriflow-basic.txt", "DEV-NO-SYSLOG", 7),
    "no NTP": ("vrp-sentriflow-security.txt", "DEV-NO-NTP", 0),
    "disabled idle timeouts": ("ios-batfish-as2border1.cfg", "DEV-IDLE-TIMEOUT", 185),
    "HTTP management": ("ios-oxidized-c9800.txt", "DEV-HTTP", 133),
    "unauthenticated console/aux": ("ios-batfish-as2border1.cfg", "DEV-CONSOLE-AUTH", 189),
    "routing protocols without authentication": ("comware7-netutils-full.txt", "DEV-ROUTING-AUTH", 143),
    "weak SSH settings": ("ios-oxidized-asr920.txt", "DEV-WEAK-SSH", 0),
}


@pytest.fixture(scope="module")
def audited():
    """One `jinbao audit config --json` over every published file, as an assessor runs it."""
    files = sorted(str(p) for p in PUBLISHED.iterdir() if p.name != "SOURCES.md")
    r = run_cli("audit", "config", "--json", *files)
    assert r.returncode == 1, r.stderr  # findings
    body = json.loads(r.stdout)
    return {f["file"].rsplit("/", 1)[-1]: f for f in body["files"]}, body["verdicts"]


def _lines(name: str) -> list[str]:
    return list(configtext.split(configtext.decode((PUBLISHED / name).read_bytes())[0]))


def test_every_published_file_is_in_the_table():
    assert sorted(p.name for p in PUBLISHED.iterdir() if p.name != "SOURCES.md") == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_published_config_gives_exactly_the_findings_read_by_hand(name, audited):
    files, verdicts = audited
    want = EXPECTED[name]
    assert (files[name]["platform"], files[name]["whole_config"]) == (want.platform, want.whole)
    lines = _lines(name)
    for _, line, text in want.findings:  # the table quotes the file as it is
        assert (lines[line - 1] if line else None) == text
    mine = [v for v in verdicts if v["subject"].endswith("/" + name)]
    got = sorted(
        (v["rule"], f.get("line") or 0, f.get("text")) for v in mine if v["status"] == "finding" for f in v["findings"]
    )
    # each finding quotes its line with any secret on it masked
    assert got == sorted((rule, line, redact(text) if text else None) for rule, line, text in want.findings)
    assert {v["rule"] for v in mine if v["status"] == "no_evidence"} == want.no_evidence
    assert {v["status"] for v in mine} <= {"finding", "no_evidence", "conforms", "not_applicable"}


def test_no_published_secret_reaches_the_evidence(audited):
    _, verdicts = audited
    quoted = " ".join(f.get("text") or "" for v in verdicts for f in v.get("findings", []))
    for secret in (
        "Test-Community",
        "AAAAAAAAAABBBBBBBBBB",
        "DOT1XPASSW0RD",
        "MGMTPASSW0RD",
        "MGMTSECR3T",
        "Password123",
    ):
        assert secret not in quoted, secret
    assert not re.search(r"community (read |write )?public\b", quoted)


@pytest.mark.parametrize("weakness", sorted(WEAKNESSES))
def test_each_weakness_of_the_issue_is_found_in_a_published_config(weakness):
    name, rule, line = WEAKNESSES[weakness]
    cfg = configtext.read(PUBLISHED / name)
    found = {(v.rule, f.line or 0) for v in devicecheck.evaluate(cfg, RULES) for f in v.findings}
    assert (rule, line) in found


def test_sources_name_every_published_file_with_its_commit_and_licence():
    sources = (PUBLISHED / "SOURCES.md").read_text()
    for name in EXPECTED:
        entry = sources.split(f"`{name}`", 1)[1].split("\n## ", 1)[0]
        assert re.search(r"\b[0-9a-f]{40}\b", entry), name
        assert re.search(r"(Apache-2\.0|BSD-3-Clause|MIT)", entry), name
