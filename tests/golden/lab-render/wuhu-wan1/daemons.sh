#!/bin/bash
# Start wuhu-wan1's daemons inside its node (run from start.sh, or by 'lab node start').
set -eu
export VTYSH_HISTFILE=/dev/null  # not the host's /root/.history_frr
# Daemon logs to the estate's collectors as syslog (render.syslog_forwarders).
tail -n 0 -F /run/frr/frr.log 2>/dev/null </dev/null | logger --rfc5424 -d -n 10.91.0.7 -P 514 -t frr -p daemon.notice >>/var/tmp/jinbao-lab/jbgold/nodes/wuhu-wan1/syslog-forward.log 2>&1 &
tail -n 0 -F /var/tmp/jinbao-lab/jbgold/nodes/wuhu-wan1/sshd.log 2>/dev/null </dev/null | logger --rfc5424 -d -n 10.91.0.7 -P 514 -t sshd -p auth.info >>/var/tmp/jinbao-lab/jbgold/nodes/wuhu-wan1/syslog-forward.log 2>&1 &
for attempt in 1 2 3; do
  /usr/lib/frr/frrinit.sh start >/dev/null 2>&1 && break
  /usr/lib/frr/frrinit.sh stop >/dev/null 2>&1 || true
  sleep $((attempt * 2))
done
want=$(wc -l < /var/tmp/jinbao-lab/jbgold/nodes/wuhu-wan1/frr-expect)
for _ in $(seq 60); do
  have=$(vtysh -c 'show running-config' 2>/dev/null | grep -cxF -f /var/tmp/jinbao-lab/jbgold/nodes/wuhu-wan1/frr-expect || true)
  [ "$have" -ge "$want" ] && break
  sleep 1; vtysh -b >/dev/null 2>&1 || true
done
/usr/sbin/sshd -f /etc/ssh/sshd_config -E /var/tmp/jinbao-lab/jbgold/nodes/wuhu-wan1/sshd.log
SNMP_PERSISTENT_DIR=/var/tmp/jinbao-lab/jbgold/nodes/wuhu-wan1/snmp-state /usr/sbin/snmpd -C -c /etc/snmp/snmpd.conf -p /run/snmpd.pid \
  -Lf /var/tmp/jinbao-lab/jbgold/nodes/wuhu-wan1/snmpd.log -I -smux
