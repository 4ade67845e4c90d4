"""One SSH session to a Linux-family device (FRR, nftables, Linux), for running commands.

paramiko exec channels, not netmiko's screen-scraping: these devices have a real shell, so each
command gets its own exit status and a clean stdout, and a file goes up as stdin. (netmiko is
for the vendor CLIs, which have only a prompt.) The socket is opened inside the Target's netns
by `jinbao.netns.connect`; the host key must be in the Target's known_hosts when it names one.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

import paramiko

from jinbao.netns import connect
from jinbao.secrets import resolve
from jinbao.target import Target

from .base import ConnectionFailed, DriverError


@dataclass(frozen=True)
class Ran:
    rc: int
    out: str
    err: str


class Shell:
    """A logged-in session to one target; run() as many commands as needed, then close()."""

    def __init__(self, target: Target, timeout: float = 20.0):
        self.target = target
        self.timeout = timeout
        self._client: paramiko.SSHClient | None = None

    def open(self) -> None:
        t = self.target
        client = paramiko.SSHClient()
        if t.known_hosts:
            client.load_host_keys(str(t.known_hosts))
            client.set_missing_host_key_policy(paramiko.RejectPolicy())
        else:
            # No pinned keys for this target: accept (the Target chose not to pin), as ssh would
            # with StrictHostKeyChecking=no. Production targets always carry known_hosts.
            client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        try:
            sock = connect(t.host, t.port, t.netns, timeout=self.timeout)
            client.connect(
                t.host,
                port=t.port,
                username=t.user,
                key_filename=str(t.identity_file) if t.identity_file else None,
                password=resolve(t.password_ref) if t.password_ref else None,
                sock=sock,
                timeout=self.timeout,
                banner_timeout=self.timeout,
                auth_timeout=self.timeout,
                look_for_keys=False,
                allow_agent=False,
            )
        except (OSError, paramiko.SSHException) as e:
            client.close()
            raise ConnectionFailed(f"{t.name} ({t.user}@{t.host}): {type(e).__name__}: {e}") from e
        self._client = client

    def close(self) -> None:
        if self._client:
            self._client.close()
            self._client = None

    def run(self, command: str, stdin: str | None = None, timeout: float | None = None) -> Ran:
        """Run command in the device's shell; its exit status is returned, not raised."""
        if not self._client:
            raise DriverError(f"{self.target.name}: not open")
        try:
            i, o, e = self._client.exec_command(command, timeout=timeout or self.timeout)
            if stdin is not None:
                i.write(stdin)
            i.channel.shutdown_write()
            out, err = o.read().decode(errors="replace"), e.read().decode(errors="replace")
            return Ran(o.channel.recv_exit_status(), out, err)
        except (OSError, paramiko.SSHException) as ex:
            raise ConnectionFailed(f"{self.target.name}: lost the session: {type(ex).__name__}: {ex}") from ex

    def check(self, command: str, stdin: str | None = None, what: str | None = None) -> str:
        """stdout of a command that must succeed; DriverError naming it (or what) otherwise."""
        r = self.run(command, stdin)
        if r.rc != 0:
            why = (r.err or r.out).strip()[-500:]
            raise DriverError(f"{self.target.name}: {what or command} failed ({r.rc}): {why}")
        return r.out


def q(s: str) -> str:
    """Quote one word for the device's POSIX shell."""
    return shlex.quote(s)
