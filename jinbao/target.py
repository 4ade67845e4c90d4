"""How to reach a device: one type that ssh, netmiko/NAPALM, pysnmp and Ansible all read.

A target is data, as a Nornir host carries its connection options: the management address, the
user, credentials by reference (a key file's path, a secret reference; never the secret), and
the way there. The way there matters because the management network is out of band: in the lab
it is reachable only from the lab's operator namespace, so a target names that namespace and
every transport starts its process (ssh) or opens its sockets (SNMP, NAPALM) inside it.

Where targets come from is pluggable, like the command groups: a domain that can supply targets
(the lab, for its nodes) registers a function under the `jinbao.targets` entry-point group, and
any other domain asks for them with `targets("lab:<id>")` without importing that domain.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path

import click

from .errors import JinbaoError
from .platforms import PlatformFacts, facts
from .secrets import resolve_from

TARGET_SOURCES = "jinbao.targets"


@dataclass(frozen=True)
class Target:
    """Everything needed to open a session to one device, and nothing secret."""

    name: str
    platform: str
    host: str  # management address
    user: str
    port: int = 22
    identity_file: Path | None = None  # SSH private key: its path, never its bytes
    password_ref: str | None = None  # a secret reference (env:/file:/vault:), resolved at use
    known_hosts: Path | None = None  # pinned host keys; with it, an unknown key is refused
    netns: str | None = None  # network namespace the management network is reachable from
    snmp_profile: str | None = None
    # Values for env: secret references that are not exported (the lab's per-run secrets.env);
    # a path, like identity_file, never the values.
    secrets_file: Path | None = None
    options: Mapping[str, str] = field(default_factory=dict)  # extra ssh -o options

    @property
    def facts(self) -> PlatformFacts:
        return facts(self.platform)

    def secret(self, ref: str) -> str:
        """A secret reference resolved for this device (secrets_file first for env: references)."""
        return resolve_from(ref, self.secrets_file)

    @property
    def via(self) -> tuple[str, ...]:
        """The command prefix that runs a process where the management network is reachable."""
        return ("ip", "netns", "exec", self.netns) if self.netns else ()

    def ssh_command(self, *remote: str, user: str | None = None, connect_timeout: int = 5) -> list[str]:
        """An OpenSSH command line (with `via`) that runs remote on the device, non-interactively."""
        opts = {
            "BatchMode": "yes",
            "ConnectTimeout": str(connect_timeout),
            "LogLevel": "ERROR",
            **(
                {"UserKnownHostsFile": str(self.known_hosts), "StrictHostKeyChecking": "yes"}
                if self.known_hosts
                else {}
            ),
            **self.options,
        }
        cmd = [*self.via, "ssh", "-p", str(self.port)]
        if self.identity_file:
            cmd += ["-i", str(self.identity_file), "-o", "IdentitiesOnly=yes"]
        for k, v in opts.items():
            cmd += ["-o", f"{k}={v}"]
        return [*cmd, f"{user or self.user}@{self.host}", *remote]

    def run(
        self, remote: str, *, stdin: bytes | None = None, timeout: float = 30, user: str | None = None
    ) -> subprocess.CompletedProcess:
        """Run a shell command on the device over SSH; the caller reads returncode and output."""
        return subprocess.run(self.ssh_command(remote, user=user), input=stdin, capture_output=True, timeout=timeout)


TargetSource = Callable[[str], dict[str, Target]]


@cache
def _sources() -> dict[str, TargetSource]:
    # Built once from installed entry points: a plain dict, not a mutable registry.
    return {ep.name: ep.load() for ep in entry_points(group=TARGET_SOURCES)}


def targets(spec: str) -> dict[str, Target]:
    """The targets a source supplies, by device name. spec is `<source>:<ref>`, e.g. `lab:jb1a2b`.

    An unknown source or a ref the source cannot find is bad input (JinbaoError, exit 2)."""
    kind, sep, ref = spec.partition(":")
    sources = _sources()
    if not sep or kind not in sources:
        known = ", ".join(f"{k}:<ref>" for k in sorted(sources)) or "none installed"
        raise JinbaoError(f"unknown target source {spec!r}; use one of: {known}")
    return sources[kind](ref)


def target(spec: str, device: str) -> Target:
    """One device's target from a source; a device the source does not have is bad input."""
    found = targets(spec)
    if device not in found:
        raise JinbaoError(f"{spec} has no device {device!r}; it has: {', '.join(sorted(found)) or 'none'}")
    return found[device]


def source_of(lab_id: str | None, spec: str | None) -> str | None:
    """The target source a command's `--lab ID` / `--targets SPEC` name (`lab:` alone: the only
    lab up); None when neither is given, which each command reads its own way."""
    if lab_id and spec:
        raise click.UsageError("give --lab or --targets, not both")
    return spec or (f"lab:{lab_id}" if lab_id is not None else None)


def estate_for(ctx: click.Context, source: str | None, estate: str | None) -> str:
    """The estate a command judges the source's devices by: --estate if given; else the lab
    estate for a lab (its nodes share the province's names, so any other estate judges the wrong
    intent), the estate of an `estate:` source, else jinbao's --estate."""
    if estate:
        return estate
    source = source or ""
    if source.startswith("lab:"):
        return "lab"
    if source.startswith("estate:") and source != "estate:":
        return source.split(":", 1)[1]  # the devices and their intent are the same estate
    return str((ctx.find_root().obj or {}).get("estate", "province"))
