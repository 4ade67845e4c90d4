#!/bin/bash
# Start prov-app1's daemons inside its node (run from start.sh, or by 'lab node start').
set -eu
export VTYSH_HISTFILE=/dev/null  # not the host's /root/.history_frr
# Daemon logs to the estate's collectors as syslog (render.syslog_forwarders).
tail -n 0 -F /var/tmp/jinbao-lab/jbgold/nodes/prov-app1/sshd.log 2>/dev/null </dev/null | logger --rfc5424 -d -n 10.91.0.7 -P 514 -t sshd -p auth.info >>/var/tmp/jinbao-lab/jbgold/nodes/prov-app1/syslog-forward.log 2>&1 &
/usr/sbin/sshd -f /etc/ssh/sshd_config -E /var/tmp/jinbao-lab/jbgold/nodes/prov-app1/sshd.log
SNMP_PERSISTENT_DIR=/var/tmp/jinbao-lab/jbgold/nodes/prov-app1/snmp-state /usr/sbin/snmpd -C -c /etc/snmp/snmpd.conf -p /run/snmpd.pid \
  -Lf /var/tmp/jinbao-lab/jbgold/nodes/prov-app1/snmpd.log -I -smux
