"""The canary application and the witness: small processes that run *inside* a lab node.

    python -m dr.canary write --host SVC --run ID --rate 50     # one numbered row per tick
    python -m dr.canary watch --host DB-IP --interval 0.2 --failures 3

Both print one JSON event per line on stdout, with the time (the machine's clock, the same in
every namespace), and end when their stdin closes, so they never outlive the drill that started
them (and `jinbao lab down` ends them with their node in any case).

The writer commits numbered rows through the service address, one connection at a time, and
says for each number what happened: `ack` (the commit returned), `fail` (no connection, so
nothing was sent) or `unknown` (the connection broke after the statement was sent: in sync mode
such a row may have committed on the new primary; LAB-NOTES). Each connection first reports the
server it reached (its data directory), so every ack is attributed to one database.

The witness decides for the drill whether the primary is dead: it polls with a real query and
says `dead` after N consecutive failures. That bound (N × (interval + timeout)) is the detection
budget; it runs outside both sites, so a cut province–DR link alone never reads as dead. With
`--standby` it watches the standby the same way: its vote for a promotion counts only if it
reaches the standby too (the standby and the witness are then two of three: a quorum).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
import time

import pg8000.native as pg


def _say(**ev) -> None:
    sys.stdout.write(json.dumps(ev) + "\n")
    sys.stdout.flush()


def _stdin_closed() -> threading.Event:
    done = threading.Event()

    def watch():
        try:
            while sys.stdin.buffer.read(1):
                pass
        finally:
            done.set()

    threading.Thread(target=watch, daemon=True).start()
    return done


def _connect(a, timeout: float):
    return pg.Connection(a.user, host=a.host, port=a.port, database=a.database, timeout=timeout)


def write(a) -> None:
    done = _stdin_closed()
    conn, server = None, None
    tick = 1.0 / a.rate
    t0 = time.time()
    n = 0
    while not done.is_set() and time.time() - t0 < a.max_seconds:
        n += 1
        wait = t0 + n * tick - time.time()
        if wait > 0:
            time.sleep(wait)
        if conn is None:
            try:
                conn = _connect(a, a.timeout)
                server = conn.run("select current_setting('data_directory')")[0][0]
                _say(ev="conn", t=time.time(), server=server)
            except Exception as e:
                conn = None
                _say(ev="fail", n=n, t=time.time(), err=str(e)[:200])
                continue
        try:
            conn.run(f"insert into {a.table} (run, n, t) values (:r, :n, :t)", r=a.run, n=n, t=time.time())
            _say(ev="ack", n=n, t=time.time(), server=server)
        except Exception as e:
            _say(ev="unknown", n=n, t=time.time(), server=server, err=str(e)[:200])
            with contextlib.suppress(Exception):
                conn.close()
            conn = None
    _say(ev="end", t=time.time(), last=n)


def watch(a) -> None:
    done = _stdin_closed()
    hosts = {"primary": a.host, **({"standby": a.standby} if a.standby else {})}
    # One loop per database, so a dead one's timeouts never slow the verdict on the other.
    loops = [threading.Thread(target=_watch_one, args=(a, who, h, done), daemon=True) for who, h in hosts.items()]
    for t in loops:
        t.start()
    for t in loops:
        t.join()


def _watch_one(a, who: str, host: str, done: threading.Event) -> None:
    failures, state = 0, None
    while not done.is_set():
        started = time.time()
        try:
            c = pg.Connection(a.user, host=host, port=a.port, database=a.database, timeout=a.timeout)
            c.run("select 1")
            c.close()
            ok = True
        except Exception:
            ok = False
        failures = 0 if ok else failures + 1
        now = "up" if ok else ("dead" if failures >= a.failures else state or "up")
        if now != state:
            _say(ev=now, who=who, t=time.time(), failures=failures)
            state = now
        if who == "standby":
            # Every probe of the standby, with when it started: the quorum needs one that began
            # after the primary was declared dead (a state change alone lags by up to N probes,
            # and an isolated standby read as "up" from before the cut would be promoted).
            _say(ev="probe", who=who, t=time.time(), started=started, ok=ok)
        time.sleep(max(0.0, a.interval - (time.time() - started)))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="dr.canary")
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("write", "watch"):
        p = sub.add_parser(name)
        p.add_argument("--host", required=True)
        p.add_argument("--port", type=int, default=5432)
        p.add_argument("--user", default="jinbao")
        p.add_argument("--database", default="postgres")
        p.add_argument("--timeout", type=float, default=1.0)
    w = sub.choices["write"]
    w.add_argument("--run", required=True)
    w.add_argument("--rate", type=float, default=50)
    w.add_argument("--table", default="dr_canary")
    w.add_argument("--max-seconds", type=float, default=3600)
    v = sub.choices["watch"]
    v.add_argument("--interval", type=float, default=0.2)
    v.add_argument("--failures", type=int, default=3)
    v.add_argument("--standby", help="also watch the standby: the witness's vote needs to see it (quorum)")
    a = ap.parse_args(argv)
    (write if a.cmd == "write" else watch)(a)


if __name__ == "__main__":
    main()
