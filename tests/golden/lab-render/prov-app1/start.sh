#!/bin/bash
# The node's own world: private mounts and hostname, a private /run, then daemons and an anchor
# process that holds the namespaces so 'nsenter -t <anchor>' can enter them later.
set -eu
hostname prov-app1
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/sshd
export VTYSH_HISTFILE=/dev/null  # not the host's /root/.history_frr
bash /var/tmp/jinbao-lab/jbgold/nodes/prov-app1/daemons.sh
stat -L -c %i /proc/self/ns/mnt /proc/self/ns/uts | tr '\n' ' ' > /var/tmp/jinbao-lab/jbgold/nodes/prov-app1/anchor.ns
echo $$ > /var/tmp/jinbao-lab/jbgold/nodes/prov-app1/anchor.pid
exec sleep infinity
