"""testinfra: each DR pair's service address is held by the node whose PostgreSQL accepts writes,
and by no other; keepalived runs with its VRRP password kept from other accounts.

An independent check of the role: the pair, the peer and the service address are read from the
estate (as the inventory builds them), and the primary is found by asking PostgreSQL itself.
Hosts in no DR pair skip every check. JINBAO_PG_PORT and JINBAO_PG_SOCKET say where PostgreSQL
is, JINBAO_DR_SERVICE_ADDRESS overrides the estate's address and JINBAO_DR_ADDRESSES=mgmt says the
pair's adverts go between management addresses (the lab does both, beside lab/db.py's own).

    JINBAO_ESTATE=lab pytest roles/keepalived/tests --hosts=ssh://10.91.0.5 --ssh-config=FILE --sudo
"""

from __future__ import annotations

import os
import re

import pytest

from jinbao.ansible_dr import pair_at

PORT = os.environ.get("JINBAO_PG_PORT", "5432")
SOCKET = os.environ.get("JINBAO_PG_SOCKET", "/run/postgresql")
CONFIG = "/etc/keepalived/keepalived.conf"
PIDFILE = "/run/keepalived/keepalived.pid"
CHECK = "/usr/local/lib/jinbao/keepalived-check-postgresql"


@pytest.fixture(scope="module")
def pair(host) -> dict:
    """This host's DR pair as the inventory gives it, with the addresses the pair replicates on."""
    estate = os.environ.get("JINBAO_ESTATE", "lab")
    name, p = pair_at(estate, host.backend.hostname, os.environ.get("JINBAO_DR_ADDRESSES") == "mgmt")
    if p is None:
        pytest.skip(f"{name} is in no DR pair")
    p["service_address"] = os.environ.get("JINBAO_DR_SERVICE_ADDRESS", p["service_address"])
    return p


@pytest.fixture(scope="module")
def accepts_writes(host, pair) -> bool:
    sql = "select pg_is_in_recovery()"
    r = host.run(f"cd / && runuser -u postgres -- psql -XAtq -h {SOCKET} -p {PORT} -d postgres -c %s", sql)
    return r.rc == 0 and r.stdout.strip() == "f"


def test_keepalived_runs(host, pair):
    assert host.run(f"pgrep --pidfile {PIDFILE}").rc == 0


def test_the_config_with_the_vrrp_password_is_root_only(host, pair):
    f = host.file(CONFIG)
    assert f.user == "root" and f.mode & 0o077 == 0, oct(f.mode)
    assert re.search(r"auth_type\s+PASS", f.content_string)


def test_adverts_go_to_the_peer(host, pair):
    conf = host.file(CONFIG).content_string
    peers = re.search(r"unicast_peer\s*\{([^}]*)\}", conf)
    assert peers and peers.group(1).split() == [pair["peer_address"]]


def test_the_health_check_passes_only_where_postgresql_accepts_writes(host, pair, accepts_writes):
    r = host.run(f"cd / && runuser -u postgres -- {CHECK} {SOCKET} {PORT}")
    assert (r.rc == 0) == accepts_writes


def test_the_service_address_is_held_only_where_postgresql_accepts_writes(host, pair, accepts_writes):
    held = f" {pair['service_address']}/32 " in host.check_output("ip -4 -o addr show")
    assert held == accepts_writes
