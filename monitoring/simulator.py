"""snmpsim serving the recorded devices of monitoring/sim/ on one loopback port.

One snmpsim-command-responder process serves every recording it is given. It picks the
recording by the SNMPv3 context name (authPriv, SHA and AES, with the user and keys given), or
by the v2c community: both are the recording's name (`ups`, `env_sensor`, ...). A request with
an empty context gets no answer from snmpsim 1.2.2 (its context probe finds no data file), so the
poller's Job carries the context for a simulated device.

The simulator is started and stopped by its PID; it is ready once it answers SNMPv3 on its first
endpoint (polled, never slept for).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from jinbao.errors import JinbaoError

RECORDINGS = Path(__file__).parent / "sim"


def free_udp_ports(n: int) -> list[int]:
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@dataclass
class Simulator:
    """A running snmpsim: which recording answers on which port, and how to reach it."""

    recordings: list[str]
    user: str
    auth_key: str = field(repr=False)
    priv_key: str = field(repr=False)
    host: str = "127.0.0.1"
    port: int = 0
    proc: subprocess.Popen | None = None
    workdir: Path | None = None

    def start(self, ready_within: float = 60.0) -> Simulator:
        missing = [r for r in self.recordings if not (RECORDINGS / f"{r}.snmprec").is_file()]
        if missing:
            raise JinbaoError(f"no recording {', '.join(missing)} in {RECORDINGS}")
        self.workdir = Path(tempfile.mkdtemp(prefix="jinbao-snmpsim-"))
        data = self.workdir / "data"
        data.mkdir()
        cache = self.workdir / "cache"
        cache.mkdir()
        self.port = free_udp_ports(1)[0]
        args = [
            str(Path(sys.executable).with_name("snmpsim-command-responder")),
            f"--data-dir={data}",
            f"--cache-dir={cache}",
            "--log-level=error",
            f"--v3-user={self.user}",
            f"--v3-auth-key={self.auth_key}",
            "--v3-auth-proto=SHA",
            f"--v3-priv-key={self.priv_key}",
            "--v3-priv-proto=AES",
        ]
        if os.geteuid() == 0:
            # snmpsim refuses to serve as root and would drop to an unprivileged user, who may not
            # read the Python it runs on (a pyenv under /root). In a user namespace of its own it
            # is uid 1000 to itself and still the files' owner (root) to the kernel: no privilege
            # in the machine's namespaces, nothing it cannot read.
            args = ["unshare", "--user", "--map-user=1000", "--map-group=1000", *args]
        for rec in self.recordings:
            shutil.copy(RECORDINGS / f"{rec}.snmprec", data / f"{rec}.snmprec")
        args.append(f"--agent-udpv4-endpoint={self.host}:{self.port}")
        log = (self.workdir / "snmpsim.log").open("wb")
        # Its own session: stopping it by PID never touches the test runner's process group.
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self._wait_ready(ready_within)
        except BaseException:
            self.stop()  # its process and its folder, whatever went wrong
            raise
        return self

    def _wait_ready(self, within: float) -> None:
        first = self.recordings[0]
        conf = self.workdir / "snmp.conf"  # type: ignore[operator]
        conf.write_text(
            f"defVersion 3\ndefSecurityLevel authPriv\ndefSecurityName {self.user}\ndefAuthType SHA\n"
            f"defAuthPassphrase {self.auth_key}\ndefPrivType AES\ndefPrivPassphrase {self.priv_key}\n"
        )
        env = {**os.environ, "SNMPCONFPATH": str(self.workdir)}
        until = time.monotonic() + within
        while time.monotonic() < until:
            assert self.proc is not None
            if self.proc.poll() is not None:
                # Its log may hold the keys it was given: say only how it ended.
                raise JinbaoError(f"snmpsim ended with {self.proc.returncode} before it answered")
            r = subprocess.run(
                ["snmpget", "-r", "0", "-t", "1", "-n", first, f"{self.host}:{self.port}", "1.3.6.1.2.1.1.5.0"],
                env=env,
                capture_output=True,
                text=True,
            )
            if r.returncode == 0:
                return
        raise JinbaoError(f"snmpsim did not answer within {within:g} s")

    def log(self) -> str:
        path = (self.workdir or Path("/nonexistent")) / "snmpsim.log"
        return path.read_text(errors="replace") if path.is_file() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
