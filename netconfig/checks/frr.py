"""FRR configs checked by FRR itself: `vtysh --dryrun` parses a file with every daemon's command
tables and needs no running daemon, no privilege and no namespace."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile

from .finding import Finding, line_text

_LINE = re.compile(r"^line (\d+): (.*)$")


def check(text: str) -> list[Finding]:
    with tempfile.NamedTemporaryFile("w", suffix=".conf", prefix="jinbao-frr-") as f:
        f.write(text)
        f.flush()
        # VTYSH_HISTFILE: vtysh would otherwise keep a history in the caller's home.
        r = subprocess.run(
            ["vtysh", "--dryrun", "-f", f.name],
            capture_output=True,
            text=True,
            timeout=30,
            env={**os.environ, "VTYSH_HISTFILE": "/dev/null"},
        )
    out = (r.stdout + r.stderr).strip()
    problems = []
    for raw in out.splitlines():
        m = _LINE.match(raw.strip())
        if m:
            n = int(m.group(1))
            problems.append(Finding(n, line_text(text, n), "frr.vtysh", m.group(2).strip()))
    if r.returncode != 0 and not problems:
        problems.append(
            Finding(0, "", "frr.vtysh", f"vtysh --dryrun exited {r.returncode}: {out[-300:] or 'no output'}")
        )
    return problems
