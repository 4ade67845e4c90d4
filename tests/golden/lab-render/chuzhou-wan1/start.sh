#!/bin/bash
# The node's own world: private mounts and hostname, its own root filesystem (lab/rootfs.py)
# with a private /run, then daemons and an anchor process that holds the namespaces so
# 'nsenter -t <anchor>' can enter them later.
set -eu
hostname chuzhou-wan1
R=/var/tmp/jinbao-lab/jbgold/nodes/chuzhou-wan1/rootfs/root
mount -t overlay overlay -o lowerdir=/,upperdir=/var/tmp/jinbao-lab/jbgold/nodes/chuzhou-wan1/rootfs/upper,workdir=/var/tmp/jinbao-lab/jbgold/nodes/chuzhou-wan1/rootfs/work "$R"
mkdir -p "$R/var/tmp/jinbao-lab/jbgold"
mount --bind /var/tmp/jinbao-lab/jbgold "$R/var/tmp/jinbao-lab/jbgold"
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
mkdir -p /run/sshd
export VTYSH_HISTFILE=/dev/null  # not the host's /root/.history_frr
mkdir -p /run/frr && chown frr:frr /run/frr
mount -t tmpfs -o mode=0700 tmpfs /var/tmp/frr && chown frr:frr /var/tmp/frr
sysctl -qw net.ipv4.igmp_max_memberships=1024
bash /var/tmp/jinbao-lab/jbgold/nodes/chuzhou-wan1/daemons.sh
stat -L -c %i /proc/self/ns/mnt /proc/self/ns/uts | tr '\n' ' ' > /var/tmp/jinbao-lab/jbgold/nodes/chuzhou-wan1/anchor.ns
echo $$ > /var/tmp/jinbao-lab/jbgold/nodes/chuzhou-wan1/anchor.pid
exec sleep infinity
