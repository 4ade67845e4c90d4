"""PostgreSQL 15 in the lab's database nodes, for each DR pair of the estate, and the service
address that follows the primary.

`prepare` (run by `jinbao lab db up`, and by `jinbao dr run` when a drill needs it) makes, per
DR pair, the production database on the pair's primary node and a streaming standby on its
standby node, replicating over the lab's WAN (synchronous or asynchronous, as the pair says).
Both run as the node's operator account, so a drill drives them over SSH as an operator would
(production's DBA would `sudo -u postgres`); each data dir is under the node's folder in the lab
dir, and every cluster is recorded in state.json before it is made, so `down` ends exactly these
processes (by the PID in their own postmaster.pid, checked to be in the node). The small System V
segment a postmaster keeps, which outlives one killed with -9, is in the node's own IPC namespace
(lab.runtime), so it goes with the node.

**The service address.** The estate's sites are in different subnets, so one address on a shared
segment (keepalived) cannot follow the database from the province to the DR site. Instead each
pair has a /32 (the last address of the primary site's loopback pool), held on `lo` of both
database nodes, and the firewall in front of each node routes it to its node and redistributes
that route into OSPF through a route-map: metric 10 on the primary's side, 1000 on the standby's,
so the WAN sends clients to the primary, and still to the standby if the primary's whole site is
gone. A drill moves the address by swapping the two metrics (`route_commands`), or withdraws it on
a side it fences. This is runtime state on the firewalls: `jinbao config drift` reports it.

Why PostgreSQL starts lazily, not in `lab up`: measured on the 2-core machine, initdb, base
backup and the firewall routes add several seconds to an `up` that tests run often without a
database (see docs/dr.md for the figures).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from ipaddress import IPv4Address
from pathlib import Path

from jinbao.waiting import until

from .record import Lab, LabError, pid_in_ns

PG_BIN = "/usr/lib/postgresql/15/bin"
PORT = 5432
PRIMARY_METRIC, STANDBY_METRIC = 10, 1000


def _user() -> str:
    from .render import OPERATOR

    return OPERATOR


def _fw_of(lab: Lab, device: str) -> str:
    d = lab.plan.estate.devices[device]
    zone = lab.plan.estate.sites[d.site].zones[d.zone or ""]
    if zone.firewall is None:
        raise LabError(f"{device} has no firewall in front of it; the service address needs one to route it")
    return zone.firewall


def _data_ip(lab: Lab, device: str) -> str:
    d = lab.plan.estate.devices[device]
    return str(next(i.ip.ip for i in d.interfaces if i.ip))


def service_address(lab: Lab, primary: str) -> IPv4Address:
    """The pair's service /32: the last host of the primary site's loopback pool (not a loopback
    any device holds; refused otherwise)."""
    e = lab.plan.estate
    pool = e.sites[e.devices[primary].site].loopback_pool
    addr = pool.broadcast_address - 1
    if any(d.loopback == addr for d in e.devices.values()):
        raise LabError(f"{addr}, the service address of {primary}'s site, is a device's loopback")
    return addr


def pairs(lab: Lab) -> list[dict]:
    """Each DR pair as the lab runs it: nodes, addresses, firewalls, data dirs, service address."""
    out = []
    for p in lab.plan.estate.dr_pairs:
        sides = {}
        for role, dev in (("primary", p.primary), ("standby", p.standby)):
            sides[role] = {
                "node": dev,
                "ip": _data_ip(lab, dev),
                "mgmt": str(lab.plan.estate.devices[dev].mgmt_ip),
                "firewall": _fw_of(lab, dev),
                "pgdata": str(lab.node_dir(dev) / "pg" / "data"),
                "log": str(lab.node_dir(dev) / "pg" / "postgres.log"),
            }
        out.append(
            {
                "name": p.name,
                "replication": p.replication,
                "rto_s": p.rto_s,
                "rpo_s": p.rpo_s,
                "level": p.level,
                "service_address": str(service_address(lab, p.primary)),
                "port": PORT,
                "pg_bin": PG_BIN,
                "estate": lab.state.get("estate"),
                "user": _user(),
                "application_name": p.standby.replace("-", "_"),
                "metrics": {"primary": PRIMARY_METRIC, "standby": STANDBY_METRIC},
                **sides,
            }
        )
    return out


def _as_operator(lab: Lab, node: str, cmd: list[str], check: bool = True, timeout: float = 120):
    return lab.in_node(node, ["runuser", "-u", _user(), "--", *cmd], check=check, timeout=timeout)


def psql(lab: Lab, node: str, sql: str, check: bool = True) -> str:
    r = _as_operator(
        lab, node, [f"{PG_BIN}/psql", "-XAtq", "-h", "/run/postgresql", "-d", "postgres", "-c", sql], check
    )
    return r.stdout.strip()


def conf(lab: Lab) -> str:
    e = lab.plan.estate
    return f"""\
# Written by jinbao lab (lab/db.py).
listen_addresses = '*'
port = {PORT}
unix_socket_directories = '/run/postgresql'
wal_level = replica
max_wal_senders = 10
wal_keep_size = '256MB'
hot_standby = on
# pg_rewind needs either checksums or hint bits in WAL to rebuild an old primary after failover.
wal_log_hints = on
# The standby retries WAL after a failed read every 5 s by default; promotion then stalls up to
# 5 s (LAB-NOTES: one run in three). 200 ms removes the stall.
wal_retrieve_retry_interval = '200ms'
# Segments in the data dir, not /dev/shm, which is the machine's and outlives a killed postmaster.
dynamic_shared_memory_type = mmap
log_line_prefix = '%m [%p] '
# The lab's networks only: {e.supernet} (data) and {e.mgmt_block} (management).
"""


def hba(lab: Lab) -> str:
    e = lab.plan.estate
    # Trust on the lab's own networks: the lab estate has no database credential to reference yet.
    return "".join(
        f"{kind} {db} all {net} trust\n"
        for kind in ("host",)
        for db in ("all", "replication")
        for net in (str(e.supernet), str(e.mgmt_block))
    ) + ("local all all trust\nlocal replication all trust\n")


def running(lab: Lab, node: str) -> int | None:
    """The postmaster's PID from its own postmaster.pid, when that process lives in the node."""
    f = lab.node_dir(node) / "pg" / "data" / "postmaster.pid"
    try:
        pid = int(f.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if pid_in_ns(pid, lab.node(node).ns) else None


def _start(lab: Lab, node: str) -> None:
    nd = lab.node_dir(node) / "pg"
    # A postmaster killed with -9 is reaped slowly here: start may briefly fail on its stale pid file.
    deadline = time.time() + 30
    while True:
        r = _as_operator(
            lab,
            node,
            [f"{PG_BIN}/pg_ctl", "-D", str(nd / "data"), "-l", str(nd / "postgres.log"), "-w", "-t", "60", "start"],
            check=False,
        )
        if r.returncode == 0:
            return
        if time.time() > deadline or "lock file" not in (r.stderr + r.stdout + _tail(nd / "postgres.log")):
            raise LabError(
                f"PostgreSQL on {node} did not start: {(r.stderr or r.stdout)[-300:]} {_tail(nd / 'postgres.log')}"
            )
        time.sleep(0.2)


def _tail(f: Path) -> str:
    try:
        return f.read_text()[-400:]
    except OSError:
        return ""


def _wait(what: str, check, timeout: float = 60, every: float = 0.2):
    return until(what, check, timeout, every, error=LabError)


def route_map(addr: str) -> list[str]:
    """vtysh lines for the redistribution of the service address: the metric follows the static
    route's tag, so moving the address is re-adding the route with another tag, which FRR
    redistributes at once (a changed route-map waits for its 5 s delay-timer)."""
    name = "jinbao-dr-" + addr.replace(".", "-")
    lines = [f"ip prefix-list {name} seq 5 permit {addr}/32"]
    for seq, metric in ((10, PRIMARY_METRIC), (20, STANDBY_METRIC)):
        lines += [
            f"route-map {name} permit {seq}",
            f"match ip address prefix-list {name}",
            f"match tag {metric}",
            f"set metric {metric}",
            "exit",
        ]
    return [*lines, "router ospf", f"redistribute static route-map {name}", "exit"]


def _route(lab: Lab, fw: str, addr: str, via: str, metric: int) -> None:
    cmds = ["configure terminal", *route_map(addr), f"ip route {addr}/32 {via} tag {metric}"]
    lab.in_node(fw, ["vtysh", *(x for c in cmds for x in ("-c", c))])


def prepare(lab: Lab, progress=None) -> list[dict]:
    """Start each pair's primary and streaming standby, and their service address; idempotent."""
    out = pairs(lab)
    if not out:
        raise LabError(f"estate {lab.plan.estate.name} has no DR pair; nothing to prepare")
    for pair in out:
        p, s = pair["primary"], pair["standby"]
        if running(lab, p["node"]) and running(lab, s["node"]):
            continue
        if (Path(p["pgdata"]) / "PG_VERSION").exists() or (Path(s["pgdata"]) / "PG_VERSION").exists():
            raise LabError(
                f"the databases of pair {pair['name']} exist but are not both running (a drill may have "
                "stopped one); 'jinbao dr restore --lab ID' puts them back"
            )
        for side in (p, s):
            lab.record("postgres", {"node": side["node"], "pgdata": side["pgdata"]})
            Path(side["pgdata"]).parent.mkdir(mode=0o700)
            os.chown(Path(side["pgdata"]).parent, *_uid_gid())
            lab.in_node(side["node"], ["sh", "-c", f"mkdir -p /run/postgresql && chown {_user()} /run/postgresql"])
            lab.in_node(side["node"], ["ip", "addr", "replace", f"{pair['service_address']}/32", "dev", "lo"])
        if progress:
            progress(f"{pair['name']}: initdb on {p['node']}")
        _as_operator(lab, p["node"], [f"{PG_BIN}/initdb", "-D", p["pgdata"], "-A", "trust", "--no-sync"])
        pgd = Path(p["pgdata"])
        with open(pgd / "postgresql.conf", "a") as f:
            f.write(conf(lab))
        (pgd / "pg_hba.conf").write_text(hba(lab))
        _start(lab, p["node"])
        if progress:
            progress(f"{pair['name']}: base backup to {s['node']} over the WAN")
        conninfo = f"host={p['ip']} port={PORT} user={_user()} application_name={pair['application_name']}"
        _as_operator(
            lab,
            s["node"],
            [f"{PG_BIN}/pg_basebackup", "-d", conninfo, "-D", s["pgdata"], "-R", "-X", "stream", "--no-sync"],
        )
        _start(lab, s["node"])
        _wait(
            f"{s['node']} to stream from {p['node']}",
            lambda p=p, pair=pair: (
                psql(
                    lab,
                    p["node"],
                    f"select state from pg_stat_replication where application_name = '{pair['application_name']}'",
                )
                == "streaming"
            ),
        )
        # Only now: set before the standby streams, it would block every commit (LAB-NOTES).
        if pair["replication"] == "sync":
            psql(lab, p["node"], f"alter system set synchronous_standby_names = '\"{pair['application_name']}\"'")
            psql(lab, p["node"], "select pg_reload_conf()")
        if progress:
            progress(f"{pair['name']}: service address {pair['service_address']}")
        _route(lab, p["firewall"], pair["service_address"], p["ip"], PRIMARY_METRIC)
        _route(lab, s["firewall"], pair["service_address"], s["ip"], STANDBY_METRIC)
    return out


def _uid_gid() -> tuple[int, int]:
    from .render import OPERATOR_UID

    return OPERATOR_UID, OPERATOR_UID


def status(lab: Lab) -> list[dict]:
    """Each pair's nodes: running, role (primary/standby), and what the primary's senders say."""
    out = pairs(lab)
    for pair in out:
        for role in ("primary", "standby"):
            side = pair[role]
            side["pid"] = running(lab, side["node"])
            side["role"] = None
            if side["pid"]:
                r = psql(lab, side["node"], "select pg_is_in_recovery()", check=False)
                side["role"] = {"t": "standby", "f": "primary"}.get(r)
    return out


def stop_all(lab: Lab) -> None:
    """For down: end each recorded cluster's postmaster, by its own pid file and only if it lives in
    the node. (Its System V segment is in the node's own IPC namespace, which goes with the node.)"""
    for c in lab.state.get("postgres", []):
        node, pgdata = c["node"], Path(c["pgdata"])
        try:
            fields = (pgdata / "postmaster.pid").read_text().split("\n")
        except OSError:
            continue
        pid = int(fields[0]) if fields[0].strip().isdigit() else None  # line 1: the postmaster
        if pid and node in lab.plan.nodes and pid_in_ns(pid, lab.plan.nodes[node].ns):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
