"""nftables rulesets checked by nft itself: `nft -c` parses and validates the whole ruleset
against the kernel without committing it. It runs in a throwaway network namespace
(`unshare -n`), so it sees an empty ruleset and cannot touch the machine's own, whatever the file says."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile

from .finding import Finding, line_text

_LINE = re.compile(r"^[^:]+:(\d+):[\d-]+: Error: (.*)$")


def check(text: str) -> list[Finding]:
    # Root gets a new network namespace directly; anyone else through a user namespace.
    unshare = ["unshare", "-n"] if os.geteuid() == 0 else ["unshare", "-r", "-n"]
    with tempfile.NamedTemporaryFile("w", suffix=".nft", prefix="jinbao-nft-") as f:
        f.write(text)
        f.flush()
        r = subprocess.run([*unshare, "nft", "-c", "-f", f.name], capture_output=True, text=True, timeout=30)
    problems = [
        Finding(int(m.group(1)), line_text(text, int(m.group(1))), "nft.check", m.group(2))
        for m in map(_LINE.match, r.stderr.splitlines())
        if m is not None
    ]
    if r.returncode != 0 and not problems:
        problems.append(
            Finding(0, "", "nft.check", f"nft -c exited {r.returncode}: {r.stderr.strip()[-300:] or 'no output'}")
        )
    return problems
