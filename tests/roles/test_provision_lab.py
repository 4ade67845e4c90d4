"""`jinbao provision` and `jinbao verify` against a lab's servers, across roles (ssh_hardening is
the one on main): --check on a converged lab changes nothing and on a broken node shows exactly
the broken setting; an unreachable server is named and the others converge; a wrong variable is
refused before any host is touched; no secret value of the lab reaches Ansible's output or logs;
the machine running the lab is byte-for-byte unchanged; two nodes converged with different
variables differ only where the variables do.

The tests run in order on the module's own lab and build on each other (converged first).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from pathlib import Path

import pytest

from jinbao.errors import JinbaoError
from jinbao.provision import RUNS_IN, playbook, playbook_path, seat
from tests.lab.test_rootfs import _machine, _same
from tests.roles import labtools
from tests.support import run_cli

# each test converges or checks harden.yml on every server: minutes apiece on a busy 2-core machine
pytestmark = [pytest.mark.lab, pytest.mark.timeout(1800)]

BROKEN = "prov-app1"
DOWN = "prov-mon1"


@pytest.fixture(scope="module")
def state(tmp_path_factory):
    # deep on purpose: SSH sockets must not be made under it (a socket path stops at 108 bytes,
    # and a state folder this deep once left every host unreachable)
    d = tmp_path_factory.mktemp("jinbao-state") / ("a-deep-state-folder-" + "x" * 40)
    d.mkdir()
    old = os.environ.get("JINBAO_STATE_DIR")
    os.environ["JINBAO_STATE_DIR"] = str(d)  # the runner's workdir and logs, for this module only
    yield d
    if old is None:
        os.environ.pop("JINBAO_STATE_DIR")
    else:
        os.environ["JINBAO_STATE_DIR"] = old


@pytest.fixture(scope="module")
def own_lab(state):
    """A lab of this module's own (it converges every role, so it needs nothing the roles' lab
    tests left; under `make test` it runs beside them, tests/support/groups.py), and the machine
    as it was before this module converged anything."""
    up = labtools.own_lab()
    lab = next(up)
    try:
        yield lab, _machine()
    finally:
        up.close()  # takes the lab down (or leaves a JINBAO_TEST_LAB one up)


def _cli(lab, *args: str, expect: int = 0, env: dict[str, str] | None = None) -> dict:
    r = run_cli(*args, "--lab", lab.id, "--json", timeout=600, env=env)
    assert r.returncode == expect, r.stdout[-3000:] + r.stderr[-3000:]
    return json.loads(r.stdout)


def _provision(lab, *args: str, expect: int = 0) -> dict:
    return _cli(lab, "provision", "--playbook", "harden", *args, expect=expect)["hosts"]


def _audited(lab, state) -> list[dict]:
    """`jinbao audit run` on the servers' kept verify runs (this module's state folder): the
    verdicts of the SRV rules (devices, CA and monitoring have no evidence here)."""
    r = run_cli(
        "--estate", "lab", "audit", "run", "--lab", lab.id, "--no-monitoring",
        "--pki-dir", str(state / "noca"), "--json",
    )  # fmt: skip
    assert r.returncode in (0, 1), r.stdout[-2000:] + r.stderr[-2000:]
    return [v for v in json.loads(r.stdout)["verdicts"] if v["rule"].startswith("SRV-")]


def _process_args() -> list[str]:
    out = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            out.append(cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace"))
    return out


def _masters(lab, folders: set[Path]) -> list[str]:
    """SSH processes of this lab's runs: clients name its ssh_config (lab-<id>), masters their
    socket folder. Another checkout's provision run on the same machine is not this test's."""
    args = _process_args()
    ours = {str(d) for d in folders}
    ours |= {m for a in args if f"lab-{lab.id}" in a for m in re.findall(r"/tmp/jinbao-ssh-\w+", a)}
    return [a for a in args if "jinbao-ssh-" in a and (f"lab-{lab.id}" in a or any(d in a for d in ours))]


def _servers(lab) -> set[str]:
    return {n for n, node in lab.plan.nodes.items() if node.kind == "server"}


def _sshd_config(lab, node: str) -> list[str]:
    return lab.in_node(node, ["cat", "/etc/ssh/sshd_config"]).stdout.splitlines()


@pytest.fixture(scope="module")
def converged(own_lab):
    lab, _ = own_lab
    first = _provision(lab)
    assert set(first) == _servers(lab)
    assert not any(r["failed"] for r in first.values()), first
    return lab


def test_check_on_a_converged_lab_reports_no_changes_and_verify_passes(converged, state):
    lab = converged
    checked = _provision(lab, "--check")
    assert {h for h, r in checked.items() if r["changed"] or r["diff"]} == set(), checked
    assert all(r["data"]["counts"]["changed"] == 0 for r in checked.values())
    # a deep TMPDIR (ssh's socket paths are limited to 108 bytes) must not fail the checks
    deep = state / ("t" * 60)
    deep.mkdir(exist_ok=True)
    before = set(RUNS_IN.glob("jinbao-ssh-*"))
    verified = _cli(lab, "verify", "--playbook", "harden", env={"TMPDIR": str(deep)})["hosts"]
    assert set(verified) == _servers(lab)
    # skipped: the checks only a host owning its kernel can pass (loaded audit rules, kernel sysctls)
    assert {(h, c) for h, checks in verified.items() for c, o in checks.items() if o in ("failed", "error")} == set()
    assert all("passed" in checks.values() for checks in verified.values())
    # verify shared one SSH connection per host, and closed them all when it ended
    left = set(RUNS_IN.glob("jinbao-ssh-*")) - before
    masters = _masters(lab, left)
    assert masters == [] and left == set() and not list(deep.iterdir()), masters
    # the auditor's view of that run: no server finding, and every server's logins proven
    srv = _audited(lab, state)
    assert [(v["rule"], v["subject"]) for v in srv if v["status"] == "finding"] == []
    assert {v["subject"] for v in srv if v["rule"] == "SRV-IDENTITY" and v["status"] == "conforms"} == _servers(lab)


def test_check_on_a_broken_node_shows_exactly_the_broken_setting(converged, state):
    lab = converged
    lab.in_node(
        BROKEN, ["sed", "-i", "s/^PasswordAuthentication no$/PasswordAuthentication yes/", "/etc/ssh/sshd_config"]
    )
    try:
        checked = _provision(lab, "--check")
        assert {h for h, r in checked.items() if r["changed"]} == {BROKEN}, checked
        edits = [l for l in checked[BROKEN]["diff"].splitlines() if l[:1] in ("+", "-") and l[:3] not in ("+++", "---")]
        assert edits == ["-PasswordAuthentication yes", "+PasswordAuthentication no"], checked[BROKEN]["diff"]
        # check mode changed nothing: the node is still broken, and verify names exactly that check
        assert "PasswordAuthentication yes" in _sshd_config(lab, BROKEN)
        # (verify on every server passed in the test before; here the broken node and one other)
        r = run_cli("verify", "--playbook", "harden", "--lab", lab.id, "--host", BROKEN, "--host", DOWN, "--json")
        assert r.returncode == 1, r.stdout + r.stderr
        failed = {
            (h, c) for h, cs in json.loads(r.stdout)["hosts"].items() for c, o in cs.items() if o in ("failed", "error")
        }
        assert failed == {(BROKEN, "ssh_hardening: test_password_authentication_is_off")}
        # and the audit (MLPS 8.1.4.1) names exactly that server and that check
        bad = [v for v in _audited(lab, state) if v["status"] == "finding"]
        assert [(v["rule"], v["subject"]) for v in bad] == [("SRV-IDENTITY", BROKEN)], bad
        [f] = bad[0]["findings"]
        assert "ssh_hardening: test_password_authentication_is_off" in f["ref"], f
    finally:
        # the --check above showed no other server would change: the repair runs on this one
        repaired = _provision(lab, "--host", BROKEN)
    assert {h for h, r in repaired.items() if r["changed"]} == {BROKEN}
    assert "PasswordAuthentication no" in _sshd_config(lab, BROKEN)


def test_an_unreachable_server_is_named_and_the_others_converge(converged):
    lab = converged
    # SSH refused in that node's own network namespace (its own nftables, not the machine's).
    rules = [
        ["add", "table", "inet", "jbtest"],
        ["add", "chain", "inet", "jbtest", "input", "{ type filter hook input priority -10 ; }"],
        ["add", "rule", "inet", "jbtest", "input", "tcp", "dport", "22", "reject", "with", "tcp", "reset"],
    ]
    try:
        for rule in rules:
            lab.in_node(DOWN, ["nft", *rule])
        hosts = _provision(lab, expect=1)
        # the text summary names it too (two servers are enough to show that)
        r = run_cli("provision", "--playbook", "harden", "--lab", lab.id, "--host", DOWN, "--host", BROKEN)
        assert r.returncode == 1 and f"{DOWN}: unreachable" in r.stderr, r.stderr
    finally:
        lab.in_node(DOWN, ["nft", "delete", "table", "inet", "jbtest"], check=False)
    assert hosts[DOWN]["failed"] and hosts[DOWN]["data"]["counts"]["unreachable"] == 1
    assert any("unreachable" in p for p in hosts[DOWN]["problems"])
    assert {h for h, r in hosts.items() if r["failed"]} == {DOWN}
    assert all(r["data"]["counts"]["ok"] > 0 for h, r in hosts.items() if h != DOWN)


def test_a_wrong_variable_is_refused_before_any_host_is_touched(converged):
    lab = converged
    before = {n: _sshd_config(lab, n) for n in _servers(lab)}
    s = seat(f"lab:{lab.id}", "lab")
    with pytest.raises(JinbaoError, match="role variable is wrong"):
        playbook(s, playbook_path("harden"), extra_vars={"ssh_hardening_max_auth_tries": "many"})
    assert {n: _sshd_config(lab, n) for n in _servers(lab)} == before


def test_no_secret_value_of_the_lab_reaches_ansibles_output_or_logs(converged, state, tmp_path):
    lab = converged
    values = [l.partition("=")[2] for l in (lab.dir / "secrets.env").read_text().splitlines() if "=" in l]
    assert values and all(len(v) >= 8 for v in values)
    # A play that prints every secret of the lab, as a careless debug task would: the runner must
    # redact it before anything is shown or stored.
    leaky = tmp_path / "leaky.yml"
    leaky.write_text(
        "- name: Print the lab's secrets on one host\n  hosts: prov-db1\n  gather_facts: false\n  tasks:\n"
        "    - name: Show them\n      ansible.builtin.debug:\n"
        f"        msg: \"{{{{ lookup('file', '{lab.dir / 'secrets.env'}') }}}}\"\n"
    )
    run = playbook(seat(f"lab:{lab.id}", "lab", hosts=["prov-db1"]), leaky, verbose=3)
    assert "<secret env:JINBAO_SNMP_AUTH_KEY>" in run.stdout  # the secret was there, and redacted
    # every server is given the same secret references: two of them show what the CLI prints
    r = run_cli("provision", "--playbook", "harden", "--lab", lab.id, "--check", "--host", "prov-db1", "--host", BROKEN)
    texts = {"stdout": r.stdout + r.stderr, "leaky run": run.stdout}
    # every file the runs left: logs, ssh_config, inventory, Ansible's home (control sockets aside)
    texts |= {str(f): f.read_text(errors="replace") for f in Path(state).rglob("*") if f.is_file()}
    assert any(f.endswith("-provision.log") for f in texts)
    leaked = {(where, v) for where, text in texts.items() for v in values if v in text}
    assert leaked == set()


def test_two_nodes_converged_with_different_variables_differ_only_there(converged):
    lab = converged
    a, b = "prov-db1", "dr-db1"

    def differences() -> set[str]:
        la, lb = _sshd_config(lab, a), _sshd_config(lab, b)
        return set(la) ^ set(lb)

    def effective(node) -> set[str]:
        return set(lab.in_node(node, ["/usr/sbin/sshd", "-T"]).stdout.splitlines())

    baseline, eff_a, eff_b = differences(), effective(a), effective(b)
    s = seat(f"lab:{lab.id}", "lab", hosts=[a])
    varied = {"ssh_hardening_max_auth_tries": 2, "ssh_hardening_client_alive_interval": 120}
    try:
        run = playbook(s, playbook_path("harden"), extra_vars=varied)
        assert not run.results.failed and run.results.results[a].changed
        new = differences() - baseline
        assert {re.sub(r"\s+\S+$", "", l) for l in new} == {"MaxAuthTries", "ClientAliveInterval"}, new
        assert new == {"MaxAuthTries 2", "MaxAuthTries 3", "ClientAliveInterval 120", "ClientAliveInterval 300"}
        # and what sshd runs with differs in those two settings only, on the varied node only
        assert effective(a) ^ eff_a == {
            "maxauthtries 2",
            "maxauthtries 3",
            "clientaliveinterval 120",
            "clientaliveinterval 300",
        }
        assert effective(b) == eff_b
    finally:
        playbook(s, playbook_path("harden"))
    assert differences() == baseline


def test_the_machine_running_the_lab_is_unchanged(own_lab, converged):
    _, machine = own_lab
    _same(machine, _machine())
