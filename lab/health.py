"""Is the lab what the estate says it should be? Adjacencies, routes, daemons, SSH.

A node is healthy when its anchor is this lab's, every daemon it should run is running, sshd
answers on its management address, its links have carrier, and (FRR nodes) every expected
OSPF adjacency is up and every other loopback is routed by its intended path (lab.paths).
Adjacencies alone are not convergence: after 'link up' they are Full about 9 s before
traffic returns to the primary.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from pathlib import Path

from jinbao.result import AggregatedResult, Result

from . import render
from .paths import Hop, intended_routes
from .record import Lab, LabError, NotConverged, ns_exists, ns_pids, sh
from .topology import expected_neighbors


@dataclass
class NodeView:
    """One poll of an FRR node: OSPF neighbour states and the kernel's routes to loopbacks."""

    neighbors: dict[str, str] = field(default_factory=dict)
    routes: dict[IPv4Address, frozenset[Hop]] = field(default_factory=dict)
    forwarding: bool = False
    ok: bool = False  # False when the node could not be asked at all


@dataclass
class Convergence:
    adjacencies: int
    adjacencies_expected: int
    routes: int
    routes_expected: int
    missing: list[str]  # what is not yet as intended, in words


def _kernel_routes(routes: list[dict]) -> dict[IPv4Address, frozenset[Hop]]:
    out = {}
    for r in routes:
        dst = r.get("dst", "")
        if "/" in dst or not dst[:1].isdigit():
            continue  # only host routes: loopbacks are /32s
        hops = r.get("nexthops") or [r]
        out[IPv4Address(dst)] = frozenset(
            Hop(h.get("dev", ""), IPv4Address(h["gateway"])) for h in hops if h.get("gateway")
        )
    return out


def poll(lab: Lab, name: str) -> NodeView:
    """Ask one node, in one process: at 100 nodes more pollers starved OSPF of CPU.

    An interface still in the Waiting state (DR election not yet held) is reported as a
    neighbour named '<iface>:Waiting' in state 'Waiting': adjacencies formed before the
    election are often torn down by it, so they do not count as converged yet.
    """
    by_rid = {str(n.device.loopback): n.name for n in lab.plan.nodes.values() if n.device.loopback}
    script = (
        "vtysh -c 'show ip ospf neighbor json' -c 'show ip ospf interface json'; echo; "
        "ip -j -4 route show; cat /proc/sys/net/ipv4/ip_forward"
    )
    try:
        text = lab.in_node(name, ["bash", "-c", script], timeout=20).stdout.lstrip()
        dec = json.JSONDecoder()
        docs = []
        while text and len(docs) < 4:
            doc, end = dec.raw_decode(text)
            docs.append(doc)
            text = text[end:].lstrip()
        nbrs, ifaces, routes, forwarding = docs
    except (LabError, ValueError, subprocess.TimeoutExpired):
        return NodeView()
    view = NodeView(ok=True, routes=_kernel_routes(routes), forwarding=forwarding == 1)
    for rid, entries in nbrs.get("neighbors", {}).items():
        for e in entries:
            view.neighbors[by_rid.get(rid, rid)] = e.get("nbrState") or e.get("state", "")
    for iface, info in ifaces.get("interfaces", {}).items():
        if info.get("state") == "Waiting":
            view.neighbors[f"{iface}:Waiting"] = "Waiting"
    return view


def ospf_neighbors(lab: Lab, name: str) -> dict[str, str]:
    """Neighbour device name → OSPF state ('Full/DR', '2-Way/DROther', ...) as FRR reports it."""
    return poll(lab, name).neighbors


def adjacency_ok(state: str) -> bool:
    # On a LAN two DROthers stop at 2-Way by design; everything else must reach Full.
    return state.startswith("Full") or state == "2-Way/DROther"


def route_get(lab: Lab, node: str, dst: str) -> dict | None:
    """The kernel's route from node to dst, or None while there is none.

    'No route' is a real network state, not an error: on carrier loss the kernel drops the
    route at once and zebra installs the backup 5-24 ms later.
    """
    r = lab.in_node(node, ["ip", "-j", "route", "get", dst], check=False)
    if r.returncode != 0:
        if "unreachable" in r.stderr:
            return None
        raise LabError(f"ip route get {dst} on {node} failed: {r.stderr.strip()}")
    return json.loads(r.stdout)[0]


def _fmt(hops: frozenset[Hop]) -> str:
    return ",".join(f"{h.iface}/{h.gateway}" for h in sorted(hops, key=str)) or "none"


def convergence(lab: Lab) -> dict[str, Convergence]:
    """Per FRR node: adjacencies and loopback routes against the estate's intent."""
    want_nbrs = expected_neighbors(lab.plan)
    want_routes = intended_routes(lab.plan)
    with ThreadPoolExecutor(max_workers=2) as pool:
        got = dict(zip(want_nbrs, pool.map(lambda n: poll(lab, n), want_nbrs), strict=False))
    out = {}
    for node, peers in want_nbrs.items():
        view = got[node]
        good = [p for p in peers if adjacency_ok(view.neighbors.get(p, ""))]
        missing = [f"no adjacency with {p}" for p in sorted(peers - set(good))]
        missing += [f"{k.split(':')[0]} waiting for DR election" for k, v in view.neighbors.items() if v == "Waiting"]
        want = want_routes.get(node, {})
        wrong = [
            f"route to {dst} via {_fmt(view.routes.get(dst, frozenset()))}, intended {_fmt(hops)}"
            for dst, hops in sorted(want.items())
            if view.routes.get(dst) != hops
        ]
        if not view.ok:
            missing.insert(0, "FRR did not answer")
        elif not view.forwarding:
            missing.insert(0, "IPv4 forwarding is off")
        out[node] = Convergence(len(good), len(peers), len(want) - len(wrong), len(want), missing + wrong)
    return out


def wait_converged(lab: Lab, timeout: float = 90, progress=None) -> float:
    """Wait until every adjacency is up and every loopback is routed as intended, and it holds.

    Returns the seconds until the state that held was first seen.
    """
    t0 = time.time()
    last_fix: dict[str, float] = {}
    # A LAN adjacency can reach Full before the DR election and be reset by it; waiting
    # interfaces count as not converged, and two dead intervals of calm catch a late flap.
    hold = 2 * lab.plan.estate.ospf.dead_s
    good_since = None
    while True:
        conv = convergence(lab)
        missing = {n: c.missing for n, c in conv.items() if c.missing}
        now = time.time()
        if not missing:
            good_since = good_since or now
            if now - good_since >= hold:
                return good_since - t0
        else:
            good_since = None
            for node, c in conv.items():
                if c.adjacencies < c.adjacencies_expected and now - last_fix.get(node, 0) > 10:
                    last_fix[node] = now
                    _reapply_if_unconfigured(lab, node)
        if now - t0 > timeout:
            shown = "; ".join(f"{n}: {', '.join(m[:3])}{' …' * (len(m) > 3)}" for n, m in sorted(missing.items()))
            raise NotConverged(f"the lab did not converge within {timeout:.0f}s; {shown}")
        if progress:
            progress(
                f"waiting for OSPF: {sum(len(m) for m in missing.values())} adjacencies or routes to go"
                if missing
                else "OSPF up and routes as intended; checking it holds"
            )
        time.sleep(max(0.5, len(conv) / 20))  # keep polling cheap next to the daemons it watches


def _reapply_if_unconfigured(lab: Lab, name: str) -> None:
    """Restart FRR or re-apply frr.conf on a node whose start-up left it down or part-configured
    (see render.daemons_script)."""
    expect = lab.node_dir(name) / "frr-expect"
    if not expect.exists() or not lab.running(name):
        return
    want = len(expect.read_text().splitlines())
    # No daemons at all means watchfrr gave up every retry in daemons.sh: start FRR again first.
    lab.in_node(
        name,
        ["bash", "-c", "vtysh -c 'show version' >/dev/null 2>&1 || /usr/lib/frr/frrinit.sh start >/dev/null 2>&1"],
        check=False,
        timeout=120,
    )
    r = lab.in_node(name, ["bash", "-c", render.frr_applied_count(str(expect))], check=False)
    if int((r.stdout or "0").strip() or 0) < want:
        lab.in_node(name, ["vtysh", "-b"], check=False, timeout=60)


_SSH_PROBE = """
import json, socket, sys
from concurrent.futures import ThreadPoolExecutor
def banner(ip):
    try:
        with socket.create_connection((ip, 22), timeout=3) as s:
            s.settimeout(3)
            return s.recv(64).startswith(b"SSH-")
    except OSError:
        return False
ips = sys.argv[1:]
with ThreadPoolExecutor(16) as pool:
    print(json.dumps(dict(zip(ips, pool.map(banner, ips)))))
"""


def ssh_answers(lab: Lab) -> dict[str, bool]:
    """Does sshd greet on each node's management address, seen from the operator seat?"""
    ips = {str(n.device.mgmt_ip): name for name, n in lab.plan.nodes.items()}
    r = lab.in_node("ops", [sys.executable, "-c", _SSH_PROBE, *ips], check=False, timeout=30)
    try:
        seen = json.loads(r.stdout)
    except ValueError:
        seen = {}
    return {name: bool(seen.get(ip)) for ip, name in ips.items()}


def snmp_answers(lab: Lab) -> dict[str, bool]:
    """Does each node's snmpd answer an SNMPv3 authPriv GET of sysName with its profile's keys?

    The keys go to snmpget in a 0600 client config (SNMPCONFPATH), never on its command line,
    and its state in the lab dir, not the host's /var/lib/snmp."""
    values = lab.snmp_keys()
    script = []
    for prof_name, prof in lab.plan.estate.snmp_profiles.items():
        nodes = [n for n in lab.plan.nodes.values() if n.device.snmp_profile == prof_name]
        if not nodes:
            continue
        conf_dir = lab.dir / "snmp-client" / prof_name
        conf_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        conf = conf_dir / "snmp.conf"
        conf.touch(mode=0o600)
        auth, priv = values[prof_name]
        conf.write_text(
            f"defVersion 3\ndefSecurityLevel authPriv\ndefSecurityName {prof.user}\n"
            f"defAuthType {render.SNMP_AUTH[prof.auth_protocol]}\ndefAuthPassphrase {auth}\n"
            f"defPrivType {render.SNMP_PRIV[prof.priv_protocol]}\ndefPrivPassphrase {priv}\n"
        )
        for n in nodes:
            script.append(
                f"(SNMPCONFPATH={conf_dir} snmpget -r 1 -t 2 -On -Oqv {n.device.mgmt_ip} "
                f"1.3.6.1.2.1.1.5.0 >/dev/null 2>&1 && echo {n.name}) &"
            )
    script.append("wait")
    r = lab.in_node(
        "ops",
        ["env", f"SNMP_PERSISTENT_DIR={lab.dir / 'snmp-client'}", "bash", "-c", "\n".join(script)],
        check=False,
        timeout=60,
    )
    ok = set(r.stdout.split())
    return {name: name in ok for name in lab.plan.nodes}


def _processes(ns: str) -> tuple[set[str], set[str]]:
    """(names of running processes, names of stopped ones) in a namespace."""
    running, stopped = set(), set()
    for pid in ns_pids(ns) if ns_exists(ns) else []:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue  # ended between the listing and the read
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        (stopped if stat[stat.rindex(")") + 2] == "T" else running).add(name)
    return running - {"sleep", "bash"}, stopped


def _addresses(lab: Lab, node) -> list[str]:
    """What differs from the intended addresses (and a server's default route) of a node."""
    p = lab.plan
    want = {("mgmt0", str(p.mgmt_if(node)))}
    want |= {(i.name, str(i.ip)) for i in node.device.interfaces if i.ip}
    if node.device.loopback:
        want.add(("lo", f"{node.device.loopback}/32"))
    have = set()
    for link in json.loads(sh(["ip", "-n", node.ns, "-j", "-4", "addr"], check=False).stdout or "[]"):
        for a in link.get("addr_info", []):
            have.add((link["ifname"], f"{a['local']}/{a['prefixlen']}"))
    problems = [f"address {ip} missing on {ifname}" for ifname, ip in sorted(want - have)]
    gw = p.gateway(node)
    if gw:
        routes = json.loads(sh(["ip", "-n", node.ns, "-j", "route", "show", "default"], check=False).stdout or "[]")
        if not any(r.get("gateway") == str(gw) for r in routes):
            problems.append(f"no default route via {gw}")
    return problems


def _zone_policy(lab: Lab, node) -> list[str]:
    """A firewall's zone policy is loaded as rendered: default drop and every allowed flow."""
    rendered = (lab.node_dir(node.name) / "zones.nft").read_text()
    r = sh(["ip", "netns", "exec", node.ns, "nft", "list", "table", "inet", "jinbao_zones"], check=False)
    if r.returncode != 0:
        return ["zone policy not loaded (no nftables table jinbao_zones)"]

    def accepts(text):
        return sum(
            1 for line in text.splitlines() if line.strip().endswith("accept") and not line.strip().startswith("#")
        )

    problems = [] if "policy drop" in r.stdout else ["zone policy is not default-deny"]
    if accepts(r.stdout) != accepts(rendered):
        problems.append(f"zone policy has {accepts(r.stdout)} accept rules, {accepts(rendered)} intended")
    return problems


def _switch(lab: Lab) -> list[str]:
    """The LAN bridges and their ports, in the lab's switch namespace."""
    p = lab.plan
    names = {"mgmt": "the management bridge", "mops": "the operator seat's port"}
    for seg in p.segments:
        names[seg.bridge] = f"LAN bridge of {seg.site}/{seg.zone}"
        for j, port in enumerate(seg.ports):
            names[f"{seg.bridge}p{j}"] = f"switch port of {port.node} {port.iface}"
    for k, node in enumerate(p.nodes.values()):
        names[f"m{k}"] = f"management switch port of {node.name}"
    links = {
        l["ifname"].split("@")[0]: l
        for l in json.loads(sh(["ip", "-n", p.sw_ns, "-j", "link", "show"], check=False).stdout or "[]")
    }
    problems = []
    for ifname, what in names.items():
        flags = links.get(ifname, {}).get("flags", [])
        if "UP" not in flags:
            problems.append(f"{what} ({ifname}) is down" if ifname in links else f"{what} ({ifname}) is missing")
    return problems


SWITCH = "switch"  # the host name of the lab's own result: its LAN and management bridges


def status(lab: Lab) -> AggregatedResult:
    """Every node's health as a Result (data: the node's row), plus the lab's switch as SWITCH."""
    p = lab.plan
    conv = convergence(lab)
    ssh, snmp = ssh_answers(lab), snmp_answers(lab)
    agg = AggregatedResult("lab status")
    forwards = bool(render.collectors(p))
    for node in p.nodes.values():
        procs, stopped = _processes(node.ns)
        links = json.loads(sh(["ip", "-n", node.ns, "-j", "link", "show"], check=False).stdout or "[]")
        data = [l for l in links if l["ifname"] not in ("lo", "mgmt0")]
        up_ = sum(1 for l in data if "UP" in l.get("flags", []) and "NO-CARRIER" not in l.get("flags", []))
        running = lab.running(node.name)
        c = conv.get(node.name)
        problems = [] if running else ["not running (anchor process gone)"]
        missing_daemons = sorted(render.expected_processes(node, forwards) - procs - stopped)
        if missing_daemons:
            problems.append(f"daemons not running: {', '.join(missing_daemons)}")
        if stopped:
            problems.append(f"daemons stopped (SIGSTOP): {', '.join(sorted(stopped))}")
        if not ssh[node.name]:
            problems.append("sshd does not answer on the management address")
        if not snmp[node.name]:
            problems.append("snmpd does not answer an SNMPv3 GET")
        if up_ != len(data):
            problems.append(f"{len(data) - up_} link(s) down")
        problems += _addresses(lab, node)
        if node.kind == "firewall":
            problems += _zone_policy(lab, node)
        if c:
            problems += c.missing
        row = {
            "node": node.name,
            "kind": node.kind,
            "mgmt": str(node.device.mgmt_ip),
            "running": running,
            "processes": sorted(procs),
            "missing_daemons": missing_daemons,
            "ssh": ssh[node.name],
            "snmp": snmp[node.name],
            "links_up": up_,
            "links": len(data),
            "ospf_full": c.adjacencies if c else 0,
            "ospf_expected": c.adjacencies_expected if c else 0,
            "routes_ok": c.routes if c else 0,
            "routes_expected": c.routes_expected if c else 0,
            "healthy": not problems,
            "problems": problems,
        }
        agg.add(Result(node.name, agg.task, failed=bool(problems), data=row, problems=tuple(problems)))
    lab_problems = _switch(lab)
    agg.add(Result(SWITCH, agg.task, failed=bool(lab_problems), problems=tuple(lab_problems)))
    return agg


def summary(lab: Lab, agg: AggregatedResult) -> dict:
    """The status as `lab status --json` prints it: {'healthy', 'problems' (the lab's own), 'nodes'}."""
    return {
        "id": lab.id,
        "ops_ns": lab.plan.ops_ns,
        "healthy": not agg.failed,
        "problems": list(agg.results[SWITCH].problems),
        "nodes": [r.data for host, r in agg.results.items() if host != SWITCH],
    }
