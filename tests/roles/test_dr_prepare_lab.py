"""postgresql and keepalived (playbooks/dr-prepare.yml) on the lab's DR pair, prov-db1 -> dr-db1, as
the inventory plugin gives it: converge from bare, converge again with nothing to change,
testinfra passes; a row written on the primary is read on the standby; the service address is on
the primary only, leaves it when its PostgreSQL stops and comes back when it starts; a pg_hba
line added by hand fails exactly its check, `--check` names that host and repairs nothing, and the
next converge repairs it. With pki.yml converged first, replication runs over TLS with pki_cert's
certificate. No secret value in Ansible's output; the machine's /etc unchanged.

Beside lab/db.py: the lab's drills run their own PostgreSQL on these nodes (port 5432, socket
/run/postgresql, data under the node folder), so the roles converge a second cluster with its own
port, socket, data dir and log (role variables), which `lab db up` never touches. The lab's zone
firewalls pass only tcp/5432 between the sites' data networks, so this cluster replicates (and
keepalived sends its unicast adverts) between the pair's management addresses, on one segment;
and keepalived holds a documentation address (192.0.2.14), not the pair's service address, which
lab/db.py puts on both nodes' lo for its drills.
"""

from __future__ import annotations

import json
import secrets
import time

import pytest

from lab import automation
from tests.lab.test_rootfs import _etc_digest
from tests.roles import labtools
from tests.roles.test_pki_lab import ca  # noqa: F401  (the CA fixture: a jinbao pki CA for the lab)
from tests.support import run_cli

# pki.yml, then dr-prepare.yml three times and a --check: about 5 minutes alone, more under load
pytestmark = [pytest.mark.lab, pytest.mark.timeout(1800)]

PLAYBOOK = "playbooks/dr-prepare.yml"
SUITES = ["roles/postgresql/tests", "roles/keepalived/tests"]
PRIMARY, STANDBY = "prov-db1", "dr-db1"
HOSTS = [PRIMARY, STANDBY]
PORT, SOCKET = 5442, "/run/jinbao-dr-postgresql"
DATA = "/var/lib/postgresql/15/jinbao-dr-lab"
VIP = "192.0.2.14"
LAB_VARS = {
    "postgresql_port": PORT,
    "postgresql_socket_dir": SOCKET,
    "postgresql_data_dir": DATA,
    "postgresql_log_file": "/var/log/postgresql/jinbao-dr-lab.log",
    "keepalived_pg_port": PORT,
    "keepalived_pg_socket_dir": SOCKET,
    "keepalived_virtual_address": VIP,
}


@pytest.fixture(scope="module")
def pair_lab(roles_lab, monkeypatch_module):
    """The package's lab with this pair's addresses as host_vars beside its inventory, the secret
    values behind the roles' references in the controller's environment, and what testinfra needs
    to find this cluster. Host_vars removed and both clusters and keepalived stopped afterwards."""
    lab = roles_lab
    values = {
        "JINBAO_PG_REPLICATION_PASSWORD": "Repl-" + secrets.token_hex(8),
        "JINBAO_VRRP_AUTH_PASS": secrets.token_hex(4),
    }
    for k, v in {
        **values,
        "JINBAO_PG_PORT": str(PORT),
        "JINBAO_PG_SOCKET": SOCKET,
        "JINBAO_PG_DATA": DATA,
        "JINBAO_DR_ADDRESSES": "mgmt",
        "JINBAO_DR_SERVICE_ADDRESS": VIP,
    }.items():
        monkeypatch_module.setenv(k, v)
    host_vars = automation.inventory(lab).parent / "host_vars"
    host_vars.mkdir(exist_ok=True)
    for me, peer in ((PRIMARY, STANDBY), (STANDBY, PRIMARY)):
        mine, theirs = labtools.ip(lab, me), labtools.ip(lab, peer)
        (host_vars / f"{me}.yml").write_text(
            json.dumps(
                {
                    "postgresql_listen_address": mine,
                    "postgresql_peer_address": theirs,
                    "keepalived_unicast_src": mine,
                    "keepalived_unicast_peer": theirs,
                }
            )
        )
    try:
        yield lab, values
    finally:
        for node in HOSTS:
            lab.in_node(node, ["sh", "-c", "pkill --pidfile /run/keepalived/keepalived.pid || true"], check=False)
            lab.in_node(
                node,
                [
                    "runuser",
                    "-u",
                    "postgres",
                    "--",
                    "/usr/lib/postgresql/15/bin/pg_ctl",
                    "stop",
                    "-m",
                    "fast",
                    "-D",
                    DATA,
                ],
                check=False,
                timeout=90,
            )
            (host_vars / f"{node}.yml").unlink(missing_ok=True)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def _converge(lab, values: dict, playbook: str = PLAYBOOK, *args: str) -> set[str]:
    """Converge playbook on the pair; the hosts it changed. Neither the lab's secret values nor
    this test's may appear in what Ansible printed."""
    labtools.assert_own_roots(lab)
    r, recap = automation.playbook(lab, playbook, "--limit", ",".join(HOSTS), "-e", json.dumps(LAB_VARS), *args)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert set(recap) == set(HOSTS), r.stdout[-2000:]
    leaked = [k for k, v in {**lab.secrets_env(), **values}.items() if v in r.stdout + r.stderr]
    assert not leaked, f"Ansible printed the value of {leaked}"
    return labtools.changed(recap)


def _sql(lab, node: str, query: str, check: bool = True) -> str:
    psql = ["/usr/lib/postgresql/15/bin/psql", "-XAtq", "-h", SOCKET, "-p", str(PORT), "-d", "postgres", "-c", query]
    r = lab.in_node(
        node, ["sh", "-c", 'cd / && exec "$@"', "sql", "runuser", "-u", "postgres", "--", *psql], check=check
    )
    return r.stdout.strip()


def _until(what: str, check, timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, f"not within {timeout} s: {what}"
        time.sleep(0.1)


def _pg_ctl(lab, node: str, *args: str) -> None:
    pg_ctl = ["/usr/lib/postgresql/15/bin/pg_ctl", "-w", "-t", "60", "-D", DATA, *args]
    lab.in_node(
        node, ["sh", "-c", 'cd / && exec "$@"', "pg_ctl", "runuser", "-u", "postgres", "--", *pg_ctl], timeout=90
    )


def _holds_vip(lab, node: str) -> bool:
    return f" {VIP}/32 " in lab.in_node(node, ["ip", "-4", "-o", "addr", "show", "dev", "lo"]).stdout


def _failures(lab) -> set:
    return set().union(*(labtools.failures(lab, s, HOSTS) for s in SUITES))


def test_a_bare_pair_becomes_a_replicating_primary_and_standby_and_a_hand_edit_is_repaired(pair_lab, ca):  # noqa: F811
    lab, values = pair_lab
    host_etc = _etc_digest()

    # The host certificates first (key readable by postgres), so the pair replicates over TLS.
    pki_vars = {
        "pki_trust_ca_dir": str(ca["ca"]),
        "pki_cert_ca_dir": str(ca["ca"]),
        "pki_cert_operator": str(ca["officer"]),
        "pki_cert_jinbao": ca["jinbao"],
        "pki_cert_key_group": "postgres",
    }
    _converge(lab, values, "playbooks/pki.yml", "-e", json.dumps(pki_vars))

    assert _converge(lab, values) == set(HOSTS)
    assert _converge(lab, values) == set()
    _until("the service address on the primary", lambda: _holds_vip(lab, PRIMARY))
    assert not _holds_vip(lab, STANDBY)
    assert _failures(lab) == set()

    # A row committed on the primary is read on the standby.
    token = secrets.token_hex(8)
    _sql(lab, PRIMARY, "create table if not exists dr_canary (token text primary key)")
    _sql(lab, PRIMARY, f"insert into dr_canary values ('{token}')")
    _until(
        "the row on the standby",
        lambda: _sql(lab, STANDBY, f"select count(*) from dr_canary where token = '{token}'", check=False) == "1",
    )
    assert _sql(lab, PRIMARY, "select ssl from pg_stat_ssl join pg_stat_replication using (pid)") == "t"

    # The health check, live: the primary's PostgreSQL stopped, the address leaves it (and the
    # standby, in recovery, does not take it); started again, the address comes back.
    _pg_ctl(lab, PRIMARY, "stop", "-m", "fast")
    _until("the address to leave the stopped primary", lambda: not _holds_vip(lab, PRIMARY))
    assert not _holds_vip(lab, STANDBY)
    _pg_ctl(lab, PRIMARY, "start", "-l", "/var/log/postgresql/jinbao-dr-lab.log")
    _until("the address back on the primary", lambda: _holds_vip(lab, PRIMARY))

    # An operator lets a whole network in for replication on the primary, and reloads.
    lab.in_node(
        PRIMARY,
        ["sh", "-c", f"echo 'hostssl replication replicator 10.0.0.0/8 scram-sha-256' >> {DATA}/pg_hba.conf"],
    )
    _sql(lab, PRIMARY, "select pg_reload_conf()")
    _until(
        "the reloaded pg_hba",
        lambda: "10.0.0.0" in _sql(lab, PRIMARY, "select string_agg(address, ',') from pg_hba_file_rules"),
    )
    assert _failures(lab) == {("test_pg_hba_admits_replication_from_the_pair_only", labtools.ip(lab, PRIMARY))}
    # --check names the host it would repair and repairs nothing.
    assert _converge(lab, values, PLAYBOOK, "--check", "--diff") == {PRIMARY}
    assert _failures(lab) == {("test_pg_hba_admits_replication_from_the_pair_only", labtools.ip(lab, PRIMARY))}
    assert _converge(lab, values) == {PRIMARY}
    _until(
        "the repaired pg_hba",
        lambda: "10.0.0.0" not in _sql(lab, PRIMARY, "select string_agg(address, ',') from pg_hba_file_rules"),
    )
    assert _failures(lab) == set()

    assert _etc_digest() == host_etc


def test_provision_on_a_lab_leaves_the_dr_roles_alone_and_says_so(pair_lab):
    """`jinbao provision --lab` (site imports dr-prepare) must not make a second owner of the lab's
    drill databases: both roles end each host before touching it, and the summary names them."""
    lab, _ = pair_lab
    r = run_cli(
        "provision", "--playbook", "dr-prepare", "--lab", lab.id, "--host", PRIMARY, "--host", STANDBY, "--json"
    )
    assert r.returncode == 0, r.stdout + r.stderr
    body = json.loads(r.stdout)
    assert all(not h["changed"] and not h["failed"] for h in body["hosts"].values()), body["hosts"]
    assert {(n.split()[0], n.split()[3].rstrip(":")) for n in body["left_alone"]} == {
        (role, host) for role in ("postgresql", "keepalived") for host in HOSTS
    }
