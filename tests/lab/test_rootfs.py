"""Each node has a root filesystem of its own (lab/rootfs.py): what a node writes anywhere — /etc,
/usr, dpkg's database, its users — stays in that node, and goes with `lab down`; sysctls that are
not the network namespace's are refused in a node. The machine is checked against itself: a
digest of every file of /etc, `dpkg -l`, and `sysctl -a` without net.* (the kernel's own
counters left out, as tests/support/hostcheck.py does)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from pathlib import Path

import pytest

from lab import rootfs, runtime
from tests.support.hostcheck import VOLATILE_SYSCTL

pytestmark = pytest.mark.lab

NODE, OTHER = "prov-app1", "prov-db1"
PROBE = "/etc/jinbao-probe"
TOOL = "/usr/local/bin/jinbao-probe-tool"
PKG = "jinbao-rootfs-probe"


def _etc_digest() -> dict[str, str]:
    """Every entry of /etc by content (or link target) and mode. /etc/netns is left out: labs
    (this one and other sessions') add their node links there while they are up."""
    out = {}
    for root, dirs, files in os.walk("/etc"):
        dirs[:] = [d for d in dirs if os.path.join(root, d) != "/etc/netns"]
        for name in [*dirs, *files]:
            path = os.path.join(root, name)
            try:
                st = os.lstat(path)
                if os.path.islink(path):
                    what = "-> " + os.readlink(path)
                elif os.path.isfile(path):
                    what = hashlib.sha256(Path(path).read_bytes()).hexdigest()
                else:
                    what = "dir"
            except OSError as e:  # a file another process replaced mid-walk still counts as one
                what = f"error {e.errno}"
                st = None
            out[path] = f"{st.st_mode if st else 0:o} {what}"
    return out


def _sysctls() -> dict[str, str]:
    r = subprocess.run(["sysctl", "-a"], capture_output=True, text=True)
    pairs = (line.partition(" = ") for line in r.stdout.splitlines())
    return {k: v for k, _, v in pairs if not k.startswith("net.") and not VOLATILE_SYSCTL.match(k)}


def _machine() -> dict:
    a = _sysctls()
    time.sleep(0.3)
    b = _sysctls()
    return {
        "etc": _etc_digest(),
        "dpkg": subprocess.run(["dpkg", "-l"], capture_output=True, text=True).stdout,
        # only the sysctls that held still across two reads; the kernel moves some by itself
        "sysctl": {k: v for k, v in b.items() if a.get(k) == v},
    }


def _same(before: dict, after: dict) -> None:
    assert after["etc"] == before["etc"], {
        k for k in set(before["etc"]) | set(after["etc"]) if before["etc"].get(k) != after["etc"].get(k)
    }
    assert after["dpkg"] == before["dpkg"]
    changed = {k: (v, after["sysctl"].get(k)) for k, v in before["sysctl"].items() if after["sysctl"].get(k) != v}
    assert changed == {}


@pytest.fixture(scope="module")
def own_lab():
    """A lab of this module's own: the last test takes it down to see what goes with it."""
    if os.geteuid() != 0:
        pytest.skip("the lab needs root (network namespaces)")
    lab = runtime.up("lab", runtime.new_id(), wait=False)
    try:
        yield lab
    finally:
        if lab.traces():
            runtime.down(lab)


# A package built and installed inside the node: dpkg's database and /usr change there only.
DEB = f"""set -e
d=$(mktemp -d)
mkdir -p $d/pkg/DEBIAN $d/pkg/usr/share/{PKG}
printf 'Package: {PKG}\\nVersion: 1.0\\nArchitecture: all\\nMaintainer: jinbao lab <lab@example.invalid>\\nDescription: probe of a node root filesystem\\n' > $d/pkg/DEBIAN/control
echo probe > $d/pkg/usr/share/{PKG}/probe
dpkg-deb -b $d/pkg $d/p.deb >/dev/null
dpkg -i $d/p.deb >/dev/null
rm -rf $d
"""


def _changes(lab, node: str) -> None:
    """What a role run (or an operator) does to a server: files in /etc and /usr, an edited
    sshd_config, a new user (useradd replaces /etc/passwd by rename), an installed package."""
    script = (
        f"set -e; echo {lab.id} > {PROBE}; touch {TOOL}; echo '# probe' >> /etc/ssh/sshd_config; "
        f"useradd -M -s /usr/sbin/nologin jbprobe; {DEB}"
    )
    lab.in_node(node, ["bash", "-c", script], timeout=120)


def test_what_a_node_writes_stays_in_that_node(own_lab):
    lab = own_lab
    before = _machine()
    host_sshd = Path("/etc/ssh/sshd_config").read_bytes()
    _changes(lab, NODE)

    seen = lab.in_node(
        NODE, ["bash", "-c", f"cat {PROBE}; ls {TOOL}; tail -1 /etc/ssh/sshd_config; id -u jbprobe; dpkg -s {PKG}"]
    ).stdout
    assert lab.id in seen and TOOL in seen and "# probe" in seen and "Status: install ok installed" in seen
    # in the node's upper layer, in its own lab folder
    upper = rootfs.upper(lab.node_dir(NODE))
    assert (upper / PROBE.lstrip("/")).read_text().strip() == lab.id
    assert (upper / TOOL.lstrip("/")).exists()
    # not on the machine, not in another node
    for path in (PROBE, TOOL, f"/usr/share/{PKG}"):
        assert not os.path.lexists(path), path
    assert Path("/etc/ssh/sshd_config").read_bytes() == host_sshd
    other = lab.in_node(
        OTHER,
        ["bash", "-c", f"ls {PROBE} {TOOL}; id jbprobe; dpkg -s {PKG}; tail -1 /etc/ssh/sshd_config"],
        check=False,
    )
    assert "# probe" not in other.stdout and "Status: install ok installed" not in other.stdout
    assert other.stdout.count("No such file") + other.stderr.count("No such file") == 2, other.stderr
    assert "no such user" in other.stderr
    _same(before, _machine())


def test_an_operator_logs_in_over_ssh_to_the_nodes_own_root(own_lab):
    """sshd still takes the operator's key over the lab's operator seat, into the overlay."""
    lab = own_lab
    lab.in_node(NODE, ["bash", "-c", f"echo seen-over-ssh > {PROBE}.ssh"])
    r = lab.in_node("ops", [*lab.ssh_args(NODE), f"findmnt -n -o FSTYPE /; cat {PROBE}.ssh"], timeout=30)
    assert r.stdout.split() == ["overlay", "seen-over-ssh"]


def test_only_the_network_namespaces_sysctls_are_writable_in_a_node(own_lab):
    lab = own_lab
    before = _machine()
    # The machine's current value written back: even if the guard failed, nothing would change.
    for key in ("kernel.randomize_va_space", "vm.swappiness", "fs.protected_symlinks"):
        value = Path("/proc/sys", *key.split(".")).read_text().strip()
        r = lab.in_node(NODE, ["sysctl", "-w", f"{key}={value}"], check=False)
        assert r.returncode != 0, f"{key} was writable in the node"
    # net.* belongs to the node's network namespace: it may set it, the machine keeps its own
    key = "net.ipv4.conf.all.log_martians"
    host = Path("/proc/sys/net/ipv4/conf/all/log_martians").read_text().strip()
    flipped = "0" if host == "1" else "1"
    lab.in_node(NODE, ["sysctl", "-qw", f"{key}={flipped}"])
    assert lab.in_node(NODE, ["sysctl", "-n", key]).stdout.strip() == flipped
    assert Path("/proc/sys/net/ipv4/conf/all/log_martians").read_text().strip() == host
    _same(before, _machine())


def test_lab_down_throws_the_nodes_roots_away(own_lab):
    lab = own_lab
    before = _machine()
    _changes(lab, OTHER)
    uppers = [rootfs.upper(lab.node_dir(name)) for name in lab.plan.nodes]
    assert all(u.is_dir() for u in uppers)
    assert (rootfs.upper(lab.node_dir(OTHER)) / PROBE.lstrip("/")).exists()
    runtime.down(lab)
    assert [u for u in uppers if u.exists()] == []
    _same(before, _machine())
