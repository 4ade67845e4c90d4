"""Put a certificate and its key on a device over SSH and start a TLS service that presents it.

The transport is plain OpenSSH, driven by the core's Target: the operator's key, a pinned
known_hosts file and the way to the management network (in the lab: its operator namespace).
A deployment is a Result: a device that cannot be reached or refuses a step fails as data, and
the CLI turns that into exit 1 (a target failed), not 2 (bad input).
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from jinbao.result import Result
from jinbao.target import Target

from .errors import PkiError


class DeployFailed(PkiError):
    """A step on the device failed; the message names the step, never the key."""


def _run(t: Target, step: str, remote: str, stdin: bytes | None = None, timeout: float = 30) -> str:
    try:
        r = t.run(remote, stdin=stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise DeployFailed(f"{step}: timed out after {timeout:.0f} s") from None
    if r.returncode != 0:
        why = r.stderr.decode(errors="replace").strip()[:400] or f"exit {r.returncode}"
        raise DeployFailed(f"{step}: {why}")
    return r.stdout.decode()


def deploy(
    t: Target, cert_pem: bytes, key_pem: bytes, chain_pem: bytes, dest: str = "tls", serve_port: int | None = None
) -> Result:
    """Copy cert, chain and key (0600) into ~/<dest> on the device; optionally serve TLS on a port.

    All three files are written beside their final names first and renamed together at the end,
    so a transfer that fails midway leaves the device with its old, matching pair."""
    task = "pki deploy"
    try:
        data = _deploy(t, cert_pem, key_pem, chain_pem, dest, serve_port)
    except DeployFailed as e:
        return Result(t.name, task, failed=True, exception=f"{t.name} ({t.host}): {e}")
    return Result(t.name, task, changed=True, data=data)


def _deploy(t: Target, cert_pem: bytes, key_pem: bytes, chain_pem: bytes, dest: str, serve_port: int | None) -> dict:
    d = shlex.quote(dest)
    _run(t, "writing the certificate", f"umask 077 && mkdir -p {d} && cat > {d}/cert.pem.new", cert_pem)
    _run(t, "writing the chain", f"umask 077 && cat > {d}/chain.pem.new", chain_pem)
    _run(t, "writing the key", f"umask 077 && cat > {d}/key.pem.new", key_pem)
    swap = " && ".join(f"mv {d}/{f}.pem.new {d}/{f}.pem" for f in ("key", "cert", "chain"))
    _run(t, "putting the new files in place", swap)
    # The key never goes to a log: only its location and mode are reported back.
    mode = _run(t, "reading the key's mode", f"stat -c %a {d}/key.pem").strip()
    out: dict = {"host": t.host, "dir": dest, "key_mode": mode}
    if serve_port:
        _run(
            t,
            f"starting the TLS service on port {serve_port}",
            f"(test -f {d}/server.pid && kill $(cat {d}/server.pid)) 2>/dev/null; "
            f"nohup openssl s_server -quiet -accept {int(serve_port)} -cert {d}/cert.pem -key {d}/key.pem "
            f"-cert_chain {d}/chain.pem -www >/dev/null 2>&1 < /dev/null & echo $! > {d}/server.pid",
        )
        out["tls_port"] = serve_port
    return out


def chain_for(ca_dir: Path) -> bytes:
    """The issuing CA certificate (what a server sends after its own); the root stays with relying parties."""
    return (Path(ca_dir) / "issuing" / "issuing.crt").read_bytes()
