"""testinfra: each host's SNMP agent answers the estate's v3 user at authPriv only (MLPS 2.0 level 3).

An independent check of the role: the policy is written out here, and the agent is asked over the
network, from where this suite runs (the operator seat), as the monitoring would ask it. The user
and keys are the monitoring's own: JINBAO_SNMP_USER (default jinbao-mon) and the values of
JINBAO_SNMP_AUTH_KEY / JINBAO_SNMP_PRIV_KEY, handed to net-snmp through a 0600 config file so no key
is on a command line or in this suite's output.

    pytest roles/snmpd/tests --hosts=ssh://10.91.0.6 --ssh-config=FILE --sudo
"""

import os
import re
import subprocess
import tempfile

import pytest

SYSNAME = ".1.3.6.1.2.1.1.5.0"
COMMUNITY = re.compile(
    r"^\s*(rocommunity6?|rwcommunity6?|com2sec6?|trapcommunity|trapsink|trap2sink|informsink)\s", re.M
)
CONFIGS = "/etc/snmp/snmpd.conf /etc/snmp/snmpd.conf.d /etc/snmp/snmpd-jinbao-usm.conf"


@pytest.fixture(scope="module")
def address(host) -> str:
    return host.backend.hostname


@pytest.fixture(scope="module")
def snmpget():
    """Run snmpget from here with the monitoring's credentials in a private client config."""
    auth, priv = os.environ.get("JINBAO_SNMP_AUTH_KEY"), os.environ.get("JINBAO_SNMP_PRIV_KEY")
    if not auth or not priv:
        pytest.fail("set JINBAO_SNMP_AUTH_KEY and JINBAO_SNMP_PRIV_KEY (the monitoring's keys)")
    with tempfile.TemporaryDirectory() as d:
        conf = os.path.join(d, "snmp.conf")
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, f"defAuthPassphrase {auth}\ndefPrivPassphrase {priv}\nmibs :\n".encode())
        os.close(fd)
        env = {**os.environ, "SNMPCONFPATH": d, "SNMP_PERSISTENT_DIR": d}

        def get(address: str, *args: str, timeout: str = "2") -> subprocess.CompletedProcess:
            cmd = ["snmpget", "-On", "-Oqv", "-r", "1", "-t", timeout, *args, f"udp:{address}:161", SYSNAME]
            return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=30)

        yield get


def _v3(level: str) -> list[str]:
    user = os.environ.get("JINBAO_SNMP_USER", "jinbao-mon")
    return ["-v3", "-l", level, "-u", user, "-a", "SHA", "-x", "AES"]


def test_snmpd_is_running(host):
    assert host.process.filter(comm="snmpd"), "no snmpd process"


def test_no_community_is_configured(host):
    out = host.run(f"cat $(find {CONFIGS} -type f 2>/dev/null) 2>/dev/null").stdout
    assert not COMMUNITY.findall(out)


def test_the_key_file_is_readable_by_root_and_the_agent_only(host):
    f = host.file("/etc/snmp/snmpd-jinbao-usm.conf")
    assert f.user == "root" and f.mode & 0o037 == 0, oct(f.mode)


def test_the_v3_user_reads_the_system_at_auth_priv(host, address, snmpget):
    r = snmpget(address, *_v3("authPriv"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().strip('"') == host.check_output("hostname")


def test_the_v3_user_without_privacy_is_refused(address, snmpget):
    r = snmpget(address, *_v3("authNoPriv"))
    assert r.returncode != 0 and "authorizationError" in (r.stdout + r.stderr)


def test_v2c_is_not_answered(address, snmpget):
    # An agent that takes a community answers at once; the v3 checks above show this one is up.
    r = snmpget(address, "-v2c", "-c", "public", timeout="1")
    assert r.returncode != 0 and "Timeout" in r.stderr
