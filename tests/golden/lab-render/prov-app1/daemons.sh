#!/bin/bash
# Start prov-app1's daemons inside its node (run from start.sh, or by 'lab node start').
set -eu
export VTYSH_HISTFILE=/dev/null  # not the host's /root/.history_frr
/usr/sbin/sshd -f /etc/ssh/sshd_config -E /var/tmp/jinbao-lab/jbgold/nodes/prov-app1/sshd.log
SNMP_PERSISTENT_DIR=/var/tmp/jinbao-lab/jbgold/nodes/prov-app1/snmp-state /usr/sbin/snmpd -C -c /etc/snmp/snmpd.conf -p /run/snmpd.pid \
  -Lf /var/tmp/jinbao-lab/jbgold/nodes/prov-app1/snmpd.log -I -smux
