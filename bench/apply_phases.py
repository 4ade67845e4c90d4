"""Run `jinbao config apply` exactly as the CLI does, timing its phases (for bench/apply_bench.py).

Usage: python bench/apply_phases.py PHASES.json config apply --lab ID --estate DIR --yes --json

The CLI's own code runs unchanged; only module-level functions are wrapped, so each phase is timed
where it happens: the plan, each wave's state snapshot before its commits, the commits, the state
check (polls until the state has held), the confirms. Nothing is timed by guess.
"""

from __future__ import annotations

import atexit
import json
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

T0 = time.monotonic()
OUT = Path(sys.argv[1])
phases: list[dict] = []
counts = {"state reads": 0, "state read s": 0.0}
lock = threading.Lock()


def _now() -> float:
    return round(time.monotonic() - T0, 2)


def timed(name: str, fn):
    def wrapper(*args, **kwargs):
        start = _now()
        try:
            return fn(*args, **kwargs)
        finally:
            phases.append({"phase": name, "start": start, "end": _now()})

    return wrapper


def main() -> None:
    from netconfig import apply, cli_apply, statecheck

    t_import = _now()
    cli_apply.run = timed("plan", cli_apply.run)
    # apply calls statecheck.snapshot by attribute, both for the read before each wave and, from
    # its `read` closure, for each poll of the check after the commits: told apart by the caller.
    before, polled = (timed(n, statecheck.snapshot) for n in ("state read before the wave", "state poll after"))

    def snapshot(*args, **kwargs):
        return (polled if sys._getframe(1).f_code.co_name == "read" else before)(*args, **kwargs)

    statecheck.snapshot = snapshot
    apply.Run._one_wave = timed("wave", apply.Run._one_wave)
    parallel = apply.Run._parallel

    def _parallel(self, task, hosts, **kw):
        return timed(f"{task.__name__} ({len(hosts)} devices)", parallel)(self, task, hosts, **kw)

    apply.Run._parallel = _parallel
    read_state = statecheck.read_state

    def counted_read(target, to, *rest):
        t = time.monotonic()
        try:
            return read_state(target, to, *rest)
        finally:
            with lock:
                counts["state reads"] += 1
                counts["state read s"] += time.monotonic() - t

    statecheck.read_state = counted_read

    def write() -> None:
        OUT.write_text(json.dumps({"import_s": t_import, "phases": phases, "counts": counts, "total": _now()}))

    atexit.register(write)
    from jinbao.cli import main as cli

    sys.argv = ["jinbao", *sys.argv[2:]]
    cli()


if __name__ == "__main__":
    main()
