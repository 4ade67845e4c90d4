"""Files only the lab needs in each node: FRR's daemons file, sshd, snmpd, users and the start scripts.

The device configs themselves (FRR, the nftables ruleset) are netconfig's renderings, reached
through jinbao.rendering (lab.runtime writes them), so the lab runs what production gets.
"""

from __future__ import annotations

from jinbao.model import SnmpProfile

from .rootfs import enter_script
from .topology import LabPlan, Node

OPERATOR = "jinbao"  # key-login account on every node (normal shell)
VTY_OPERATOR = "jinbao-vty"  # on FRR nodes: vtysh as login shell, for netmiko-style automation
OPERATOR_UID = 2600

FRR_DAEMONS = """\
# Written by jinbao lab. FRR daemons of this node; vty on loopback only. ospfd serves OSPF-MIB
# to the node's snmpd over AgentX (FRR_AGENTX); vtysh hands frr.conf's `agentx` to zebra and bgpd
# as well, and a daemon without its SNMP module refuses the line, so they load theirs too.
# --log: a file in the node's private /run besides frr.conf's `log syslog` (see FRR_LOG).
zebra=yes
bgpd=yes
ospfd=yes
staticd=yes
bfdd=yes
vtysh_enable=yes
zebra_options="  -A 127.0.0.1 -s 90000000 -M snmp {log}"
bgpd_options="   -A 127.0.0.1 -M snmp {log}"
ospfd_options="  -A 127.0.0.1 -M snmp {log}"
staticd_options="-A 127.0.0.1 {log}"
bfdd_options="   -A 127.0.0.1 {log}"
"""

# frr.conf says `log syslog informational`, as production's does, but syslog(3) writes to
# /dev/log and a node has none: its /dev is the machine's (lab/rootfs.py), which has no syslog
# daemon and must not get one. So the lab also starts each FRR daemon with a log file in the
# node's private /run, which the node's forwarder sends on (syslog_forwarders). A --log target is
# FRR's start-up option, not configuration: `show running-config` leaves it out, so the running
# config still equals netconfig's intent.
FRR_LOG = "/run/frr/frr.log"
FRR_DAEMONS = FRR_DAEMONS.format(log=f"--log file:{FRR_LOG} --log-level informational")


# net-snmp reads /etc/snmp/<application>.conf for a subagent; FRR's is "frr". The node's snmpd
# listens for AgentX on its own loopback (snmpd_conf), not the machine-wide /var/agentx/master.
FRR_AGENTX = """\
# Written by jinbao lab: FRR's daemons reach this node's snmpd here, as AgentX subagents.
agentXSocket tcp:127.0.0.1:705
"""


def expected_processes(node: Node, forwards: bool = False) -> set[str]:
    """The daemons a healthy node runs (process names, as /proc/<pid>/comm shows them); with
    `forwards`, its syslog forwarders too (syslog_forwarders)."""
    frr = {line.split("=")[0] for line in FRR_DAEMONS.splitlines() if line.endswith("=yes")} - {"vtysh_enable"}
    forwarders = {"tail", "logger"} if forwards else set()
    return {"sshd", "snmpd"} | forwarders | ({"watchfrr", *frr} if node.runs_frr else set())


def frr_expect(conf: str) -> str:
    """The lines of frr.conf whose presence in the running config proves it was fully applied.

    The network statements come last in frr.conf, so a part-applied config lacks some of them.
    ('ip forwarding' cannot serve: FRR's running config shows only its negation.)"""
    return "".join(line + "\n" for line in conf.splitlines() if line.startswith(" network "))


def frr_applied_count(expect_file: str) -> str:
    """Shell that prints how many lines of expect_file the running FRR config has (the one check
    both the node's own start-up and the convergence wait use)."""
    return f"vtysh -c 'show running-config' 2>/dev/null | grep -cxF -f {expect_file}"


def sshd_config(node: Node) -> str:
    return f"""\
# Written by jinbao lab for {node.name}. Key login only; no PAM, no passwords.
Port 22
ListenAddress 0.0.0.0
HostKey /etc/ssh/ssh_host_ed25519_key
PidFile /run/sshd.pid
AuthorizedKeysFile %h/.ssh/authorized_keys
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
# Homes live under the lab's work dir in /var/tmp, whose parents sshd would otherwise reject.
StrictModes no
AllowUsers {OPERATOR} {VTY_OPERATOR}
LogLevel VERBOSE
Subsystem sftp internal-sftp
"""


def shadow(host_passwd: str, node: Node) -> str:
    """Every account of the node's passwd, none with a password ('*': nothing matches, yet the
    account is valid, which PAM's account check in sudo requires). The machine's hashes are not
    copied into a node."""
    names = [line.split(":", 1)[0] for line in host_passwd.splitlines() if line and not line.startswith("#")]
    names += [user for user, _, _ in operators(node)]
    return "".join(f"{name}:*:19000:0:99999:7:::\n" for name in names)


def hosts(host_hosts: str, node: Node) -> str:
    # sudo looks its own host name up; unresolved, it asks DNS, which a node cannot reach.
    return host_hosts.rstrip("\n") + f"\n127.0.1.1 {node.name}\n"


def sudoers() -> str:
    """A server's operator becomes root with sudo, as production's ops accounts do: Ansible and the
    roles' testinfra checks log in with the key and `become`. The file is the node's own (lab/rootfs.py)."""
    return f"# Written by jinbao lab. Key login only, so no password to ask for.\n{OPERATOR} ALL=(root) NOPASSWD: ALL\n"


# net-snmp's names for the estate's protocols (agent and client alike).
SNMP_AUTH = {"sha": "SHA", "sha256": "SHA-256", "sha512": "SHA-512"}
SNMP_PRIV = {"aes": "AES", "aes256": "AES-256"}


def snmpd_conf(p: LabPlan, node: Node, profile: SnmpProfile, auth_key: str, priv_key: str) -> str:
    d = node.device
    site = p.estate.sites[d.site]
    return f"""\
# Written by jinbao lab for {d.name}. SNMPv3 authPriv only: no community is configured.
agentAddress udp:{d.mgmt_ip}:161
createUser {profile.user} {SNMP_AUTH[profile.auth_protocol]} "{auth_key}" {SNMP_PRIV[profile.priv_protocol]} "{priv_key}"
rouser {profile.user} priv
sysName {d.name}
sysLocation {site.name} {site.title}
sysContact noc@{p.estate.domain}
sysServices 72
master agentx
# Per-namespace AgentX socket: the default /var/agentx/master would be shared by every node.
agentXSocket tcp:127.0.0.1:705
dontLogTCPWrappersConnects yes
{notifications(p, profile, auth_key, priv_key)}"""


# linkDown/linkUp payloads: net-snmp's linkUpDownNotifications (ifIndex, ifAdminStatus,
# ifOperStatus) plus ifDescr and ifName, so the receiver names the interface as the poller does.
# Numeric OIDs: Debian's snmpd ships without the IETF MIB files, and names would not resolve.
_LINK_PAYLOAD = " ".join(f".1.3.6.1.2.1.2.2.1.{c}" for c in (1, 7, 8, 2)) + " .1.3.6.1.2.1.31.1.1.1.1"


# What the internal query user (auth key, no privacy) may read: ifIndex, ifDescr, ifAdminStatus, ifOperStatus, ifName.
_IQUERY_VIEW = (*(f".1.3.6.1.2.1.2.2.1.{c}" for c in (1, 2, 7, 8)), ".1.3.6.1.2.1.31.1.1.1.1")


def notifications(p: LabPlan, profile: SnmpProfile, auth_key: str, priv_key: str) -> str:
    """Where the node's snmpd sends notifications: SNMPv3 traps, authPriv with the node's own
    profile, to UDP 162 of each collector the estate names (management_plane.syslog, the same
    hosts the zone policy lets syslog and traps reach), checking ifOperStatus every 5 s."""
    to = collectors(p)
    if not to:
        return ""
    auth, priv = SNMP_AUTH[profile.auth_protocol], SNMP_PRIV[profile.priv_protocol]
    lines = ["# Notifications to the estate's collectors (management_plane.syslog): v3 traps, authPriv."]
    lines += [
        f'trapsess -v 3 -u {profile.user} -l authPriv -a {auth} -A "{auth_key}" -x {priv} -X "{priv_key}" udp:{ip}:162'
        for ip in to
    ]
    lines += [
        # The Event MIB reads ifTable through an internal query, which net-snmp 5.9 runs at
        # authNoPriv level whatever iquerySecLevel says (with the authPriv-only user it fails:
        # "failed to run mteTrigger query"): a user with the profile's auth key and no privacy
        # key, allowed to read only the five columns the payload needs. Keyless, it answered
        # those columns to anyone on the management network.
        f'createUser jinbao-iquery {auth} "{auth_key}"',
        *(f"view jinbaoIquery included {oid}" for oid in _IQUERY_VIEW),
        "group jinbaoIquery usm jinbao-iquery",
        'access jinbaoIquery "" usm auth exact jinbaoIquery none none',
        "iquerySecName jinbao-iquery",
        f"notificationEvent jinbaoLinkUp .1.3.6.1.6.3.1.1.5.4 {_LINK_PAYLOAD}",
        f"notificationEvent jinbaoLinkDown .1.3.6.1.6.3.1.1.5.3 {_LINK_PAYLOAD}",
        # -S: no notification for the state each interface is in when snmpd starts.
        'monitor -S -r 5 -e jinbaoLinkUp "link up" .1.3.6.1.2.1.2.2.1.8 != 2',
        'monitor -S -r 5 -e jinbaoLinkDown "link down" .1.3.6.1.2.1.2.2.1.8 == 2',
    ]
    return "\n".join(lines) + "\n"


def operators(node: Node) -> list[tuple[str, int, str]]:
    """(user, uid, login shell) of the lab's operator accounts on this node."""
    users = [(OPERATOR, OPERATOR_UID, "/bin/bash")]
    if node.runs_frr:
        users.append((VTY_OPERATOR, OPERATOR_UID + 1, "/usr/bin/vtysh"))
    return users


def passwd(host_passwd: str, node: Node, node_dir: str) -> str:
    out = host_passwd.rstrip("\n") + "\n"
    for user, uid, shell in operators(node):
        out += f"{user}:x:{uid}:{OPERATOR_UID}:jinbao lab operator:{node_dir}/home/{user}:{shell}\n"
    return out


def group(host_group: str, node: Node) -> str:
    users = [OPERATOR] + ([VTY_OPERATOR] if node.runs_frr else [])
    out = []
    for line in host_group.splitlines():
        name, pw, gid, members = (line.split(":") + ["", "", ""])[:4]
        if node.runs_frr and name in ("frr", "frrvty"):
            members = ",".join(m for m in [*members.split(","), *users] if m)
        out.append(":".join((name, pw, gid, members)))
    out.append(f"{OPERATOR}:x:{OPERATOR_UID}:")
    return "\n".join(out) + "\n"


def collectors(p: LabPlan) -> list[str]:
    """Management addresses of the estate's collectors (management_plane.syslog): where nodes
    send their traps and syslog, the hosts the zone policy lets both reach."""
    mp = p.estate.management_plane
    return [str(p.estate.devices[n].mgmt_ip) for n in (mp.syslog if mp else ()) if n in p.estate.devices]


SYSLOG_PORT = 514


def syslog_forwarders(node: Node, node_dir: str, to: list[str]) -> str:
    """Shell that sends each new line of the node's daemon logs to every collector as RFC 5424
    syslog over UDP 514, from the node's own namespace (so from its own address, which the
    receiver resolves to the device): `tail -F` of the file into util-linux `logger`, one pair
    per file and collector. They run in the node's network namespace, so `lab node stop` and
    `lab down` end them with its daemons. Started before the daemons, with `-n 0`, so a restarted
    node sends only what is new (a file that appears later is read from its start)."""
    if not to:
        return ""
    files = [(FRR_LOG, "frr", "daemon.notice")] if node.runs_frr else []
    files.append((f"{node_dir}/sshd.log", "sshd", "auth.info"))
    lines = ["# Daemon logs to the estate's collectors as syslog (render.syslog_forwarders)."]
    for path, tag, pri in files:
        for ip in to:
            lines.append(
                f"tail -n 0 -F {path} 2>/dev/null </dev/null | logger --rfc5424 -d -n {ip} -P {SYSLOG_PORT} "
                f"-t {tag} -p {pri} >>{node_dir}/syslog-forward.log 2>&1 &"
            )
    return "\n".join(lines) + "\n"


def daemons_script(node: Node, node_dir: str, to: list[str] | None = None) -> str:
    # frrinit.sh applies frr.conf with one 'vtysh -b'; on a loaded machine (100 nodes starting on
    # two cores) that was seen to time out part-way, leaving ospfd with an empty 'router ospf'.
    # Re-apply until every line of frr-expect (each network statement) is running.
    # watchfrr also gives up ("failed to start") when its daemons are slow to come up; start afresh.
    frr = (
        (
            "for attempt in 1 2 3; do\n"
            "  /usr/lib/frr/frrinit.sh start >/dev/null 2>&1 && break\n"
            "  /usr/lib/frr/frrinit.sh stop >/dev/null 2>&1 || true\n"
            "  sleep $((attempt * 2))\n"
            "done\n"
            f"want=$(wc -l < {node_dir}/frr-expect)\n"
            "for _ in $(seq 60); do\n"
            f"  have=$({frr_applied_count(node_dir + '/frr-expect')} || true)\n"
            '  [ "$have" -ge "$want" ] && break\n'
            "  sleep 1; vtysh -b >/dev/null 2>&1 || true\n"
            "done\n"
        )
        if node.runs_frr
        else ""
    )
    return f"""\
#!/bin/bash
# Start {node.name}'s daemons inside its node (run from start.sh, or by 'lab node start').
set -eu
export VTYSH_HISTFILE=/dev/null  # not the host's /root/.history_frr
{syslog_forwarders(node, node_dir, to or [])}{frr}/usr/sbin/sshd -f /etc/ssh/sshd_config -E {node_dir}/sshd.log
SNMP_PERSISTENT_DIR={node_dir}/snmp-state /usr/sbin/snmpd -C -c /etc/snmp/snmpd.conf -p /run/snmpd.pid \\
  -Lf {node_dir}/snmpd.log -I -smux
"""


def start_script(node: Node, node_dir: str) -> str:
    # OSPF joins AllSPFRouters once per interface on one socket; the kernel's default cap of
    # 20 memberships per socket silently left a hub router's 21st link without adjacency.
    # FRR writes /var/tmp/frr/<daemon>.<pid>/ at every daemon start and a killed daemon never
    # removes it: a tmpfs private to the node keeps those off the host (lab.host makes the
    # mount point).
    frr = (
        (
            "mkdir -p /run/frr && chown frr:frr /run/frr\n"
            "mount -t tmpfs -o mode=0700 tmpfs /var/tmp/frr && chown frr:frr /var/tmp/frr\n"
            "sysctl -qw net.ipv4.igmp_max_memberships=1024\n"
        )
        if node.runs_frr
        else ""
    )
    return f"""\
#!/bin/bash
# The node's own world: private mounts and hostname, its own root filesystem (lab/rootfs.py)
# with a private /run, then daemons and an anchor process that holds the namespaces so
# 'nsenter -t <anchor>' can enter them later.
set -eu
hostname {node.name}
{enter_script(node_dir)}mkdir -p /run/sshd
export VTYSH_HISTFILE=/dev/null  # not the host's /root/.history_frr
{frr}bash {node_dir}/daemons.sh
stat -L -c %i /proc/self/ns/mnt /proc/self/ns/uts | tr '\\n' ' ' > {node_dir}/anchor.ns
echo $$ > {node_dir}/anchor.pid
exec sleep infinity
"""
