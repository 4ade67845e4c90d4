"""Simulated devices for bench/monitoring_bench.py: snmpsim processes on 127.0.0.x loopback.

Each device is one UDP endpoint with its own .snmprec file, which snmpsim serves to SNMPv3
requests whose context name is the file's name (snmpsim answers no v3 request in the empty
context: it unregisters it), so every tool polls each device with its `context`. Devices
are spread over several simulator processes (each one core at most: snmpsim is pysnmp, about as
costly per varbind as the poller), and each process's CPU seconds are read from /proc so the
bench can say whether the simulator was the bottleneck.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import snmpsim

USER, AUTH_KEY, PRIV_KEY = "jinbao-bench", "bench-auth-key-1", "bench-priv-key-1"
CLK_TCK = os.sysconf("SC_CLK_TCK")
IF = "1.3.6.1.2.1.2.2.1"
IFX = "1.3.6.1.2.1.31.1.1.1"
HR_STORAGE = "1.3.6.1.2.1.25.2.3.1"


def _key(oid: str) -> tuple[int, ...]:
    return tuple(int(x) for x in oid.split("."))


def snmprec(n_if: int, seed: int) -> str:
    """A router's agent with n_if interfaces (ifTable + ifXTable), two CPUs and four storage
    rows (HOST-RESOURCES-MIB), in snmpsim's OID|tag|value format, sorted by OID."""
    rnd = random.Random(seed)
    rows: list[tuple[str, int | str, object]] = [
        ("1.3.6.1.2.1.1.1.0", 4, "jinbao bench simulated router"),
        # sysUpTime advances (snmpsim's numeric variation): a frozen one would look like a reboot
        # at every poll, and a reboot makes the poller re-read the static columns.
        ("1.3.6.1.2.1.1.3.0", "67:numeric", f"rate=100,initial={100 * rnd.randint(3600, 10_000_000)}"),
        ("1.3.6.1.2.1.1.5.0", 4, f"sim-{seed}"),
        ("1.3.6.1.2.1.2.1.0", 2, n_if),
        ("1.3.6.1.2.1.31.1.5.0", 67, 4200),
    ]
    for i in range(1, n_if + 1):
        up = rnd.random() > 0.1
        speed = rnd.choice((1000, 10_000, 100))
        name = f"GigabitEthernet0/{i}"
        rows += [
            (f"{IF}.1.{i}", 2, i),
            (f"{IF}.2.{i}", 4, name),
            (f"{IF}.7.{i}", 2, 1),
            (f"{IF}.8.{i}", 2, 1 if up else 2),
            (f"{IF}.13.{i}", 65, rnd.randint(0, 1000)),
            (f"{IF}.14.{i}", 65, rnd.randint(0, 100)),
            (f"{IF}.19.{i}", 65, rnd.randint(0, 1000)),
            (f"{IF}.20.{i}", 65, rnd.randint(0, 100)),
            (f"{IFX}.1.{i}", 4, f"Gi0/{i}"),
            (f"{IFX}.6.{i}", 70, rnd.randint(0, 2**50)),
            (f"{IFX}.10.{i}", 70, rnd.randint(0, 2**50)),
            (f"{IFX}.15.{i}", 66, speed),
            (f"{IFX}.18.{i}", 4, f"to site {rnd.randint(1, 99)}"),
        ]
    rows += [(f"1.3.6.1.2.1.25.3.3.1.2.{768 + c}", 2, rnd.randint(1, 60)) for c in (1, 2)]
    for s, (kind, descr) in enumerate((("2", "Physical memory"), ("4", "/"), ("4", "/var"), ("4", "/data")), 1):
        size = rnd.randint(10**6, 10**8)
        rows += [
            (f"{HR_STORAGE}.1.{s}", 2, s),
            (f"{HR_STORAGE}.2.{s}", 6, f"1.3.6.1.2.1.25.2.1.{kind}"),
            (f"{HR_STORAGE}.3.{s}", 4, descr),
            (f"{HR_STORAGE}.4.{s}", 2, 4096),
            (f"{HR_STORAGE}.5.{s}", 2, size),
            (f"{HR_STORAGE}.6.{s}", 2, rnd.randint(0, size)),
        ]
    rows.sort(key=lambda r: _key(r[0]))
    return "".join(f"{o}|{t}|{v}\n" for o, t, v in rows)


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a live process (fields 14 and 15 of /proc/PID/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


@dataclass
class Device:
    name: str
    host: str
    port: int
    interfaces: int
    context: str


@dataclass
class Fleet:
    """N devices over `procs` snmpsim processes; start() launches them, stop() ends them by PID."""

    folder: Path
    n: int
    procs: int
    min_if: int = 48
    max_if: int = 200
    seed: int = 11
    first_host: int = 10  # devices of process p are on 127.0.0.<first_host + p>
    devices: list[Device] = field(default_factory=list)
    popen: list[subprocess.Popen] = field(default_factory=list)

    def generate(self) -> None:
        rnd = random.Random(self.seed)
        for p in range(self.procs):
            for sub in ("data", "cache"):
                (self.folder / f"sim{p}" / sub).mkdir(parents=True, exist_ok=True)
        for i in range(self.n):
            p, slot = i % self.procs, i // self.procs
            n_if = rnd.randint(self.min_if, self.max_if)
            # Devices of one process share its address; each has its own port and data file.
            host, port = f"127.0.0.{self.first_host + p}", 20000 + slot
            path = self.folder / f"sim{p}" / "data" / f"1.3.6.1.6.1.1.{slot}.snmprec"
            path.write_text(snmprec(n_if, self.seed * 100_000 + i))
            self.devices.append(Device(f"sim{i:04d}", host, port, n_if, f"1.3.6.1.6.1.1.{slot}"))

    def start(self) -> None:
        exe = shutil.which("snmpsim-command-responder", path=str(Path(sys.executable).parent))
        if exe is None:
            raise SystemExit("snmpsim is not installed in this venv: pip install -e '.[bench]'")
        for p in range(self.procs):
            base = self.folder / f"sim{p}"
            mine = [d for i, d in enumerate(self.devices) if i % self.procs == p]
            args = [exe, "--v3-engine-id", "auto", "--data-dir", str(base / "data"), "--cache-dir", str(base / "cache")]
            # Its variation modules (numeric: the advancing sysUpTime) ship inside the package,
            # where snmpsim does not look by default.
            args += ["--variation-modules-dir", str(Path(snmpsim.__file__).parent / "variation")]
            args += [f"--pid-file={base / 'pid'}", "--log-level=error", "--logging-method=null"]
            args += ["--v3-user", USER, "--v3-auth-key", AUTH_KEY, "--v3-auth-proto", "SHA"]
            args += ["--v3-priv-key", PRIV_KEY, "--v3-priv-proto", "AES"]
            args += [f"--agent-udpv4-endpoint={d.host}:{d.port}" for d in mine]
            # As root, snmpsim drops to a user that cannot read this venv's interpreter (its lazy
            # imports then fail); it only binds high loopback ports, so it may stay root.
            env = dict(os.environ, SNMPSIM_ALLOW_ROOT="true")
            log = open(base / "responder.log", "w")  # noqa: SIM115 - lives as long as the process
            self.popen.append(subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env))
        for p in range(self.procs):
            mine = [d for i, d in enumerate(self.devices) if i % self.procs == p]
            self._wait_ready(mine[-1], self.popen[p], self.folder / f"sim{p}")

    def _wait_ready(self, d: Device, proc: subprocess.Popen, base: Path) -> None:
        """Until the process's last endpoint answers a v3 get (it indexes every data file first)."""
        deadline = time.monotonic() + 60 + self.n * 0.2
        cmd = ["snmpget", "-v3", "-l", "authPriv", "-u", USER, "-a", "SHA", "-A", AUTH_KEY, "-x", "AES"]
        cmd += ["-X", PRIV_KEY, "-n", d.context, "-t", "1", "-r", "0", "-Oqv"]
        cmd += [f"{d.host}:{d.port}", "1.3.6.1.2.1.1.5.0"]
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"snmpsim ended with {proc.returncode}: see {base / 'responder.log'}")
            if subprocess.run(cmd, capture_output=True).returncode == 0:
                return
            time.sleep(0.5)
        raise SystemExit(f"snmpsim at {d.host}:{d.port} did not answer: see {base / 'responder.log'}")

    def cpu(self) -> float:
        return sum(proc_cpu(p.pid) for p in self.popen)

    def stop(self) -> None:
        for p in self.popen:
            p.terminate()
        for p in self.popen:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.popen.clear()
