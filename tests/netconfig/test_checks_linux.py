"""The Linux bundle check: a lab server's real bundle passes, and each check (sshd -t, snmpd's
directive table, every rule) fails on a bundle that breaks exactly it, at the right bundle line.

sshd runs for real (`-t`, in its own mount and network namespaces); nothing here touches /etc or
/run, which the last test shows."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jinbao.secrets import resolve_secrets
from netconfig import checks
from netconfig.checks import linux

GOLDEN = Path(__file__).parents[1] / "golden" / "netconfig" / "linux"
# A lab server with every file of the bundle; secret markers in it are filled by checks.check.
BUNDLE = (GOLDEN / "lab" / "dr-db1.linux.conf").read_text()
SUDO = "/etc/sudoers.d/jinbao-roles"


def findings(text: str) -> list[checks.Finding]:
    found = checks.check("linux", text)
    assert found is not None  # the linux syntax has a checker now
    return found


def test_the_real_bundles_pass():
    assert findings(BUNDLE) == []
    for path in sorted(GOLDEN.glob("*/*.linux.conf")):
        assert findings(path.read_text()) == [], path.name


# (rule id, text in the bundle, what replaces it, the violating line's text or None for the
# file's `# ==> PATH` line). Each replacement breaks one check.
VIOLATIONS = [
    # the bundle itself
    ("linux.bundle", "# dr-db1 (", "stray text\n# dr-db1 (", "stray text"),
    ("linux.bundle", "# ==> /etc/issue.net", "# ==> /etc/motd", "# ==> /etc/motd"),
    ("linux.bundle", "# ==> /etc/issue.net", "# ==> /etc/security/faillock.conf", "# ==> /etc/security/faillock.conf"),
    ("linux.bundle", "# ==> /etc/sudoers.d/jinbao-roles", "# ==> /etc/sudoers.d/x/y", "# ==> /etc/sudoers.d/x/y"),
    # sshd -t, its errors mapped back to the bundle's lines
    ("linux.sshd", "PermitRootLogin no", "PermitRootLogin maybe", "PermitRootLogin maybe"),
    ("linux.sshd", "MaxAuthTries 5", "MaxAuthTries five", "MaxAuthTries five"),
    ("linux.sshd", "ClientAliveCountMax 0", "ClientAliveCountMax 0\nClientAlive 3", "ClientAlive 3"),
    ("linux.sshd", "ListenAddress 10.91.4.4", "ListenAddress 10.91.4.400", "ListenAddress 10.91.4.400"),
    # /etc/issue.net
    ("linux.issue", "Authorised access only.", "Authorised access only on \\l.", None),
    ("linux.issue", "Authorised access only.", "Authorised access only.\x1b[5m", None),
    ("linux.issue", "Authorised access only. Jinbao lab replica: all sessions are logged.", "   ", None),
    # faillock.conf
    ("linux.faillock", "deny = 5", "deny = 0", "deny = 0"),
    ("linux.faillock", "deny = 5\n", "", None),
    ("linux.faillock", "unlock_time = 600", "unlock_time = 10m", "unlock_time = 10m"),
    ("linux.faillock", "unlock_time = 600", "unlock_time = 600\nlock_forever = 1", "lock_forever = 1"),
    ("linux.faillock", "unlock_time = 600", "unlock_time = 600\nsilent = yes", "silent = yes"),
    # the TMOUT script: rules, and dash and bash themselves
    ("linux.tmout", "readonly TMOUT=600", "readonly TMOUT=0", "readonly TMOUT=0"),
    ("linux.tmout", "readonly TMOUT=600\n", "TMOUT=600\n", "TMOUT=600"),
    ("linux.tmout", "export TMOUT\n", "", None),
    ("linux.sh", "export TMOUT", "export TMOUT\nif true; then", None),
    ("linux.bash", "export TMOUT", "export TMOUT\nif true; then", None),
    # sudoers
    ("linux.sudoers", "%jinbao-audit ALL=(root) /usr/bin/journalctl", "%jinbao-audit ALL=(root) journalctl", None),
    ("linux.sudoers", "%jinbao-system ALL=(ALL) ALL", "%jinbao-system ALL", "%jinbao-system ALL"),
    ("linux.sudoers", "%jinbao-system ALL=(ALL) ALL", "%jinbao-system ALL=(ALL) BOGUS: ALL", None),
    ("linux.sudoers", "%jinbao-system ALL=(ALL) ALL", "#includedir /etc/sudoers.d\n%jinbao-system ALL=(ALL) ALL", None),
    (
        "linux.sudoers-nopasswd",
        "%jinbao-security ALL=(root) /usr/sbin/nft",
        "%jinbao-security ALL=(root) NOPASSWD: ALL",
        "%jinbao-security ALL=(root) NOPASSWD: ALL, /usr/sbin/faillock, /usr/bin/passwd",
    ),
    (
        "linux.sudoers-separation",
        "%jinbao-audit ALL=(root) /usr/bin/journalctl,",
        "%jinbao-audit ALL=(root) ALL,",
        None,
    ),
    ("linux.sudoers-name", f"# ==> {SUDO}", f"# ==> {SUDO}.conf", f"# ==> {SUDO}.conf"),
    # chrony
    ("linux.chrony", "server 10.91.0.7 iburst", "server ntp.example iburst", "server ntp.example iburst"),
    ("linux.chrony", "server 10.91.0.7 iburst", "server 10.91.0.7 iburst fast", "server 10.91.0.7 iburst fast"),
    ("linux.chrony", "server 10.91.0.7 iburst", "server 10.91.0.7 minpoll", "server 10.91.0.7 minpoll"),
    ("linux.chrony", "server 10.91.0.7 iburst", "server 10.91.0.7 iburst\nallow all", "allow all"),
    ("linux.chrony", "server 10.91.0.7 iburst", "# server 10.91.0.7 iburst", None),
    # rsyslog
    ("linux.rsyslog", '*.* action(type="omfwd"', '*.bogus action(type="omfwd"', None),
    ("linux.rsyslog", 'protocol="udp"', 'protocol="relp"', None),
    ("linux.rsyslog", 'protocol="udp"', 'protocl="udp"', None),
    ("linux.rsyslog", 'target="10.91.0.7"', 'target="loghost"', None),
    ("linux.rsyslog", 'port="514"', 'port="70000"', None),
    ("linux.rsyslog", '*.* action(type="omfwd"', '*.* action(type="omfile"', None),
    ("linux.rsyslog", '*.* action(type="omfwd"', '# *.* action(type="omfwd"', None),
    # snmpd: its own directive table, then the SNMPv3-only rules
    ("linux.snmpd", "sysName dr-db1", "sysNam dr-db1", "sysNam dr-db1"),
    ("linux.snmp-community", "sysName dr-db1", "rocommunity public", "rocommunity public"),
    ("linux.snmp-readonly", "rouser jinbao-mon priv", "rwuser jinbao-mon priv", "rwuser jinbao-mon priv"),
    ("linux.snmp-priv", "rouser jinbao-mon priv", "rouser jinbao-mon auth", "rouser jinbao-mon auth"),
    ("linux.snmp-user", "rouser jinbao-mon priv", "rouser jinbao-nms priv", "rouser jinbao-nms priv"),
    ("linux.snmp-usm", "createUser jinbao-mon SHA", "createUser jinbao-mon MD5", None),
    ("linux.snmp-usm", '" AES "', '" DES "', None),
    ("linux.snmp-usm", '"<secret env:JINBAO_SNMP_PRIV_KEY>"', '"short"', None),
    ("linux.snmp-address", "agentAddress udp:10.91.4.4:161", "agentAddress udp:0.0.0.0:161", None),
    ("linux.snmp-address", "agentAddress udp:10.91.4.4:161", "agentAddress udp:10.91.9.9:161", None),
    ("linux.snmp-address", "agentAddress udp:10.91.4.4:161\n", "", None),
]


@pytest.mark.parametrize(("rule", "old", "new", "line"), VIOLATIONS)
def test_each_check_fails_on_a_bundle_that_breaks_it(rule, old, new, line):
    assert BUNDLE.count(old) == 1, old
    bad = BUNDLE.replace(old, new)
    found = findings(bad)
    hits = [f for f in found if f.rule == rule]
    assert hits, (rule, [str(f) for f in found])
    # The checker sees secrets filled with the dummy value, as the host will have them.
    lines = resolve_secrets(bad, lambda ref: checks.DUMMY_SECRET).splitlines()
    for f in hits:
        # Every finding points at a real line of the bundle, showing that line's text.
        assert 0 < f.line <= len(lines) and lines[f.line - 1].strip() == f.text, str(f)
    if line is not None:
        assert any(f.text == line for f in hits), [str(f) for f in hits]


def test_a_file_is_reported_at_its_marker_and_the_bundle_must_have_files():
    bad = BUNDLE.replace("deny = 5\n", "")
    (f,) = [f for f in findings(bad) if f.rule == "linux.faillock"]
    assert f.text == "# ==> /etc/security/faillock.conf" and bad.splitlines()[f.line - 1] == f.text
    assert [f.rule for f in findings("# only a comment\n")] == ["linux.bundle"]


def test_snmpd_directives_come_from_snmpd_itself():
    known = linux.snmpd_directives()
    assert known is not None and {"createuser", "rouser", "agentaddress", "sysname"} <= known
    assert "vtysh" not in known and "defversion" not in known  # defVersion is the client's snmp.conf


def test_sshd_runs_without_touching_the_machine():
    before = {p: sorted(os.listdir(p)) for p in ("/run", "/etc/ssh") if os.path.isdir(p)}
    assert findings(BUNDLE) == []
    assert {p: sorted(os.listdir(p)) for p in before} == before
    assert not os.path.exists("/run/sshd") or "sshd" in before.get("/run", [])
