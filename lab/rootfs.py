"""Each node's own root filesystem: an overlay of the machine's root, thrown away with the lab.

Without it a node's mount namespace shares everything but the few `/etc` entries `ip netns exec`
binds in: a role that edits `/etc/login.defs` or runs `apt-get install` on a lab server would
change the machine running the lab, and every node would see every other node's changes.

So the anchor (render.start_script) mounts, inside the node's private mount namespace:
- `/` as overlayfs, lower = the machine's root filesystem, upper and work in
  `<node dir>/rootfs/`. Writes anywhere in the node (`/etc`, `/usr`, dpkg's database) land in
  the upper dir; `lab down` removes it with the lab dir. The lower layer is the root *mount*
  only: the machine's other mounts are not seen through it, so the ones a node needs are
  mounted again below.
- the node's lab-written `/etc` files (sshd, snmpd, FRR, passwd, group) are written straight into
  the upper layer before the overlay is mounted (`etc_dir`), not bind-mounted as `ip netns exec`
  does: a tool that replaces a file atomically (useradd, Ansible's template) renames over it, and
  a rename onto a bind-mounted file fails with EBUSY. `/etc/ssh`, `/etc/snmp` and `/etc/frr` are
  opaque, as they were as binds: the machine's own host keys and configs stay out of the nodes.
- the lab dir bound over its own path, so the daemons' logs, homes, PostgreSQL data dirs and the
  anchor's pid file written under `<node dir>` are the real files the host reads, not copies in
  the upper layer.
- `/dev` (the machine's devices, with a private `/dev/shm`: PostgreSQL's dynamic shared memory
  goes with the node), a fresh `/proc`, sysfs read-only (it shows the node's own interfaces),
  and a private tmpfs on `/run`; then `pivot_root` into it and the machine's tree is detached.

**What a node still shares with the machine.** The kernel. `net.*` sysctls belong to the network
namespace, so a node may set them; every other sysctl (`kernel.*`, `vm.*`, `fs.*`) is the
machine's, so `/proc/sys` is read-only in the node except `/proc/sys/net`: `sysctl -w
kernel.randomize_va_space=2` fails there ("Read-only file system" / permission denied) instead
of changing the machine. Also shared, and not guarded: the clock (a node's root may set it),
kernel modules (modprobe), cgroups, and `/dev`. The node's root is the machine's root; this
keeps careless writes in, not a hostile root out.

`nsenter -t <anchor> -m` (Lab.node_cmd) enters the mount namespace at its root, which after
pivot_root is the overlay, so `lab exec` and every in-node command see the node's own files.
"""

from __future__ import annotations

import os
from pathlib import Path

# /etc folders a node gets as its own (opaque: none of the machine's files show through).
OWN_ETC_DIRS = ("ssh", "snmp", "frr")


def upper(node_dir: Path) -> Path:
    return node_dir / "rootfs" / "upper"


def etc_dir(node_dir: Path) -> Path:
    """Where the lab writes the node's own /etc files: the overlay's upper layer."""
    return upper(node_dir) / "etc"


def prepare(node_dir: Path) -> Path:
    """Make the node's upper, work and mount-point folders, and its /etc with its own (opaque)
    folders. Returns its /etc in the upper layer."""
    top = node_dir / "rootfs"
    top.mkdir(mode=0o700, parents=True)  # node operators must not read other nodes' layers
    for sub in ("work", "root"):
        (top / sub).mkdir(mode=0o700)
    # The upper layer's root and /etc give the merged / and /etc their owner and mode.
    etc = etc_dir(node_dir)
    etc.mkdir(parents=True)
    for d in (etc.parent, etc):
        d.chmod(0o755)
    for name in OWN_ETC_DIRS:
        (etc / name).mkdir(mode=0o755)
        os.setxattr(etc / name, "trusted.overlay.opaque", b"y")
    return etc


def enter_script(node_dir: str) -> str:
    """Shell run by the node's anchor, in its private mount namespace: mount the node's root and
    pivot into it (see the module docstring for each mount). One command a line: under `set -e`
    a failed pivot_root inside an `&&` chain would let the daemons start on the machine's root."""
    lab_dir = str(Path(node_dir).parent.parent)
    return f"""\
R={node_dir}/rootfs/root
mount -t overlay overlay -o lowerdir=/,upperdir={node_dir}/rootfs/upper,workdir={node_dir}/rootfs/work "$R"
mkdir -p "$R{lab_dir}"
mount --bind {lab_dir} "$R{lab_dir}"
mount --rbind /dev "$R/dev"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$R/dev/shm"
mount -t proc proc "$R/proc"
mount --bind "$R/proc/sys" "$R/proc/sys"
mount --bind "$R/proc/sys/net" "$R/proc/sys/net"
mount -o remount,bind,ro "$R/proc/sys"
mount -t sysfs -o ro sysfs "$R/sys"
mount -t tmpfs -o mode=0755 tmpfs "$R/run"
cd "$R"
pivot_root . .
umount -l .
cd /
"""
