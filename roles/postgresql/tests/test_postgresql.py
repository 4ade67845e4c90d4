"""testinfra: each DR pair's PostgreSQL is what the estate says: the primary accepts writes and its
standby streams from it, replication is admitted from the pair's two addresses only, over TLS when
the host has its certificate, and the replication password is in no config file.

An independent check of the role: which host is primary or standby, its peer and the replication
mode are read from the estate (jinbao_dr_pairs, as the inventory builds it), and each setting from
the running server. Hosts in no DR pair skip every check. Where the cluster is, and which
addresses the pair uses, follow the role's defaults unless set here (the lab runs a second cluster
beside lab/db.py's): JINBAO_PG_PORT, JINBAO_PG_SOCKET, JINBAO_PG_DATA, JINBAO_PG_PASSFILE, and
JINBAO_DR_ADDRESSES=mgmt for a pair that replicates between its management addresses.

    JINBAO_ESTATE=lab pytest roles/postgresql/tests --hosts=ssh://10.91.0.5 --ssh-config=FILE --sudo
"""

from __future__ import annotations

import os

import pytest

from jinbao.ansible_dr import pair_at

PORT = os.environ.get("JINBAO_PG_PORT", "5432")
SOCKET = os.environ.get("JINBAO_PG_SOCKET", "/run/postgresql")
DATA = os.environ.get("JINBAO_PG_DATA", "/var/lib/postgresql/15/jinbao")
PASSFILE = os.environ.get("JINBAO_PG_PASSFILE", "/var/lib/postgresql/15/jinbao-replication.pgpass")
CERT = "/etc/ssl/jinbao/host.crt"
REPLICATOR = "replicator"


@pytest.fixture(scope="module")
def pair(host) -> dict:
    """This host's DR pair as the inventory gives it, with the addresses the pair replicates on."""
    estate = os.environ.get("JINBAO_ESTATE", "lab")
    name, p = pair_at(estate, host.backend.hostname, os.environ.get("JINBAO_DR_ADDRESSES") == "mgmt")
    if p is None:
        pytest.skip(f"{name} is in no DR pair")
    return p


@pytest.fixture(scope="module")
def sql(host, pair):
    def run(query: str) -> str:
        # from / : the login's working folder may be one postgres cannot enter
        return host.check_output(
            f"cd / && runuser -u postgres -- psql -XAtq -h {SOCKET} -p {PORT} -d postgres -c %s", query
        )

    return run


def test_the_server_runs_in_the_role_the_estate_gives_it(pair, sql):
    assert sql("select pg_is_in_recovery()") == ("t" if pair["role"] == "standby" else "f")


def test_it_listens_on_its_pair_address_only(pair, sql):
    assert sql("show listen_addresses") == pair["address"]


def test_pg_hba_admits_replication_from_the_pair_only(pair, sql):
    rules = sql(
        "select type, database[1], user_name[1], address, netmask, auth_method from pg_hba_file_rules"
        " where type <> 'local' or error is not null"
    ).splitlines()
    allowed = {f"{a}|255.255.255.255" for a in (pair["address"], pair["peer_address"])}
    assert rules, "no rule admits the peer"
    for rule in rules:
        _kind, db, user, address, mask, method = rule.split("|")
        assert (db, user, method) == ("replication", REPLICATOR, "scram-sha-256"), rule
        assert f"{address}|{mask}" in allowed, rule


def test_no_local_rule_lets_anyone_in_without_a_password(sql):
    rules = sql("select user_name[1], auth_method from pg_hba_file_rules where type = 'local'").splitlines()
    assert all(r in ("postgres|peer", f"{REPLICATOR}|scram-sha-256") for r in rules), rules


def test_replication_uses_tls_when_the_host_has_its_certificate(host, sql):
    if not host.file(CERT).exists:
        pytest.skip(f"no {CERT} (pki_cert) on this host")
    assert sql("show ssl") == "on"
    assert set(sql("select distinct type from pg_hba_file_rules where type <> 'local'").splitlines()) == {"hostssl"}


def test_the_replication_password_is_only_in_a_file_the_server_account_reads(host):
    f = host.file(PASSFILE)
    assert f.user == "postgres" and f.mode == 0o600, oct(f.mode)
    conf = (
        host.file(f"{DATA}/postgresql.conf").content_string + host.file(f"{DATA}/postgresql.auto.conf").content_string
    )
    assert "password=" not in conf.replace(" ", "")


def test_the_replication_account_may_replicate_and_log_in(pair, sql):
    assert sql(f"select rolreplication and rolcanlogin from pg_roles where rolname = '{REPLICATOR}'") == "t"


def test_the_primary_streams_to_its_standby_as_the_pair_says(pair, sql):
    if pair["role"] != "primary":
        pytest.skip("a standby")
    row = sql(
        "select state, sync_state from pg_stat_replication"
        f" where application_name = '{pair['application_name']}' and client_addr = '{pair['peer_address']}'"
    )
    assert row == ("streaming|sync" if pair["replication"] == "sync" else "streaming|async")


def test_the_standby_streams_from_its_primary(pair, sql):
    if pair["role"] != "standby":
        pytest.skip("a primary")
    assert sql("select status, sender_host from pg_stat_wal_receiver") == f"streaming|{pair['peer_address']}"
