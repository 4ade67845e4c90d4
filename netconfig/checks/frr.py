"""FRR configs checked by FRR itself: `vtysh --dryrun` parses a file with every daemon's command
tables and needs no running daemon, no privilege and no namespace."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile

from . import CheckProblem

_LINE = re.compile(r"^line (\d+): (.*)$")


def check(text: str) -> list[CheckProblem]:
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
            problems.append(CheckProblem(int(m.group(1)), m.group(2).strip()))
    if r.returncode != 0 and not problems:
        problems.append(CheckProblem(None, f"vtysh --dryrun exited {r.returncode}: {out[-300:] or 'no output'}"))
    return problems
