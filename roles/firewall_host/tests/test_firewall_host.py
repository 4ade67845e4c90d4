"""testinfra: each host's own nftables denies inbound by default and keeps SSH from the management
network (MLPS 2.0 level 3). An independent check of the role: the policy is written out here, and
the running ruleset (`nft list table`) is read, not the role's file.

    pytest roles/firewall_host/tests --hosts=ssh://10.91.0.6 --ssh-config=FILE --sudo
"""

import re

import pytest

TABLE = "inet jinbao_host"
# Every service a server of the estate may accept, from anywhere (policy.yml's services to servers
# plus the management plane: SSH, SNMP, PostgreSQL; syslog, traps and NTP on the collectors):
# anything else open is a hole.
APPROVED = {("tcp", "22"), ("udp", "161"), ("tcp", "5432"), ("udp", "514"), ("udp", "162"), ("udp", "123")}
ACCEPT = re.compile(r"^\s*(.*)\baccept$", re.M)


@pytest.fixture(scope="module")
def table(host) -> str:
    r = host.run(f"nft list table {TABLE}")
    return r.stdout if r.rc == 0 else ""


def test_the_host_table_is_loaded(table):
    assert "chain input" in table


def test_inbound_is_denied_by_default(table):
    assert re.search(r"type filter hook input priority filter; policy drop;", table)


def test_ssh_is_accepted_from_the_management_network(host, table):
    mgmt = [r for r in ACCEPT.findall(table) if re.search(r"\btcp dport 22\b", r) and 'iifname "mgmt0"' in r]
    assert mgmt and all(re.search(r"ip saddr \d+\.\d+\.\d+\.\d+/\d+", r) for r in mgmt)


def test_only_approved_ports_are_open(table):
    opened = set()
    for rule in ACCEPT.findall(table):
        if "ct state" in rule or 'iifname "lo"' in rule or "icmp type echo-request" in rule:
            continue
        if re.search(r"\bip protocol (vrrp|112)\b", rule):
            # keepalived's adverts: from named peer hosts only, never from a network
            sources = re.findall(r"\b\d+\.\d+\.\d+\.\d+(?:/\d+)?", rule)
            assert sources and all(a.endswith("/32") or "/" not in a for a in sources), rule.strip()
            continue
        m = re.search(r"\b(tcp|udp) dport (\S+)", rule)
        assert m, f"a rule accepts more than one service: {rule.strip()}"
        opened.add((m.group(1), m.group(2)))
    assert opened <= APPROVED, opened - APPROVED
