"""A real net-snmp snmpd on a loopback port (no root, no lab), and poller jobs that reach it.

The agent runs in the foreground (-f) so the test owns its PID and ends only that process;
`start` returns once snmpget is answered, never after a guessed sleep."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from jinbao.model import Estate
from jinbao.target import Target
from monitoring import poller
from monitoring.profiles import profile_of
from monitoring.snmp import Credentials

SNMPD = shutil.which("snmpd") or "/usr/sbin/snmpd"
USER, AUTH, PRIV = "jinbao-test", "loopback-auth-1", "loopback-priv-1"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def snmp(tool: str, port: int, *args: str) -> str:
    """net-snmp's own tool (snmpget, snmpbulkwalk) against the loopback agent, numeric output."""
    cmd = [tool, "-v3", "-l", "authPriv", "-u", USER, "-a", "SHA", "-A", AUTH, "-x", "AES", "-X", PRIV]
    cmd += ["-On", "-Oe", "-Ot", "-r", "1", "-t", "2", f"udp:127.0.0.1:{port}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=30).stdout


class Agent:
    def __init__(self, folder: Path, extra: str = ""):
        self.port = free_udp_port()
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "state").mkdir(exist_ok=True)
        self.conf = folder / "snmpd.conf"
        self.conf.write_text(
            f"agentAddress udp:127.0.0.1:{self.port}\n"
            f'createUser {USER} SHA "{AUTH}" AES "{PRIV}"\nrouser {USER} priv\n'
            f"sysName loopback-agent\ndontLogTCPWrappersConnects yes\n{extra}"
        )
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 20) -> None:
        cmd = [SNMPD, "-f", "-C", "-c", str(self.conf), "-Lf", str(self.folder / "snmpd.log"), "-I", "-smux"]
        self.proc = subprocess.Popen(cmd, env={"SNMP_PERSISTENT_DIR": str(self.folder / "state")})
        end = time.monotonic() + timeout
        while True:
            try:
                snmp("snmpget", self.port, ".1.3.6.1.2.1.1.3.0")
                return
            except subprocess.CalledProcessError:
                if time.monotonic() > end or self.proc.poll() is not None:
                    raise RuntimeError(
                        f"snmpd on udp:{self.port} never answered; see {self.folder}/snmpd.log"
                    ) from None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


def job(estate: Estate, port: int, name: str = "loopback-agent", like: str = "prov-mon1") -> poller.Job:
    """A device of the estate (a copy of `like`, so it has a class, site and role), reached at the port."""
    d = estate.devices[like].model_copy(update={"name": name})
    t = Target(name=d.name, platform=d.platform, host="127.0.0.1", user="jinbao", snmp_profile=d.snmp_profile)
    prof = profile_of(d)
    assert prof is not None
    return poller.Job(d, t, prof, Credentials(USER, "sha", "aes", AUTH, PRIV), port=port)
