"""The DR bench's canary for the Patroni pair, run inside a lab node (bench/patroni_bench.py).

    python bench/patroni_canary.py --hosts IP1,IP2 --port 5433 --user U --run ID --rate 50

Patroni has no service address here (no VIP can follow the primary across the lab's subnets, and
no HAProxy is built), so the client finds the leader itself, as libpq's
`target_session_attrs=read-write` would: it tries each node and keeps the one that is not in
recovery. One numbered row per tick, one connection kept until it breaks; one JSON event a line
(`ack`, `fail` or `unknown`, with the machine's clock), until stdin closes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
import time

import pg8000.native as pg


def say(**ev) -> None:
    sys.stdout.write(json.dumps(ev) + "\n")
    sys.stdout.flush()


def leader(a) -> tuple[pg.Connection, str] | None:
    for host in a.hosts.split(","):
        try:
            c = pg.Connection(a.user, host=host, port=a.port, database="postgres", timeout=1)
        except Exception:  # a node that is down is what the canary measures
            continue
        try:
            if c.run("select pg_is_in_recovery()")[0][0] is False:
                c.timeout = 5  # a synchronous commit may wait for the standby
                return c, host
        except Exception:
            pass
        c.close()
    return None


def main() -> None:
    p = argparse.ArgumentParser()
    for opt in ("--hosts", "--user", "--run"):
        p.add_argument(opt, required=True)
    p.add_argument("--port", type=int, default=5433)
    p.add_argument("--rate", type=float, default=50)
    a = p.parse_args()
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.buffer.read(), done.set()), daemon=True).start()
    conn, host, n, tick = None, None, 0, 1 / a.rate
    while not done.is_set():
        start = time.time()
        n += 1
        if conn is None:
            found = leader(a)
            if found is None:
                say(ev="fail", n=n, t=time.time())
                done.wait(max(0.0, tick - (time.time() - start)))
                continue
            conn, host = found
            conn.run("create table if not exists bench_canary (run text, n int, primary key (run, n))")
        try:
            conn.run("insert into bench_canary values (:r, :n)", r=a.run, n=n)
            say(ev="ack", n=n, t=time.time(), host=host)
        except Exception:  # sent but not acknowledged: it may or may not have committed
            say(ev="unknown", n=n, t=time.time(), host=host)
            with contextlib.suppress(Exception):
                conn.close()
            conn = None
        done.wait(max(0.0, tick - (time.time() - start)))


if __name__ == "__main__":
    main()
