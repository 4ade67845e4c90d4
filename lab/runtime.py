"""Bring a lab up, inject faults, and take it down again.

What a lab is and how it records itself: lab.record. What labs share on the machine: lab.host.
Whether it is healthy: lab.health. Processes are ended through the lab's namespaces
(ip netns pids), never by name.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path

from jinbao.estate import load_estate
from jinbao.rendering import rendered
from jinbao.secrets import estate_refs, resolve_secrets

from . import db, render, rootfs
from .health import wait_converged
from .host import ETC_NETNS, ensure_host_dirs, lab_namespaces, machine_lock, release_host_dirs
from .record import HOLDER_ENV, LAB_ROOT, Lab, LabError, new_id, ns_exists, ns_pids, sh
from .topology import LabPlan, plan

__all__ = [
    "LAB_ROOT",
    "Lab",
    "LabError",
    "down",
    "down_orphans",
    "find_link",
    "link_drop",
    "link_set",
    "new_id",
    "node_start",
    "node_stop",
    "up",
    "wait_converged",
]

# -- up --------------------------------------------------------------------------------------------


def _grant_nft(home: Path) -> None:
    """Let the operator account change its firewall's ruleset, as `sudo nft` would on a real one
    (sudo is not installed here): a root-owned copy of nft in ~/bin carrying CAP_NET_ADMIN,
    runnable only by the operator's group. Every node shares uid 2600, so a server's operator
    could run it too, but only on its own namespace; the copy goes with the lab dir."""
    bin_dir = home / "bin"
    bin_dir.mkdir(mode=0o755)
    shutil.copy("/usr/sbin/nft", bin_dir / "nft")
    os.chown(bin_dir / "nft", 0, render.OPERATOR_UID)
    (bin_dir / "nft").chmod(0o750)
    sh(["setcap", "cap_net_admin+ep", str(bin_dir / "nft")])


def up(estate: str = "lab", lab_id: str | None = None, wait: bool = True, timeout: float = 90, progress=None) -> Lab:
    """Build the lab and start every node. On any failure, what was built is removed again."""
    lab_id = lab_id or new_id()
    lab = Lab(lab_id)
    exists = LabError(
        f"lab {lab_id} already exists (in {lab.dir}); 'jinbao lab status --id {lab_id}' "
        f"shows it, 'jinbao lab down --id {lab_id}' removes it"
    )
    if lab.traces():
        raise exists
    estate_path = str(Path(estate).resolve()) if "/" in estate else estate
    p = plan(load_estate(estate_path), lab_id)
    for name in ("ip", "nsenter", "unshare", "nft", "snmpd", "sshd", "ssh-keygen"):
        if shutil.which(name) is None and not Path(f"/usr/sbin/{name}").exists():
            raise LabError(f"'{name}' is not installed; run 'make setup'")
    ours = False  # from the moment this lab's folder exists, a failure removes what was built
    try:
        # Under the lock until this lab's first namespace exists: a lab going down decides
        # whether it is the last one by the namespaces it sees (lab.host).
        with machine_lock():
            if lab.traces():  # another 'up' of the same id got here first
                raise exists
            taken = [ns for ns in lab_namespaces() if ns.startswith(f"{lab_id}-")]
            if taken:
                raise LabError(
                    f"lab id {lab_id} is in use on this machine by a lab of another JINBAO_LAB_ROOT "
                    f"(namespaces {', '.join(taken[:3])}); pick another id"
                )
            ensure_host_dirs()
            # 0711: node users (sshd reads authorized_keys as them) may pass through, not list.
            lab.dir.mkdir(mode=0o711)
            ours = True
            lab.state = {"id": lab_id, "estate": estate_path, "created": time.time(), "namespaces": [], "etc_links": []}
            if os.environ.get(HOLDER_ENV):
                lab.state["held_by"] = os.environ[HOLDER_ENV]
            lab.save()
            lab.record("namespaces", p.sw_ns)
            sh(["ip", "netns", "add", p.sw_ns])
        lab.remember(p)
        _build(lab, p, progress)
        if wait:
            wait_converged(lab, timeout=timeout, progress=progress)
    except BaseException:
        if ours:
            down(lab)
        raise
    return lab


def _step(progress, msg):
    if progress:
        progress(msg)


def _build(lab: Lab, p: LabPlan, progress) -> None:
    _step(progress, "secrets and keys")
    _lab_secrets(lab, p)
    snmp_values = lab.snmp_keys()
    keys = lab.dir / "keys"
    keys.mkdir(mode=0o700)
    sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"jinbao-lab-{lab.id}", "-f", str(keys / "operator")])

    _step(progress, f"{len(p.nodes) + 2} namespaces")
    for ns in (p.ops_ns, *(n.ns for n in p.nodes.values())):
        lab.record("namespaces", ns)
        sh(["ip", "netns", "add", ns])

    _step(progress, "node files")
    host_passwd, host_group = Path("/etc/passwd").read_text(), Path("/etc/group").read_text()
    known_hosts = []
    for node in p.nodes.values():
        nd = lab.node_dir(node.name)
        nd.mkdir(parents=True)
        etc = rootfs.prepare(nd)
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
        if node.device.platform == "nftables":
            _grant_nft(nd / "home" / render.OPERATOR)
        (etc / "passwd").write_text(render.passwd(host_passwd, node, str(nd)))
        (etc / "group").write_text(render.group(host_group, node))
        (etc / "ssh" / "sshd_config").write_text(render.sshd_config(node))
        shadow = etc / "shadow"
        shadow.write_text(render.shadow(host_passwd, node))
        shutil.chown(shadow, "root", "shadow")
        shadow.chmod(0o640)
        (etc / "hosts").write_text(render.hosts(Path("/etc/hosts").read_text(), node))
        if node.kind == "server":
            (etc / "sudoers.d").mkdir(mode=0o750)
            (etc / "sudoers.d" / "jinbao-lab").write_text(render.sudoers())
            (etc / "sudoers.d" / "jinbao-lab").chmod(0o440)
        sh(
            [
                "ssh-keygen",
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                node.name,
                "-f",
                str(etc / "ssh" / "ssh_host_ed25519_key"),
            ]
        )
        hostkey = (etc / "ssh" / "ssh_host_ed25519_key.pub").read_text().split()[:2]
        known_hosts.append(f"{node.device.mgmt_ip} {' '.join(hostkey)}")
        profile = p.estate.snmp_profiles[node.device.snmp_profile]
        conf = etc / "snmp" / "snmpd.conf"
        conf.write_text(render.snmpd_conf(p, node, profile, *snmp_values[profile.name]))
        conf.chmod(0o600)
        # netconfig's rendering, as production gets it; its secret references are filled in here,
        # on the way into the node, with this lab's values.
        files = rendered(p.estate, node.device) if node.runs_frr else {}
        if node.runs_frr:
            (etc / "frr" / "daemons").write_text(render.FRR_DAEMONS)
            (etc / "snmp" / "frr.conf").write_text(render.FRR_AGENTX)  # frr reads it: 0644
            conf = resolve_secrets(files["frr"], lab.secret)
            (etc / "frr" / "frr.conf").write_text(conf)
            (nd / "frr-expect").write_text(render.frr_expect(conf))
            (etc / "frr" / "vtysh.conf").write_text("service integrated-vtysh-config\n")
            shutil.chown(etc / "frr", "frr", "frr")
            for f in (etc / "frr").iterdir():
                shutil.chown(f, "frr", "frr")
                f.chmod(0o640)
        if node.kind == "firewall":
            (nd / "zones.nft").write_text(resolve_secrets(files["nftables"], lab.secret))
        (nd / "daemons.sh").write_text(render.daemons_script(node, str(nd), render.collectors(p)))
        (nd / "start.sh").write_text(render.start_script(node, str(nd)))
        link = ETC_NETNS / node.ns
        lab.record("etc_links", str(link))
        link.symlink_to(etc)
    (keys / "known_hosts").write_text("\n".join(known_hosts) + "\n")

    _step(progress, "links and addresses")
    _wire(lab, p)

    _step(progress, f"starting {len(p.nodes)} nodes")
    # Starting FRR is CPU-bound: on two cores a node takes up to about a second, more when its
    # config has to be applied again (see render.daemons_script). Started all at once, 100 nodes
    # starved each other until watchfrr gave up on some; so only a few start at a time.
    window = max(4, 4 * (os.cpu_count() or 1))
    allowed = 60 + 2 * len(p.nodes)
    deadline = time.time() + allowed
    starting: dict[str, subprocess.Popen] = {}

    def settle(limit: int) -> None:
        while len(starting) > limit:
            for name, proc in list(starting.items()):
                if lab.anchor(name) is not None:
                    del starting[name]
                elif proc.poll() is not None:
                    raise LabError(
                        f"node {name} failed to start: {(lab.node_dir(name) / 'start.log').read_text()[-800:]}"
                    )
            if time.time() > deadline:
                raise LabError(f"nodes {', '.join(starting)} did not start within {allowed} s")
            time.sleep(0.05)

    for node in p.nodes.values():
        settle(window - 1)
        nd = lab.node_dir(node.name)
        with open(nd / "start.log", "w") as log:
            starting[node.name] = subprocess.Popen(
                [
                    "ip",
                    "netns",
                    "exec",
                    node.ns,
                    "unshare",
                    "--mount",
                    "--uts",
                    # System V IPC private to the node: a PostgreSQL killed with -9 leaves its
                    # segment behind (a drill does that on purpose); it now goes with the node.
                    "--ipc",
                    "--propagation",
                    "private",
                    "bash",
                    str(nd / "start.sh"),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
    settle(0)
    for node in p.nodes.values():
        if node.kind == "firewall":
            sh(["ip", "netns", "exec", node.ns, "nft", "-f", str(lab.node_dir(node.name) / "zones.nft")])


def _lab_secrets(lab: Lab, p: LabPlan) -> None:
    """A per-lab value for every env: reference of the estate that is not set (SNMP keys,
    administrator passwords, the OSPF key).

    A lab must come up on a fresh machine where nobody exported them, so an unset env: reference
    gets a random value for this lab only (secrets.env, 0600); Lab.secret then reads each back
    the same way for every later use. 16 characters: FRR's OSPF MD5 key takes no more."""
    generated: dict[str, str] = {}
    for ref in estate_refs(p.estate):
        kind, _, var = ref.partition(":")
        if kind == "env" and not os.environ.get(var):
            generated.setdefault(var, secrets.token_urlsafe(12))
    f = lab.dir / "secrets.env"
    f.touch(mode=0o600)
    f.write_text("".join(f"{k}={v}\n" for k, v in generated.items()))


def _wire(lab: Lab, p: LabPlan) -> None:
    """Cables first (one ip -batch in the root namespace), then addresses per namespace."""
    root, per_ns = [], {n.ns: ["link set lo up"] for n in p.nodes.values()}
    sw = [
        "link set lo up",
        "link add mgmt type bridge",
        "link set mgmt type bridge mcast_snooping 0",
        "link set mgmt up",
    ]
    for l in p.links:
        na, nb = p.nodes[l.a.device], p.nodes[l.b.device]
        root.append(f"link add {l.a.interface} netns {na.ns} type veth peer name {l.b.interface} netns {nb.ns}")
        per_ns[na.ns] += [f"addr add {l.a.ip} dev {l.a.interface}", f"link set {l.a.interface} up"]
        per_ns[nb.ns] += [f"addr add {l.b.ip} dev {l.b.interface}", f"link set {l.b.interface} up"]
    for seg in p.segments:
        sw += [
            f"link add {seg.bridge} type bridge",
            f"link set {seg.bridge} type bridge mcast_snooping 0",
            f"link set {seg.bridge} up",
        ]
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
        rules = (
            f'table netdev {t} {{\n chain in {{\n  type filter hook ingress device "{end.interface}" '
            f"priority -500; policy drop;\n }}\n}}\n"
        )
        sh(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=rules)


def node_stop(lab: Lab, name: str) -> None:
    """Stop every daemon of a node; its namespaces and anchor stay, so it can start again."""
    node = lab.node(name)
    if not lab.running(name):
        raise LabError(f"node {name} of lab {lab.id} is not running")
    _kill_ns(node.ns, keep={lab.anchor(name)})


def node_start(lab: Lab, name: str) -> None:
    if [pid for pid in ns_pids(lab.node(name).ns) if pid != lab.anchor(name)]:
        raise LabError(f"node {name} is already running; stop it first")
    lab.in_node(name, ["bash", str(lab.node_dir(name) / "daemons.sh")])


# -- down --------------------------------------------------------------------------------------------


def _kill_ns(ns: str, keep: set[int] = frozenset()) -> None:
    """End every process in a lab namespace, re-checking because watchfrr restarts daemons."""
    for _ in range(100):
        pids = [p for p in ns_pids(ns) if p not in keep]
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)
    raise LabError(f"processes in {ns} would not end: {ns_pids(ns)}")


def down_orphans() -> dict[str, list[str]]:
    """Take down every lab whose holder is gone (lab.record.HOLDER_ENV); {lab id: its namespaces
    removed}. A lab another sweep removes at the same moment is skipped, not an error."""
    removed = {}
    for lab_id in Lab.all_ids():
        lab = Lab(lab_id)
        if lab.orphaned():
            with contextlib.suppress(LabError):  # gone under us: what we wanted
                removed[lab_id] = down(lab)
    return removed


def down(lab: Lab) -> list[str]:
    """Remove exactly what the lab made. Safe to run twice and after a crashed 'up'.

    Refuses an id of which nothing exists, so a mistyped id never reports success while the
    real lab runs on."""
    if not lab.traces():
        raise LabError(
            f"no lab {lab.id} on this machine (labs: {', '.join(Lab.all_ids()) or 'none'}); nothing was removed"
        )
    removed = []
    # Only what the record names: it is written before each thing is made, and a namespace with
    # this id that it does not name belongs to a lab of another JINBAO_LAB_ROOT.
    namespaces = list(dict.fromkeys(lab.state.get("namespaces", [])))
    db.stop_all(lab)  # its postmasters by their own pid files, and the segments they recorded
    for ns in namespaces:
        if ns_exists(ns):
            _kill_ns(ns)
    for ns in namespaces:
        if ns_exists(ns):
            sh(["ip", "netns", "del", ns])
            removed.append(ns)
    for link in set(lab.state.get("etc_links", [])):
        p = Path(link)
        if p.is_symlink() or p.exists():
            p.unlink()
    with machine_lock():
        if lab.dir.exists():
            shutil.rmtree(lab.dir)
        release_host_dirs()
    return removed
