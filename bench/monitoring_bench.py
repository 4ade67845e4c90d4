"""Monitoring benchmark: poll N simulated routers (48-200 interfaces each) with SNMPv3 authPriv
(SHA/AES) and report, in the same run and against the same simulated devices:

- jinbao: monitoring/poller.py through its Python API with the router profile's collectors, a
  cold poll (static interface columns read) and a warm one (static columns cached), once with
  each SNMP engine: `fast` (monitoring/fastsnmp*.py) and `pysnmp` (monitoring/snmp.py);
- net-snmp `snmpbulkwalk`, one process per column of the same columns, as many in flight as
  jinbao's concurrency;
- ezsnmp (net-snmp's C library from Python), the same gets and walks, in threads;
- prometheus-snmp-exporter, with a hand-written module for the same columns, scraped over
  loopback HTTP with the same concurrency.

For each: wall seconds, the poller's CPU seconds (user + system; for snmpbulkwalk its processes'
, for the exporter its process'), CPU milliseconds per device-poll, varbinds and varbinds per
CPU second, and the simulator's CPU seconds during that run (is it the bottleneck?).
Everything is on 127.0.0.x loopback. Nothing is a hard-coded figure: the table is measured.

Run: make bench-monitoring   (or .venv/bin/python bench/monitoring_bench.py --sizes 100,1000,2000)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from monitoring_sim import AUTH_KEY, PRIV_KEY, USER, Device, Fleet, proc_cpu  # noqa: E402

SCALARS = ["1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.2.1.0", "1.3.6.1.2.1.31.1.5.0"]


def columns() -> list[str]:
    """The columns jinbao's router profile reads on a cold poll (collect.py), dotted."""
    from monitoring import collect
    from monitoring import oids as O

    cols = collect.IF_STATIC + collect.IF_DYNAMIC + [O.hrProcessorLoad]
    cols += [O.hrStorageType, O.hrStorageDescr, O.hrStorageAllocationUnits, O.hrStorageSize, O.hrStorageUsed]
    cols += [O.ospfNbrRtrId, O.ospfNbrState]
    return [".".join(map(str, c)) for c in cols]


def rusage_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def rusage_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


# -- jinbao, in a child process of its own so its CPU is only the poller's --------------------


def child_jinbao(devices: list[Device], concurrency: int, engine: str) -> dict:
    from jinbao.estate import load_estate
    from jinbao.target import Target
    from monitoring import poller
    from monitoring.profiles import profile_of
    from monitoring.snmp import Credentials
    from monitoring.state import PollState

    router = load_estate("lab").devices["prov-wan1"]
    creds = Credentials(USER, "sha", "aes", AUTH_KEY, PRIV_KEY)
    todo = []
    for d in devices:
        dev = router.model_copy(update={"name": d.name})
        t = Target(name=d.name, platform=dev.platform, host=d.host, user="bench", snmp_profile=dev.snmp_profile)
        prof = profile_of(dev)
        assert prof is not None
        todo.append(poller.Job(dev, t, prof, creds, port=d.port, context=d.context))
    state = PollState()
    opt = poller.Options(timeout=5.0, retries=1, deadline=120.0, concurrency=concurrency, engine=engine)
    out = {}
    for label in ("cold", "warm"):
        cpu0, t0 = rusage_self(), time.monotonic()
        agg = asyncio.run(poller.poll_async(todo, state, opt))
        wall, cpu = time.monotonic() - t0, rusage_self() - cpu0
        res = list(agg.results.values())
        out[label] = {
            "wall": wall,
            "cpu": cpu,
            "varbinds": sum(r.data.get("varbinds", 0) for r in res),
            "requests": sum(r.data.get("requests", 0) for r in res),
            "failed": sum(1 for r in res if r.failed),
            "why": sorted({p for r in res for p in r.problems})[:3],
        }
    return out


def run_jinbao(devices: list[Device], concurrency: int, fleet: Fleet, engine: str) -> list[dict]:
    sim0 = fleet.cpu()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump([d.__dict__ for d in devices], f)
    cmd = [sys.executable, __file__, "--child-jinbao", f.name, "--concurrency", str(concurrency), "--engine", engine]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    os.unlink(f.name)
    if done.returncode:
        raise SystemExit(f"the jinbao poller's process failed:\n{done.stderr[-3000:]}")
    got = json.loads(done.stdout.strip().splitlines()[-1])
    # The simulator's CPU covers both polls; split it by their varbinds.
    sim = fleet.cpu() - sim0
    total = got["cold"]["varbinds"] + got["warm"]["varbinds"]
    return [
        dict(got[k], tool=f"jinbao ({engine}), {k}", sim=sim * got[k]["varbinds"] / max(1, total))
        for k in ("cold", "warm")
    ]


# -- ezsnmp (net-snmp's C library through SWIG), in a child process of its own ------------------


def child_ezsnmp(devices: list[Device], concurrency: int, reps: int) -> dict:
    """The same scalars and columns as a cold jinbao poll, one ezsnmp session per device,
    `concurrency` devices at once in threads."""
    from ezsnmp import Session

    cols = columns()

    def one(d: Device) -> tuple[int, bool]:
        try:
            s = Session(
                hostname=d.host,
                port_number=d.port,
                version=3,
                security_level="authPriv",
                security_username=USER,
                auth_protocol="SHA",
                auth_passphrase=AUTH_KEY,
                privacy_protocol="AES",
                privacy_passphrase=PRIV_KEY,
                context=d.context,
                timeout=5,
                retries=1,
                print_oids_numerically=True,
                print_enums_numerically=True,
                print_timeticks_numerically=True,
                set_max_repeaters_to_num=reps,
            )
            n = len(s.get(SCALARS))
            for c in cols:  # ezsnmp's bulk_walk walks only the first of several OIDs
                n += sum(1 for r in s.bulk_walk([c]) if "NOSUCH" not in r.type)
            return n, True
        except Exception:
            return 0, False

    cpu0, t0 = rusage_self(), time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        got = list(pool.map(one, devices))
    return {
        "wall": time.monotonic() - t0,
        "cpu": rusage_self() - cpu0,
        "varbinds": sum(n for n, _ in got),
        "failed": sum(1 for _, ok in got if not ok),
    }


def run_ezsnmp(devices: list[Device], concurrency: int, fleet: Fleet, reps: int) -> dict:
    try:
        import ezsnmp  # noqa: F401
    except ImportError:
        return {"tool": "ezsnmp: not installed (pip install -e '.[bench]')", "skip": True}
    sim0 = fleet.cpu()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump([d.__dict__ for d in devices], f)
    cmd = [sys.executable, __file__, "--child-ezsnmp", f.name, "--concurrency", str(concurrency), "--reps", str(reps)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    os.unlink(f.name)
    if done.returncode:
        raise SystemExit(f"the ezsnmp process failed:\n{done.stderr[-3000:]}")
    got = json.loads(done.stdout.strip().splitlines()[-1])
    return dict(got, tool="ezsnmp (net-snmp C library)", sim=fleet.cpu() - sim0)


# -- net-snmp snmpbulkwalk, one process per column -------------------------------------------


def run_bulkwalk(devices: list[Device], concurrency: int, fleet: Fleet, reps: int) -> dict:
    base = ["snmpbulkwalk", "-v3", "-l", "authPriv", "-u", USER, "-a", "SHA", "-A", AUTH_KEY, "-x", "AES"]
    base += ["-X", PRIV_KEY, "-t", "5", "-r", "1", f"-Cr{reps}", "-On", "-Oq"]
    cols = columns()

    async def one(sem, d: Device, col: str) -> tuple[int, bool]:
        async with sem:
            p = await asyncio.create_subprocess_exec(
                *base, "-n", d.context, f"{d.host}:{d.port}", col, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
            )
            out, _ = await p.communicate()
            lines = [x for x in out.splitlines() if x and b"No Such" not in x]
            return len(lines), p.returncode == 0

    async def all_of():
        sem = asyncio.Semaphore(concurrency)
        return await asyncio.gather(*(one(sem, d, c) for d in devices for c in cols))

    sim0, cpu0, t0 = fleet.cpu(), rusage_children(), time.monotonic()
    got = asyncio.run(all_of())
    wall, cpu = time.monotonic() - t0, rusage_children() - cpu0
    bad = {i // len(cols) for i, (_, ok) in enumerate(got) if not ok}
    return {
        "tool": f"snmpbulkwalk ({len(cols)} processes/device)",
        "wall": wall,
        "cpu": cpu,
        "varbinds": sum(n for n, _ in got),
        "failed": len(bad),
        "sim": fleet.cpu() - sim0,
    }


# -- prometheus-snmp-exporter ---------------------------------------------------------------


def exporter_config(devices: list[Device], reps: int) -> str:
    """snmp.yml for exporter 0.21 (auth inside each module): one module per device, because
    the SNMPv3 context name is a module setting and the simulator picks a device by context."""
    import yaml

    from monitoring import oids as O

    names = {".".join(map(str, v)): k for k, v in vars(O).items() if isinstance(v, tuple) and k[0].islower()}
    strings = {"ifDescr", "ifName", "ifAlias", "hrStorageDescr", "ospfNbrRtrId", "sysName"}
    metrics = []
    for oid in SCALARS + columns():
        name = names.get(oid) or names[oid.rsplit(".", 1)[0]]
        m = {"name": name, "oid": oid, "help": name, "type": "DisplayString" if name in strings else "gauge"}
        if oid not in SCALARS:
            m["indexes"] = [{"labelname": "index", "type": "gauge"}]
        if name == "hrStorageType":
            m["type"] = "OctetString"
        metrics.append(m)
    modules = {}
    for d in devices:
        modules[d.name] = {
            "get": SCALARS,
            "walk": columns(),
            "version": 3,
            "max_repetitions": reps,
            "retries": 1,
            "timeout": "5s",
            "auth": {
                "username": USER,
                "security_level": "authPriv",
                "password": AUTH_KEY,
                "auth_protocol": "SHA",
                "priv_protocol": "AES",
                "priv_password": PRIV_KEY,
                "context_name": d.context,
            },
            "metrics": metrics,
        }
    return yaml.safe_dump(modules, sort_keys=False)


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_exporter(devices: list[Device], concurrency: int, fleet: Fleet, reps: int, folder: Path) -> dict:
    exe = shutil.which("prometheus-snmp-exporter")
    if exe is None:
        return {"tool": "prometheus-snmp-exporter: not installed (make bench-monitoring installs it)", "skip": True}
    conf = folder / "snmp.yml"
    conf.write_text(exporter_config(devices, reps))
    port = free_tcp_port()
    log = open(folder / "exporter.log", "w")  # noqa: SIM115 - lives as long as the process
    cmd = [exe, f"--config.file={conf}", f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"prometheus-snmp-exporter did not start: see {folder / 'exporter.log'}") from None
                time.sleep(0.2)

        def scrape(d: Device) -> tuple[int, bool]:
            url = f"http://127.0.0.1:{port}/snmp?module={d.name}&target={d.host}:{d.port}"
            try:
                body = urllib.request.urlopen(url, timeout=120).read().decode()
            except OSError:
                return 0, False
            samples = [x for x in body.splitlines() if x and not x.startswith(("#", "snmp_scrape"))]
            return len(samples), bool(samples)

        sim0, cpu0, t0 = fleet.cpu(), proc_cpu(proc.pid), time.monotonic()
        with ThreadPoolExecutor(concurrency) as pool:
            got = list(pool.map(scrape, devices))
        wall, cpu = time.monotonic() - t0, proc_cpu(proc.pid) - cpu0
        return {
            "tool": "prometheus-snmp-exporter",
            "wall": wall,
            "cpu": cpu,
            "varbinds": sum(n for n, _ in got),
            "failed": sum(1 for _, ok in got if not ok),
            "sim": fleet.cpu() - sim0,
        }
    finally:
        proc.terminate()
        proc.wait(10)


def table(rows: list[dict]) -> str:
    head = f"| {'N':>5} | {'tool':<38} | {'wall s':>7} | {'CPU s':>7} | {'CPU ms/device':>13} |"
    head += f" {'varbinds':>9} | {'varbinds/CPU s':>14} | {'simulator CPU s':>15} | {'failed':>6} |"
    out = [head, "|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|"]
    for r in rows:
        if r.get("skip"):
            out.append(f"| {r['n']:>5} | {r['tool']} |")
            continue
        per_device, per_cpu = 1000 * r["cpu"] / r["n"], r["varbinds"] / max(r["cpu"], 1e-9)
        out.append(
            f"| {r['n']:>5} | {r['tool']:<38} | {r['wall']:>7.1f} | {r['cpu']:>7.1f} | {per_device:>13.1f} |"
            f" {r['varbinds']:>9} | {per_cpu:>14,.0f} | {r['sim']:>15.1f} | {r['failed']:>6} |"
        )
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100", help="device counts, comma-separated (e.g. 100,1000,2000)")
    ap.add_argument("--sim-procs", type=int, default=4, help="snmpsim processes serving the devices")
    ap.add_argument("--concurrency", type=int, default=16, help="devices (or walks) in flight, every tool")
    ap.add_argument("--reps", type=int, default=25, help="GETBULK max-repetitions for snmpbulkwalk and the exporter")
    ap.add_argument("--first-host", type=int, default=10, help="simulators listen on 127.0.0.<this + n>")
    ap.add_argument(
        "--tools",
        default="jinbao-fast,jinbao-pysnmp,ezsnmp,bulkwalk,exporter",
        help="comma-separated; jinbao-fast and jinbao-pysnmp are the poller with each engine (jinbao: both)",
    )
    ap.add_argument("--engine", default="fast", help=argparse.SUPPRESS)
    ap.add_argument("--child-jinbao", help=argparse.SUPPRESS)
    ap.add_argument("--child-ezsnmp", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child_ezsnmp:
        devices = [Device(**d) for d in json.loads(Path(a.child_ezsnmp).read_text())]
        print(json.dumps(child_ezsnmp(devices, a.concurrency, a.reps)))
        return 0
    if a.child_jinbao:
        devices = [Device(**d) for d in json.loads(Path(a.child_jinbao).read_text())]
        print(json.dumps(child_jinbao(devices, a.concurrency, a.engine)))
        return 0
    sizes = sorted(int(x) for x in a.sizes.split(","))
    tools = a.tools.split(",")
    with tempfile.TemporaryDirectory(prefix="jinbao-monbench-") as tmp:
        fleet = Fleet(Path(tmp), max(sizes), a.sim_procs, first_host=a.first_host)
        t0 = time.monotonic()
        fleet.generate()
        rows = []
        try:
            fleet.start()
            print(f"{fleet.n} devices on {a.sim_procs} snmpsim processes, ready in {time.monotonic() - t0:.0f} s")
            for n in sizes:
                devices = fleet.devices[:n]
                ifs = sum(d.interfaces for d in devices)
                print(f"N={n}: {ifs} interfaces ({ifs / n:.0f} a device) ...", flush=True)
                for engine in ("fast", "pysnmp"):
                    if f"jinbao-{engine}" in tools or "jinbao" in tools:
                        rows += [dict(r, n=n) for r in run_jinbao(devices, a.concurrency, fleet, engine)]
                if "ezsnmp" in tools:
                    rows.append(dict(run_ezsnmp(devices, a.concurrency, fleet, a.reps), n=n))
                if "bulkwalk" in tools:
                    rows.append(dict(run_bulkwalk(devices, a.concurrency, fleet, a.reps), n=n))
                if "exporter" in tools:
                    rows.append(dict(run_exporter(devices, a.concurrency, fleet, a.reps, Path(tmp)), n=n))
                print(table([r for r in rows if r["n"] == n]), flush=True)
        finally:
            fleet.stop()
    print()
    print(f"SNMPv3 authPriv SHA/AES, concurrency {a.concurrency}, {a.sim_procs} snmpsim processes,", end=" ")
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
