"""pki_trust and pki_cert (playbooks/pki.yml) against lab servers, with a CA made by `jinbao pki`:
converge, converge again with nothing to change, testinfra passes; PostgreSQL on prov-db1 presents
the deployed certificate, and after a renewal the next converge issues, deploys and reloads it so
the server presents the new one; a key made world-readable by hand fails exactly its check and the
next converge repairs it. --check issues and deploys nothing, and says which hosts would change. No
key or passphrase in Ansible's output; the machine's /etc unchanged."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.lab.test_rootfs import _etc_digest
from tests.roles import labtools

pytestmark = pytest.mark.lab

PLAYBOOK = "playbooks/pki.yml"
SUITES = ["roles/pki_trust/tests", "roles/pki_cert/tests"]
HOSTS = ["prov-db1", "prov-app1"]
SERVER = "prov-db1"  # runs PostgreSQL with the deployed pair
PG_BIN = "/usr/lib/postgresql/15/bin"
PG_PORT = 5433


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    """A jinbao pki CA for the lab estate and an officer's credential."""
    d = tmp_path_factory.mktemp("pki")
    passfile = d / "root.pass"
    passfile.write_text("lab-root-passphrase-not-a-secret\n")
    passfile.chmod(0o600)
    jinbao = str(Path(sys.executable).parent / "jinbao")
    (d / "ops").mkdir(mode=0o700)
    run = dict(check=True, capture_output=True, text=True, timeout=120)
    subprocess.run(
        [
            jinbao,
            "pki",
            "init",
            "--ca-dir",
            str(d / "ca"),
            "--estate",
            "lab",
            "--root-pass-file",
            str(passfile),
            "--admin-out",
            str(d / "ops" / "admin"),
        ],
        **run,
    )
    subprocess.run(
        [
            jinbao,
            "pki",
            "operator",
            "add",
            "--ca-dir",
            str(d / "ca"),
            "--as",
            str(d / "ops" / "admin"),
            "officer",
            "--role",
            "officer",
            "--out",
            str(d / "ops" / "officer"),
        ],
        **run,
    )
    return {"dir": d, "ca": d / "ca", "officer": d / "ops" / "officer", "jinbao": jinbao, "pass": passfile}


def _vars(lab, ca, **more) -> str:
    pgdata = lab.node_dir(SERVER) / "home" / "jinbao" / "pgtls"
    return json.dumps(
        {
            "pki_trust_ca_dir": str(ca["ca"]),
            "pki_cert_ca_dir": str(ca["ca"]),
            "pki_cert_operator": str(ca["officer"]),
            "pki_cert_jinbao": ca["jinbao"],
            "pki_cert_key_group": "jinbao",  # the lab's PostgreSQL runs as the operator account
            "pki_cert_services": [{"name": "postgresql", "pid_file": str(pgdata / "postmaster.pid")}],
            **more,
        }
    )


def _pg(lab, *args: str, check: bool = True):
    return lab.in_node(SERVER, ["runuser", "-u", "jinbao", "--", *args], check=check, timeout=90)


def _start_postgres(lab) -> None:
    pgdata = lab.node_dir(SERVER) / "home" / "jinbao" / "pgtls"
    _pg(lab, f"{PG_BIN}/initdb", "-D", str(pgdata), "-A", "trust", "--no-sync")
    with open(pgdata / "postgresql.conf", "a") as f:
        f.write(
            f"listen_addresses = '{labtools.ip(lab, SERVER)}'\nport = {PG_PORT}\n"
            f"unix_socket_directories = '{pgdata}'\nssl = on\n"
            "ssl_cert_file = '/etc/ssl/jinbao/host.crt'\nssl_key_file = '/etc/ssl/jinbao/private/jinbao-host.key'\n"
        )
    _pg(lab, f"{PG_BIN}/pg_ctl", "-D", str(pgdata), "-l", str(pgdata / "log"), "-w", "-t", "60", "start")


def _served_serial(lab) -> str:
    r = lab.in_node(
        "ops",
        [
            "bash",
            "-c",
            f"openssl s_client -starttls postgres -connect {labtools.ip(lab, SERVER)}:{PG_PORT} </dev/null 2>/dev/null"
            " | openssl x509 -noout -serial",
        ],
        check=False,
        timeout=30,
    )
    return r.stdout.strip()


def _issued_serial(ca, node: str) -> str:
    crt = ca["ca"] / "deployed" / f"{node}.crt"
    return subprocess.run(
        ["openssl", "x509", "-noout", "-serial", "-in", str(crt)], capture_output=True, text=True, check=True
    ).stdout.strip()


def _failures(lab) -> set:
    return set().union(*(labtools.failures(lab, s, HOSTS) for s in SUITES))


def test_trust_deploy_reload_renew_and_repair(roles_lab, ca):
    lab = roles_lab
    host_etc = _etc_digest()
    converge = lambda *a: labtools.converge(lab, PLAYBOOK, HOSTS, "-e", _vars(lab, ca), *a)  # noqa: E731

    # --check before anything is issued: each host would change, and nothing was issued or deployed
    assert labtools.changed(converge("--check")) == set(HOSTS)
    assert not any((ca["ca"] / "deployed").glob("*.crt"))
    for node in HOSTS:
        assert lab.in_node(node, ["test", "-e", "/etc/ssl/jinbao/host.crt"], check=False).returncode == 1

    assert labtools.changed(converge()) == set(HOSTS)
    assert labtools.changed(converge()) == set()
    assert labtools.changed(converge("--check")) == set()
    assert _failures(lab) == set()

    pgdata = lab.node_dir(SERVER) / "home" / "jinbao" / "pgtls"
    try:
        _start_postgres(lab)
        first = _issued_serial(ca, SERVER)
        assert _served_serial(lab) == first

        # Renewal: a certificate "within 3650 days of its end" is re-issued, deployed, and the
        # server reloaded, so new connections get the new certificate without a restart.
        near_end = _vars(lab, ca, pki_cert_renew_days=3650)
        # --check names the renewal without making it
        assert labtools.changed(labtools.converge(lab, PLAYBOOK, [SERVER], "-e", near_end, "--check")) == {SERVER}
        assert _issued_serial(ca, SERVER) == first
        renewed = labtools.converge(lab, PLAYBOOK, [SERVER], "-e", near_end)
        assert labtools.changed(renewed) == {SERVER}
        second = _issued_serial(ca, SERVER)
        assert second != first
        end = time.monotonic() + 20
        while _served_serial(lab) != second:
            assert time.monotonic() < end, "PostgreSQL still presents the old certificate"
            time.sleep(0.2)

        # An operator makes the key world-readable by hand.
        lab.in_node(SERVER, ["chmod", "0644", "/etc/ssl/jinbao/private/jinbao-host.key"])
        assert _failures(lab) == {("test_the_key_is_readable_by_root_and_its_group_only", labtools.ip(lab, SERVER))}
        assert labtools.changed(converge()) == {SERVER}
        assert _failures(lab) == set()
    finally:
        _pg(lab, f"{PG_BIN}/pg_ctl", "-D", str(pgdata), "-m", "immediate", "-w", "stop", check=False)

    assert _etc_digest() == host_etc
