"""The transport of the vendor drivers (VRP, Comware, IOS): a prompt-driven CLI session.

The drivers speak to a `Transport`, three methods wide, not to netmiko's connection class: that
keeps netmiko's 45-argument constructor and its own exception tree out of the drivers, and it
lets the conformance suite put a recorded session (`netconfig.drivers.replay.Replay`) where
production puts netmiko. Everything netmiko raises is turned into `ConnectionFailed` here, so a
driver caller sees one error root.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Protocol

from jinbao.netns import connect
from jinbao.secrets import resolve
from jinbao.target import Target

from .base import ConnectionFailed, DriverError


class Transport(Protocol):
    """A logged-in CLI session with paging off."""

    def send(self, command: str, expect: str | None = None, timeout: float = 30.0) -> str:
        """Send one line; return what the device printed before the prompt (or `expect`)."""

    def put_file(self, name: str, text: str) -> None:
        """Copy text to the device's flash as `name` (IOS `configure replace` reads a file)."""

    def close(self) -> None:
        """Log out; safe to call twice."""


class NetmikoTransport:
    """netmiko (pinned 4.8.0) over a socket opened in the target's network namespace."""

    def __init__(self, target: Target, timeout: float = 30.0):
        from netmiko import ConnectHandler
        from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException

        device_type = target.facts.netmiko_device_type
        if not device_type:
            raise DriverError(f"{target.name}: netmiko has no device type for {target.platform!r}")
        self.target = target
        try:
            sock = connect(target.host, target.port, target.netns, timeout=timeout)
            self._conn = ConnectHandler(
                device_type=device_type,
                host=target.host,
                port=target.port,
                username=target.user,
                password=resolve(target.password_ref) if target.password_ref else "",
                key_file=str(target.identity_file) if target.identity_file else None,
                use_keys=bool(target.identity_file),
                allow_agent=False,
                ssh_strict=bool(target.known_hosts),
                system_host_keys=False,
                alt_host_keys=bool(target.known_hosts),
                alt_key_file=str(target.known_hosts or ""),
                sock=sock,
                conn_timeout=timeout,
                read_timeout_override=None,
            )
        except (OSError, NetmikoTimeoutException, NetmikoAuthenticationException) as e:
            raise ConnectionFailed(f"{target.name} ({target.user}@{target.host}): {type(e).__name__}: {e}") from e

    def send(self, command: str, expect: str | None = None, timeout: float = 30.0) -> str:
        from netmiko.exceptions import ReadTimeout

        try:
            # cmd_verify off when a question is expected: the device echoes the answer, not the line.
            out = self._conn.send_command(
                command, expect_string=expect, read_timeout=timeout, cmd_verify=expect is None
            )
        except (OSError, ReadTimeout) as e:
            raise ConnectionFailed(f"{self.target.name}: {command!r}: {type(e).__name__}: {e}") from e
        return str(out)

    def put_file(self, name: str, text: str) -> None:
        # SCP through netmiko's file transfer: needs `ip scp server enable` on the device. Only
        # the IOS driver calls this (netmiko has no file transfer for VRP or Comware).
        from netmiko import file_transfer

        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / name
            src.write_text(text)
            try:
                file_transfer(
                    self._conn, source_file=str(src), dest_file=name, file_system="flash:", overwrite_file=True
                )
            except (OSError, ValueError) as e:
                raise DriverError(f"{self.target.name}: copying {name} to flash: failed: {e}") from e

    def close(self) -> None:
        with contextlib.suppress(OSError):  # the session is gone either way
            self._conn.disconnect()
