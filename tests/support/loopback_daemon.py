"""`python -m tests.support.loopback_daemon SOURCE INTERVAL LISTEN NAME=PORT...`: the monitoring
daemon (monitoring.daemon.run, what `jinbao monitor run` calls) over loopback agents, as its own
process, so a test can signal it. Targets of the lab or the estate cannot point at a loopback
port; everything after the job list is the daemon's own code."""

from __future__ import annotations

import sys

from jinbao.errors import JinbaoError
from jinbao.estate import load_estate
from monitoring import daemon, poller
from tests.support.loopback_snmpd import job


def main(argv: list[str]) -> int:
    source, interval, listen, *devices = argv
    estate = load_estate("lab")
    todo = [job(estate, int(port), name) for name, port in (d.split("=") for d in devices)]
    opt = poller.Options(timeout=0.5, retries=0, deadline=5.0)
    try:
        daemon.run(daemon.Cycle(todo, source, estate, opt), float(interval), listen or None)
    except JinbaoError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
