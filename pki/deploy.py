"""Put a certificate and its key on a device over SSH and start a TLS service that presents it.

The transport is plain OpenSSH with the operator's key and a pinned known_hosts file; `via`
is a command prefix for reaching the management network (in the lab: its operator namespace).
"""

from __future__ import annotations

import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import PkiError


@dataclass(frozen=True)
class SshTarget:
    host: str
    ssh_args: tuple[str, ...]  # everything up to and including user@host
    via: tuple[str, ...] = ()  # e.g. ("ip", "netns", "exec", "<lab>-ops")


def _run(t: SshTarget, remote: str, stdin: bytes | None = None, timeout: float = 30) -> str:
    r = subprocess.run([*t.via, *t.ssh_args, remote], input=stdin, capture_output=True, timeout=timeout)
    if r.returncode != 0:
        raise PkiError(f"on {t.host}: {remote.split()[0]} failed: {r.stderr.decode(errors='replace').strip()[:400]}")
    return r.stdout.decode()


def deploy(
    t: SshTarget, cert_pem: bytes, key_pem: bytes, chain_pem: bytes, dest: str = "tls", serve_port: int | None = None
) -> dict:
    """Copy cert, chain and key (0600) into ~/<dest> on the device; optionally serve TLS on a port."""
    d = shlex.quote(dest)
    _run(t, f"umask 077 && mkdir -p {d} && cat > {d}/cert.pem.new && mv {d}/cert.pem.new {d}/cert.pem", cert_pem)
    _run(t, f"umask 077 && cat > {d}/chain.pem.new && mv {d}/chain.pem.new {d}/chain.pem", chain_pem)
    _run(t, f"umask 077 && cat > {d}/key.pem.new && mv {d}/key.pem.new {d}/key.pem", key_pem)
    # The key never goes to a log: only its location and mode are reported back.
    mode = _run(t, f"stat -c %a {d}/key.pem").strip()
    out = {"host": t.host, "dir": dest, "key_mode": mode}
    if serve_port:
        _run(
            t,
            f"(test -f {d}/server.pid && kill $(cat {d}/server.pid)) 2>/dev/null; "
            f"nohup openssl s_server -quiet -accept {int(serve_port)} -cert {d}/cert.pem -key {d}/key.pem "
            f"-cert_chain {d}/chain.pem -www >/dev/null 2>&1 < /dev/null & echo $! > {d}/server.pid",
        )
        out["tls_port"] = serve_port
    return out


def chain_for(ca_dir: Path) -> bytes:
    """The issuing CA certificate (what a server sends after its own); the root stays with relying parties."""
    return (Path(ca_dir) / "issuing" / "issuing.crt").read_bytes()
