"""Bring a lab up, inspect it, inject faults, and take it down again.

Every resource a lab makes carries its id (jb + hex): namespaces '<id>-<device>', '<id>-sw'
(LAN bridges and the management bridge) and '<id>-ops' (the operator's seat on the management
network), /etc/netns/<id>-* overlays and the work dir <JINBAO_LAB_ROOT>/<id>. Each is written to
state.json *before* it is created, so 'down' removes exactly what 'up' made, even after a
crash. Processes are ended through the lab's namespaces (ip netns pids), never by name.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from jinbao.errors import JinbaoError, SecretError
from jinbao.estate import load_estate
from jinbao.secrets import resolve

from . import render
from .topology import LabPlan, Node, expected_neighbors, plan

LAB_ROOT = Path(os.environ.get("JINBAO_LAB_ROOT", "/var/tmp/jinbao-lab"))
ETC_NETNS = Path("/etc/netns")
ID_RE = re.compile(r"^jb[a-z0-9]{2,12}$")


class LabError(JinbaoError):
    """A lab operation failed; the message says which command and why."""


def sh(args: list[str], check: bool = True, timeout: float = 60, input: str | None = None):
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout, input=input)
    if check and r.returncode != 0:
        raise LabError(f"{' '.join(args)} failed ({r.returncode}): {(r.stderr or r.stdout).strip()[:800]}")
    return r


def new_id() -> str:
    return "jb" + secrets.token_hex(3)


def _ns_exists(ns: str) -> bool:
    return Path("/run/netns", ns).exists()


def _ns_pids(ns: str) -> list[int]:
    r = sh(["ip", "netns", "pids", ns], check=False)
    return [int(x) for x in r.stdout.split()] if r.returncode == 0 else []


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


class Lab:
    """One lab on this machine, found by its id; its state file is the record of what exists."""

    def __init__(self, lab_id: str):
        if not ID_RE.match(lab_id):
            raise LabError(f"{lab_id!r} is not a lab id (jb followed by 2-12 lower-case letters or digits)")
        self.id = lab_id
        self.dir = LAB_ROOT / lab_id
        self.state_file = self.dir / "state.json"
        self.state: dict = json.loads(self.state_file.read_text()) if self.state_file.exists() else {}
        self._plan: LabPlan | None = None

    # -- finding labs ------------------------------------------------------------------------
    @staticmethod
    def all_ids() -> list[str]:
        return sorted(p.name for p in LAB_ROOT.glob("jb*") if (p / "state.json").exists()) if LAB_ROOT.is_dir() else []

    @classmethod
    def find(cls, lab_id: str | None = None) -> "Lab":
        lab_id = lab_id or os.environ.get("JINBAO_LAB_ID")
        if lab_id:
            lab = cls(lab_id)
            if not lab.state:
                raise LabError(f"no lab {lab_id} on this machine (labs: {', '.join(cls.all_ids()) or 'none'})")
            return lab
        ids = cls.all_ids()
        if len(ids) == 1:
            return cls(ids[0])
        if not ids:
            raise LabError("no lab is up on this machine; start one with 'jinbao lab up'")
        raise LabError(f"several labs are up ({', '.join(ids)}); pick one with --id or JINBAO_LAB_ID")

    def save(self) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=1))
        tmp.replace(self.state_file)

    def record(self, key: str, value) -> None:
        """Write a resource into the record before creating it, so a crash cannot orphan it."""
        self.state.setdefault(key, []).append(value)
        self.save()

    @property
    def plan(self) -> LabPlan:
        if self._plan is None:
            self._plan = plan(load_estate(self.state["estate"]), self.id)
        return self._plan

    def node(self, name: str) -> Node:
        try:
            return self.plan.nodes[name]
        except KeyError:
            raise LabError(f"no node {name!r} in lab {self.id}; nodes: {', '.join(self.plan.nodes)}") from None

    def node_dir(self, name: str) -> Path:
        return self.dir / "nodes" / name

    def anchor(self, name: str) -> int | None:
        f = self.node_dir(name) / "anchor.pid"
        return int(f.read_text()) if f.exists() else None

    # -- environment for tools that talk to the lab ----------------------------------------------
    def secrets_env(self) -> dict[str, str]:
        """Per-lab secret values (SNMP keys) behind the estate's env: references."""
        f = self.dir / "secrets.env"
        if not f.exists():
            return {}
        return dict(line.split("=", 1) for line in f.read_text().splitlines() if "=" in line)

    def ssh_args(self, node: str, user: str = render.OPERATOR) -> list[str]:
        k = self.dir / "keys"
        return ["ssh", "-i", str(k / "operator"), "-o", f"UserKnownHostsFile={k / 'known_hosts'}",
                "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
                "-o", "LogLevel=ERROR", f"{user}@{self.node(node).device.mgmt_ip}"]

    # -- running commands ----------------------------------------------------------------------
    def in_node(self, name: str, cmd: list[str], check: bool = True, timeout: float = 60):
        """Run cmd inside a node (its namespaces, /etc and /run), or on the ops seat for 'ops'."""
        return sh(self.node_cmd(name, cmd), check=check, timeout=timeout)

    def node_cmd(self, name: str, cmd: list[str]) -> list[str]:
        if name == "ops":
            return ["ip", "netns", "exec", self.plan.ops_ns, *cmd]
        pid = self.anchor(name)
        if pid is None or not _alive(pid):
            raise LabError(f"node {name} of lab {self.id} is not running")
        return ["nsenter", "-t", str(pid), "-m", "-n", "-u", *cmd]



# -- up --------------------------------------------------------------------------------------------

def up(estate: str = "lab", lab_id: str | None = None, wait: bool = True, timeout: float = 90,
       progress=None) -> Lab:
    """Build the lab and start every node. On any failure, what was built is removed again."""
    lab_id = lab_id or new_id()
    lab = Lab(lab_id)
    if lab.state:
        raise LabError(f"lab {lab_id} already exists (state in {lab.dir}); 'jinbao lab status --id {lab_id}' "
                       f"shows it, 'jinbao lab down --id {lab_id}' removes it")
    estate_path = str(Path(estate).resolve()) if "/" in estate else estate
    p = plan(load_estate(estate_path), lab_id)
    for name in ("ip", "nsenter", "unshare", "nft", "snmpd", "sshd", "ssh-keygen"):
        if shutil.which(name) is None and not Path(f"/usr/sbin/{name}").exists():
            raise LabError(f"'{name}' is not installed; run 'make setup'")
    # 0711: node users (sshd reads authorized_keys as them) may pass through, not list.
    lab.dir.mkdir(parents=True, mode=0o711)
    lab.state = {"id": lab_id, "estate": estate_path, "created": time.time(), "namespaces": [], "etc_links": [],
                 "made_etc_netns": False}
    lab.save()
    lab._plan = p
    try:
        _build(lab, p, progress)
        if wait:
            wait_converged(lab, timeout=timeout, progress=progress)
    except BaseException:
        down(lab)
        raise
    return lab


def _step(progress, msg):
    if progress:
        progress(msg)


def _build(lab: Lab, p: LabPlan, progress) -> None:
    _step(progress, "secrets and keys")
    snmp_values = _snmp_secrets(lab, p)
    keys = lab.dir / "keys"
    keys.mkdir(mode=0o700)
    sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"jinbao-lab-{lab.id}", "-f", str(keys / "operator")])

    _step(progress, f"{len(p.nodes) + 2} namespaces")
    for ns in (p.sw_ns, p.ops_ns, *(n.ns for n in p.nodes.values())):
        lab.record("namespaces", ns)
        sh(["ip", "netns", "add", ns])
    if not ETC_NETNS.exists():
        lab.state["made_etc_netns"] = True
        lab.save()
        ETC_NETNS.mkdir()

    _step(progress, "node files")
    host_passwd, host_group = Path("/etc/passwd").read_text(), Path("/etc/group").read_text()
    known_hosts = []
    for node in p.nodes.values():
        nd = lab.node_dir(node.name)
        etc = nd / "etc"
        for sub in ("ssh", "snmp", *(["frr"] if node.runs_frr else [])):
            (etc / sub).mkdir(parents=True)
        (nd / "snmp-state").mkdir(mode=0o700)
        nd.chmod(0o711)
        nd.parent.chmod(0o711)
        for user, uid, _ in render.operators(node):
            home = nd / "home" / user
            (home / ".ssh").mkdir(parents=True, mode=0o700)
            shutil.copy(keys / "operator.pub", home / ".ssh" / "authorized_keys")
            for path in (home, home / ".ssh", home / ".ssh" / "authorized_keys"):
                os.chown(path, uid, render.OPERATOR_UID)
            home.chmod(0o700)
        (etc / "passwd").write_text(render.passwd(host_passwd, node, str(nd)))
        (etc / "group").write_text(render.group(host_group, node))
        (etc / "ssh" / "sshd_config").write_text(render.sshd_config(node))
        sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", node.name, "-f", str(etc / "ssh" / "ssh_host_ed25519_key")])
        hostkey = (etc / "ssh" / "ssh_host_ed25519_key.pub").read_text().split()[:2]
        known_hosts.append(f"{node.device.mgmt_ip} {' '.join(hostkey)}")
        profile = p.estate.snmp_profiles[node.device.snmp_profile]
        conf = etc / "snmp" / "snmpd.conf"
        conf.write_text(render.snmpd_conf(p, node, profile, *snmp_values[profile.name]))
        conf.chmod(0o600)
        if node.runs_frr:
            (etc / "frr" / "daemons").write_text(render.FRR_DAEMONS)
            conf = render.frr_conf(p, node)
            (etc / "frr" / "frr.conf").write_text(conf)
            (nd / "frr-expect").write_text(render.frr_expect(conf))
            (etc / "frr" / "vtysh.conf").write_text("service integrated-vtysh-config\n")
            shutil.chown(etc / "frr", "frr", "frr")
            for f in (etc / "frr").iterdir():
                shutil.chown(f, "frr", "frr")
                f.chmod(0o640)
        if node.kind == "firewall":
            (nd / "zones.nft").write_text(render.nft_ruleset(p, node))
        (nd / "daemons.sh").write_text(render.daemons_script(node, str(nd)))
        (nd / "start.sh").write_text(render.start_script(node, str(nd)))
        link = ETC_NETNS / node.ns
        lab.record("etc_links", str(link))
        link.symlink_to(etc)
    (keys / "known_hosts").write_text("\n".join(known_hosts) + "\n")

    _step(progress, "links and addresses")
    _wire(lab, p)

    _step(progress, f"starting {len(p.nodes)} nodes")
    procs = {}
    for node in p.nodes.values():
        nd = lab.node_dir(node.name)
        log = open(nd / "start.log", "w")
        procs[node.name] = subprocess.Popen(
            ["ip", "netns", "exec", node.ns, "unshare", "--mount", "--uts", "--propagation", "private",
             "bash", str(nd / "start.sh")], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        log.close()
    # Starting FRR is CPU-bound; on two cores a node takes up to about a second, more when its
    # config has to be applied again (see render.daemons_script).
    allowed = 60 + 2 * len(procs)
    deadline = time.time() + allowed
    for name, proc in procs.items():
        while lab.anchor(name) is None:
            if proc.poll() is not None:
                raise LabError(f"node {name} failed to start: {(lab.node_dir(name) / 'start.log').read_text()[-800:]}")
            if time.time() > deadline:
                raise LabError(f"node {name} did not start within {allowed} s")
            time.sleep(0.05)
    for node in p.nodes.values():
        if node.kind == "firewall":
            sh(["ip", "netns", "exec", node.ns, "nft", "-f", str(lab.node_dir(node.name) / "zones.nft")])


def _snmp_secrets(lab: Lab, p: LabPlan) -> dict[str, tuple[str, str]]:
    """SNMP keys for each profile: the referenced secret where it is set, else a per-lab value."""
    out, generated = {}, {}
    for name, prof in p.estate.snmp_profiles.items():
        pair = []
        for ref in (prof.auth_key, prof.priv_key):
            try:
                pair.append(resolve(ref))
            except SecretError:
                if not ref.ref.startswith("env:"):
                    raise
                var = ref.ref[4:]
                generated.setdefault(var, secrets.token_urlsafe(18))
                pair.append(generated[var])
        out[name] = tuple(pair)
    f = lab.dir / "secrets.env"
    f.touch(mode=0o600)
    f.write_text("".join(f"{k}={v}\n" for k, v in generated.items()))
    return out


def _wire(lab: Lab, p: LabPlan) -> None:
    """Cables first (one ip -batch in the root namespace), then addresses per namespace."""
    root, per_ns = [], {n.ns: ["link set lo up"] for n in p.nodes.values()}
    sw = ["link set lo up", "link add mgmt type bridge", "link set mgmt type bridge mcast_snooping 0", "link set mgmt up"]
    for l in p.links:
        na, nb = p.nodes[l.a.device], p.nodes[l.b.device]
        root.append(f"link add {l.a.interface} netns {na.ns} type veth peer name {l.b.interface} netns {nb.ns}")
        per_ns[na.ns] += [f"addr add {l.a.ip} dev {l.a.interface}", f"link set {l.a.interface} up"]
        per_ns[nb.ns] += [f"addr add {l.b.ip} dev {l.b.interface}", f"link set {l.b.interface} up"]
    for seg in p.segments:
        sw += [f"link add {seg.bridge} type bridge", f"link set {seg.bridge} type bridge mcast_snooping 0",
               f"link set {seg.bridge} up"]
        for j, port in enumerate(seg.ports):
            ns = p.nodes[port.node].ns
            peer = f"{seg.bridge}p{j}"
            root.append(f"link add {port.iface} netns {ns} type veth peer name {peer} netns {p.sw_ns}")
            sw += [f"link set {peer} master {seg.bridge}", f"link set {peer} up"]
            per_ns[ns] += [f"addr add {port.ip} dev {port.iface}", f"link set {port.iface} up"]
    for k, node in enumerate(p.nodes.values()):
        root.append(f"link add mgmt0 netns {node.ns} type veth peer name m{k} netns {p.sw_ns}")
        sw += [f"link set m{k} master mgmt", f"link set m{k} up"]
        per_ns[node.ns] += [f"addr add {p.mgmt_if(node)} dev mgmt0", "link set mgmt0 up"]
        if node.device.loopback:
            per_ns[node.ns].append(f"addr add {node.device.loopback}/32 dev lo")
        gw = p.gateway(node)
        if gw:
            per_ns[node.ns].append(f"route add default via {gw}")
    root.append(f"link add ops0 netns {p.ops_ns} type veth peer name mops netns {p.sw_ns}")
    sw += ["link set mops master mgmt", "link set mops up"]
    ops = ["link set lo up", f"addr add {p.ops_ip} dev ops0", "link set ops0 up"]
    sh(["ip", "-batch", "-"], input="\n".join(root) + "\n")
    sh(["ip", "-n", p.sw_ns, "-batch", "-"], input="\n".join(sw) + "\n")
    sh(["ip", "-n", p.ops_ns, "-batch", "-"], input="\n".join(ops) + "\n")
    for ns, cmds in per_ns.items():
        sh(["ip", "-n", ns, "-batch", "-"], input="\n".join(cmds) + "\n")


# -- convergence and status ---------------------------------------------------------------------

def ospf_neighbors(lab: Lab, name: str) -> dict[str, str]:
    """Neighbour device name → OSPF state ('Full/DR', '2-Way/DROther', ...) as FRR reports it.

    An interface still in the Waiting state (DR election not yet held) is reported as a
    neighbour named '<iface>:Waiting' in state 'Waiting': adjacencies formed before the
    election are often torn down by it, so they do not count as converged yet.
    """
    by_rid = {str(n.device.loopback): n.name for n in lab.plan.nodes.values() if n.device.loopback}
    try:
        # One vtysh per node and poll: at 100 nodes the poller itself was starving OSPF of CPU.
        text = lab.in_node(name, ["vtysh", "-c", "show ip ospf neighbor json", "-c", "show ip ospf interface json"],
                           timeout=20).stdout
        dec = json.JSONDecoder()
        data, end = dec.raw_decode(text.lstrip())
        ifaces, _ = dec.raw_decode(text.lstrip()[end:].lstrip())
    except (LabError, ValueError, subprocess.TimeoutExpired):
        return {}
    out = {}
    for rid, entries in data.get("neighbors", {}).items():
        for e in entries:
            out[by_rid.get(rid, rid)] = e.get("nbrState") or e.get("state", "")
    for iface, info in ifaces.get("interfaces", {}).items():
        if info.get("state") == "Waiting":
            out[f"{iface}:Waiting"] = "Waiting"
    return out


def adjacency_ok(state: str) -> bool:
    # On a LAN two DROthers stop at 2-Way by design; everything else must reach Full.
    return state.startswith("Full") or state == "2-Way/DROther"


def convergence(lab: Lab) -> dict[str, tuple[int, int, list[str]]]:
    """Per FRR node: (good adjacencies, expected adjacencies, missing neighbours)."""
    want = expected_neighbors(lab.plan)
    with ThreadPoolExecutor(max_workers=2) as pool:
        got = dict(zip(want, pool.map(lambda n: ospf_neighbors(lab, n), want)))
    out = {}
    for node, peers in want.items():
        good = [p for p in peers if adjacency_ok(got[node].get(p, ""))]
        waiting = [k for k, v in got[node].items() if v == "Waiting"]
        out[node] = (len(good), len(peers), sorted(peers - set(good)) + waiting)
    return out


def wait_converged(lab: Lab, timeout: float = 90, progress=None) -> float:
    """Wait until every expected OSPF adjacency is up and stays up; returns the seconds it took.

    One good poll is not enough: adjacencies must stay good for a while (see hold).
    """
    t0 = time.time()
    last_fix: dict[str, float] = {}
    # A LAN adjacency can reach Full before the DR election and be reset by it; waiting
    # interfaces count as not converged, and two dead intervals of calm catch a late flap.
    hold = 2 * lab.plan.estate.ospf.dead_s
    good_since = None
    while True:
        conv = convergence(lab)
        missing = {n: m for n, (_, _, m) in conv.items() if m}
        now = time.time()
        if not missing:
            good_since = good_since or now
            if now - good_since >= hold:
                return good_since - t0
        else:
            good_since = None
            for node in missing:
                if now - last_fix.get(node, 0) > 10:
                    last_fix[node] = now
                    _reapply_if_unconfigured(lab, node)
        if now - t0 > timeout:
            raise LabError("OSPF did not converge within %ds; missing: %s" % (
                timeout, "; ".join(f"{n}: {', '.join(m)}" for n, m in sorted(missing.items()))))
        _step(progress, f"waiting for OSPF: {sum(len(m) for m in missing.values())} adjacencies to go"
              if missing else "OSPF up; checking it holds")
        time.sleep(max(0.5, len(conv) / 20))  # keep polling cheap next to the daemons it watches


def _reapply_if_unconfigured(lab: Lab, name: str) -> None:
    """Restart FRR or re-apply frr.conf on a node whose start-up left it down or part-configured
    (see render.daemons_script)."""
    expect = lab.node_dir(name) / "frr-expect"
    if not expect.exists():
        return
    want = len(expect.read_text().splitlines())
    # No daemons at all means watchfrr gave up every retry in daemons.sh: start FRR again first.
    lab.in_node(name, ["bash", "-c", "vtysh -c 'show version' >/dev/null 2>&1 || "
                       "/usr/lib/frr/frrinit.sh start >/dev/null 2>&1"], check=False, timeout=120)
    r = lab.in_node(name, ["bash", "-c", render.frr_applied_count(str(expect))], check=False)
    if int((r.stdout or "0").strip() or 0) < want:
        lab.in_node(name, ["vtysh", "-b"], check=False, timeout=60)


def status(lab: Lab) -> list[dict]:
    p = lab.plan
    conv = convergence(lab)
    rows = []
    for node in p.nodes.values():
        pids = _ns_pids(node.ns) if _ns_exists(node.ns) else []
        procs = sorted({Path(f"/proc/{pid}/comm").read_text().strip() for pid in pids if Path(f"/proc/{pid}").exists()}
                       - {"sleep", "bash"})
        links = json.loads(sh(["ip", "-n", node.ns, "-j", "link", "show"], check=False).stdout or "[]")
        data = [l for l in links if l["ifname"] not in ("lo", "mgmt0")]
        up_ = sum(1 for l in data if "UP" in l.get("flags", []) and "NO-CARRIER" not in l.get("flags", []))
        good, want, _ = conv.get(node.name, (0, 0, []))
        rows.append({"node": node.name, "kind": node.kind, "mgmt": str(node.device.mgmt_ip),
                     "running": _alive(lab.anchor(node.name)), "processes": procs,
                     "links_up": up_, "links": len(data), "ospf_full": good, "ospf_expected": want})
    return rows


# -- faults ----------------------------------------------------------------------------------------

def find_link(lab: Lab, a: str, b: str):
    for l in lab.plan.links:
        if {l.a.device, l.b.device} == {a, b}:
            return l
    for seg in lab.plan.segments:  # a LAN: fail the node's port into it
        names = {port.node for port in seg.ports}
        if a in names and b in names:
            raise LabError(f"{a} and {b} share LAN {seg.site}/{seg.zone}, not a link; stop a node instead")
    raise LabError(f"no link between {a} and {b} in lab {lab.id}")


def link_set(lab: Lab, a: str, b: str, state: str) -> None:
    """Carrier loss (down) or restore (up). 'up' also lifts a silent drop."""
    l = find_link(lab, a, b)
    for end in l.ends():
        ns = lab.plan.nodes[end.device].ns
        if state == "up":
            sh(["ip", "netns", "exec", ns, "nft", "delete", "table", "netdev", _drop_table(end.interface)], check=False)
        sh(["ip", "-n", ns, "link", "set", end.interface, state])


def _drop_table(iface: str) -> str:
    return "jinbao_fault_" + re.sub(r"[^A-Za-z0-9_]", "_", iface)


def link_drop(lab: Lab, a: str, b: str) -> None:
    """Silent loss: the carrier stays up, every frame is dropped at ingress on both ends."""
    l = find_link(lab, a, b)
    for end in l.ends():
        ns = lab.plan.nodes[end.device].ns
        t = _drop_table(end.interface)
        rules = (f"table netdev {t} {{\n chain in {{\n  type filter hook ingress device \"{end.interface}\" "
                 f"priority -500; policy drop;\n }}\n}}\n")
        sh(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=rules)


def node_stop(lab: Lab, name: str) -> None:
    """Stop every daemon of a node; its namespaces and anchor stay, so it can start again."""
    node = lab.node(name)
    anchor = lab.anchor(name)
    _kill_ns(node.ns, keep={anchor} if anchor else set())


def node_start(lab: Lab, name: str) -> None:
    lab.node(name)
    if [pid for pid in _ns_pids(lab.node(name).ns) if pid != lab.anchor(name)]:
        raise LabError(f"node {name} is already running; stop it first")
    lab.in_node(name, ["bash", str(lab.node_dir(name) / "daemons.sh")])


# -- down --------------------------------------------------------------------------------------------

def _kill_ns(ns: str, keep: set[int] = frozenset()) -> None:
    """End every process in a lab namespace, re-checking because watchfrr restarts daemons."""
    for _ in range(100):
        pids = [p for p in _ns_pids(ns) if p not in keep]
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)
    raise LabError(f"processes in {ns} would not end: {_ns_pids(ns)}")


def down(lab: Lab) -> list[str]:
    """Remove exactly what the lab made. Safe to run twice and after a crashed 'up'."""
    removed = []
    namespaces = list(dict.fromkeys(lab.state.get("namespaces", [])))
    # Anything carrying this lab's id that the record may have missed (a crash between steps).
    if Path("/run/netns").is_dir():
        namespaces += [p.name for p in Path("/run/netns").glob(f"{lab.id}-*") if p.name not in namespaces]
    for ns in namespaces:
        if _ns_exists(ns):
            _kill_ns(ns)
    for ns in namespaces:
        if _ns_exists(ns):
            sh(["ip", "netns", "del", ns])
            removed.append(ns)
    links = set(lab.state.get("etc_links", []))
    if ETC_NETNS.is_dir():
        links |= {str(p) for p in ETC_NETNS.glob(f"{lab.id}-*")}
    for link in links:
        p = Path(link)
        if p.is_symlink() or p.exists():
            p.unlink()
    if lab.state.get("made_etc_netns") and ETC_NETNS.is_dir() and not any(ETC_NETNS.iterdir()):
        ETC_NETNS.rmdir()
    if lab.dir.exists():
        shutil.rmtree(lab.dir)
    if LAB_ROOT.is_dir() and not any(LAB_ROOT.iterdir()):
        LAB_ROOT.rmdir()  # up made it; nothing else lives there
    return removed
