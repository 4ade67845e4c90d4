"""The poller against a real net-snmp snmpd on loopback (no lab, no root): an agent restart is
seen as a reboot, and an agent that answers a value of the wrong type is malformed, not a crash."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from jinbao.target import Target
from monitoring import poller
from monitoring.profiles import profile_of
from monitoring.snmp import Credentials
from monitoring.state import PollState

SNMPD = shutil.which("snmpd") or "/usr/sbin/snmpd"
pytestmark = pytest.mark.skipif(not Path(SNMPD).exists(), reason="needs net-snmp's snmpd (make setup installs it)")

USER, AUTH, PRIV = "jinbao-test", "loopback-auth-1", "loopback-priv-1"


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Agent:
    """snmpd in the foreground (-f), so this test owns its PID and ends only that process."""

    def __init__(self, folder, extra: str = ""):
        self.port = _free_udp_port()
        self.folder = folder
        (folder / "state").mkdir(exist_ok=True)
        self.conf = folder / "snmpd.conf"
        self.conf.write_text(
            f"agentAddress udp:127.0.0.1:{self.port}\n"
            f'createUser {USER} SHA "{AUTH}" AES "{PRIV}"\nrouser {USER} priv\n'
            f"sysName loopback-agent\ndontLogTCPWrappersConnects yes\n{extra}"
        )
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        cmd = [SNMPD, "-f", "-C", "-c", str(self.conf), "-Lf", str(self.folder / "snmpd.log"), "-I", "-smux"]
        self.proc = subprocess.Popen(cmd, env={"SNMP_PERSISTENT_DIR": str(self.folder / "state")})
        time.sleep(0.5)  # snmpd binds its port before it answers; a first request would only retry

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def agent(tmp_path):
    made = []

    def make(extra: str = "") -> Agent:
        folder = tmp_path / f"agent{len(made)}"
        folder.mkdir()
        a = Agent(folder, extra)
        a.start()
        made.append(a)
        return a

    yield make
    for a in made:
        a.stop()


def _job(lab_estate, a: Agent, name: str = "loopback-agent") -> poller.Job:
    """A server-class device of the lab estate, reached at the loopback agent."""
    d = lab_estate.devices["prov-mon1"].model_copy(update={"name": name})
    t = Target(name=d.name, platform=d.platform, host="127.0.0.1", user="jinbao", snmp_profile=d.snmp_profile)
    prof = profile_of(d)
    assert prof is not None
    return poller.Job(d, t, prof, Credentials(USER, "sha", "aes", AUTH, PRIV), port=a.port)


def test_an_agent_restart_is_a_reboot_and_its_reset_counters_give_no_rate(agent, lab_estate):
    a = agent()
    job, state = _job(lab_estate, a), PollState()
    time.sleep(4)  # up a while: after the restart its sysUpTime is clearly lower
    first = poller.poll([job], state).results["loopback-agent"]
    assert not first.failed, first.why
    assert first.data["system"]["sys_name"] == "loopback-agent" and not first.data["system"]["rebooted"]
    a.stop()
    a.start()
    again = poller.poll([job], state).results["loopback-agent"]
    assert not again.failed, again.why
    assert again.data["system"]["rebooted"]
    assert again.data["system"]["uptime_s"] < first.data["system"]["uptime_s"] + 5
    # The agent restarted: the interfaces were read afresh and no rate spans the restart.
    assert again.data["interfaces_static_read"]
    assert all(i["in_bps"] is None for i in again.data["interfaces"])
    time.sleep(1)
    third = poller.poll([job], state).results["loopback-agent"]
    assert not third.data["system"]["rebooted"] and all(i["in_bps"] is not None for i in third.data["interfaces"])


def test_an_agent_answering_the_wrong_type_is_malformed_and_the_others_still_answer(agent, lab_estate):
    good = agent()
    # net-snmp's own `override`: sysUpTime answered as an OCTET STRING, a real agent gone wrong.
    bad = agent('override .1.3.6.1.2.1.1.3.0 octet_str "not-a-timeticks"\n')
    jobs = [_job(lab_estate, good), _job(lab_estate, bad, "bad-agent")]
    agg = poller.poll(jobs)
    assert not agg.results["loopback-agent"].failed
    r = agg.results["bad-agent"]
    assert r.failed and r.data["status"] == "malformed"
    assert "sysUpTime" in r.why and "OCTET STRING" in r.why
