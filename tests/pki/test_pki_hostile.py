"""The CA against a hostile or careless operator: one key per operator, no renewal under someone else's
name, no certificate handed out that the CA has not recorded, one winner among concurrent renewals; a ca.db or
audit.head put back from an earlier copy, an edited ca.yml, a clock set back, an operator key others can read."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import sqlite3
import subprocess
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import ocsp

from pki import files, policy
from pki.authority import Authority
from pki.authz import Credential
from pki.errors import NotAllowed, PkiError
from pki.store.transactions import Transactions
from tests.pki.test_pki import DOMAIN, ROOT_PASS, _openssl, new_ca
from tests.pki.test_pki_review import (
    _cli,
    _counts,
    _last_audit,
    _ocsp_for,
    _refused_cleanly,
    _serial_of,
    _serve,
)
from tests.support import JINBAO, run_cli


@pytest.fixture
def ca(tmp_path):
    return new_ca(tmp_path / "pki")


def _csr(key, out, cn):
    """A request made with `key` (openssl, as an operator would make it)."""
    r = subprocess.run(
        ["openssl", "req", "-new", "-key", str(key), "-subj", f"/CN={cn}", "-out", str(out)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 0, r.stderr
    return out


def _openssl_pubkey(path):
    r = subprocess.run(["openssl", "x509", "-in", str(path), "-noout", "-pubkey"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


# -- one key never backs two operators ---------------------------------------------------------------------


def test_renewing_with_a_key_another_credential_carries_is_refused_and_logged(ca, tmp_path):
    """The compliance audit's finding: a credential renewed from a request made with the administrator's key
    gives one key two names and two roles. Refused whoever renews, whatever state the other credential is in."""
    alice = _serial_of(ca.ops / "alice.crt")
    admin = _serial_of(ca.ops / "admin.crt")
    ca.ca.add_operator(ca.admin, "carol", "officer", tmp_path / "carol")
    carol = _serial_of(tmp_path / "carol.crt")
    assert _cli(ca, "admin", "operator", "revoke", "carol").returncode == 0
    cases = (
        (ca.ops / "admin.key", f"certificate {admin} (operator, operator admin)"),  # valid, another role
        (tmp_path / "carol.key", f"certificate {carol} (operator, operator carol)"),  # revoked
        (ca.dir / "ocsp" / "ocsp.key", "(ocsp_signer"),  # the CA's own
        (ca.dir / "issuing" / "issuing.key", "the issuing CA"),
    )
    for n, (key, names) in enumerate(cases):
        before = _counts(ca)
        csr = _csr(key, tmp_path / f"x{n}.csr", "alice")
        r = _cli(ca, "alice", "renew", alice, "--csr", str(csr), "--out", str(tmp_path / f"a{n}"))
        _refused_cleanly(r, "one key never backs two operators' credentials", names)
        assert not list(tmp_path.glob(f"a{n}.*")), n
        assert _counts(ca) == (before[0], before[1] + 1), n  # nothing issued, the refusal recorded
        actor, action, detail = _last_audit(ca)
        assert (actor, action) == ("alice", "denied") and '"action": "renew"' in detail, detail
    # alice still acts with her credential: nothing was renewed
    ca.ca.issue(ca.officer, "server_tls", device="prov-db1")
    assert ca.ca.verify_audit(ca.auditor)[1] == []


def test_the_holder_renews_with_their_own_key_and_the_old_credential_stops(ca, tmp_path):
    """step-ca's renew keeps the key: the holder's own line may, and only the newest credential acts."""
    alice = _serial_of(ca.ops / "alice.crt")
    csr = _csr(ca.ops / "alice.key", tmp_path / "same.csr", "alice")
    r = _cli(ca, "alice", "renew", alice, "--csr", str(csr), "--out", str(tmp_path / "alice2"))
    assert r.returncode == 0, r.stderr
    assert _openssl_pubkey(tmp_path / "alice2.crt") == _openssl_pubkey(ca.ops / "alice.crt")
    (tmp_path / "alice2.key").write_bytes((ca.ops / "alice.key").read_bytes())
    (tmp_path / "alice2.key").chmod(0o600)
    r = run_as(ca, tmp_path / "alice2", "renew", _serial_of(tmp_path / "alice2.crt"), "--csr", str(csr))
    assert r.returncode == 0, r.stderr  # and again: the whole line is hers
    # the credential she renewed from is replayed: refused, and logged under her name
    r = _cli(ca, "alice", "issue", "--profile", "server_tls", "--device", "prov-db1", "--out", str(tmp_path / "d"))
    _refused_cleanly(r, "has been renewed; use the new one")
    assert _last_audit(ca)[:2] == ("alice", "denied") and not list(tmp_path.glob("d.*"))
    assert ca.ca.verify_audit(ca.auditor)[1] == []


def run_as(ca, prefix, *args):
    return subprocess.run(
        [*JINBAO, "pki", *args, "--out", f"{prefix}-next", "--ca-dir", str(ca.dir), "--as", str(prefix)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_operator_add_and_admin_recovery_refuse_a_key_in_use(ca, tmp_path, monkeypatch):
    """Whichever way an operator credential is made, its key is checked under the lock: here the key the
    CA 'generates' is forced to be the administrator's (what a weak RNG or a planted key would give)."""
    admin_key = serialization.load_pem_private_key((ca.ops / "admin.key").read_bytes(), password=None)
    monkeypatch.setattr(policy.keys, "generate", lambda kt: admin_key)
    for how, actor in (
        (lambda: ca.ca.add_operator(ca.admin, "mallory", "officer", tmp_path / "m"), "admin"),
        (lambda: Authority(ca.dir).recover_admin(ROOT_PASS, "mallory", tmp_path / "m"), "root"),
    ):
        before = _counts(ca)
        with pytest.raises(NotAllowed, match="already the key of certificate"):
            how()
        assert not list(tmp_path.glob("m.*")) and _counts(ca) == (before[0], before[1] + 1)
        assert _last_audit(ca)[:2] == (actor, "denied")
    monkeypatch.undo()
    ca.ca.add_operator(ca.admin, "mallory", "officer", tmp_path / "m")  # the name was never taken
    assert ca.ca.verify_audit(ca.auditor)[1] == []


# -- nothing signed leaves the CA unrecorded --------------------------------------------------------------


def _issue_then_die(ca_dir, ops, out):
    """In a child: issue, and be killed (SIGKILL, as by the OOM killer or a power cut) just before the commit."""

    def die(self, undo):
        os.kill(os.getpid(), signal.SIGKILL)

    Transactions.on_abort = die
    Authority(ca_dir).issue(Credential.from_prefix(ops / "alice"), "server_tls", device="prov-db1", out=out)


def test_a_process_killed_mid_issue_hands_out_no_unrecorded_certificate(ca, tmp_path):
    before = _counts(ca)
    child = multiprocessing.get_context("fork").Process(target=_issue_then_die, args=(ca.dir, ca.ops, tmp_path / "k"))
    child.start()
    child.join(120)
    assert child.exitcode == -signal.SIGKILL
    # a signed certificate the CA has no record of could be listed on no CRL and revoked by no one
    assert not (tmp_path / "k.crt").exists()
    assert _counts(ca) == before and ca.ca.verify_audit(ca.auditor)[1] == []
    # the key left behind certifies nothing; the same --out is refused by name until it is removed
    r = _cli(ca, "alice", "issue", "--profile", "server_tls", "--device", "prov-db1", "--out", str(tmp_path / "k"))
    _refused_cleanly(r, "k.key already exists")
    (tmp_path / "k.key").unlink()
    r = _cli(ca, "alice", "issue", "--profile", "server_tls", "--device", "prov-db1", "--out", str(tmp_path / "k"))
    assert r.returncode == 0, r.stderr
    assert ca.ca.show(ca.auditor, _serial_of(tmp_path / "k.crt"))["device"] == "prov-db1"


def test_a_certificate_file_that_cannot_be_written_after_the_commit_says_where_it_is(ca, tmp_path, monkeypatch):
    """A symlink planted at PREFIX.crt between the key's write and the commit: the certificate is recorded (it
    can be revoked), nothing is written through the link, and the message says how to get the certificate."""
    real = files.Outputs.write

    def write_and_plant(self, cert_pem, key_pem):
        real(self, cert_pem, key_pem)
        (tmp_path / "late.crt").symlink_to(tmp_path / "elsewhere")

    monkeypatch.setattr(files.Outputs, "write", write_and_plant)
    before = _counts(ca)
    with pytest.raises(PkiError, match=r"is issued and recorded .*jinbao pki show") as e:
        ca.ca.issue(ca.officer, "server_tls", device="prov-db1", out=tmp_path / "late")
    assert not (tmp_path / "elsewhere").exists() and (tmp_path / "late.key").exists()
    assert _counts(ca)[0] == before[0] + 1
    serial = str(e.value).split()[1]
    assert ca.ca.show(ca.auditor, serial)["device"] == "prov-db1"


# -- concurrent renewals ---------------------------------------------------------------------------------


def test_two_renewals_of_one_credential_at_once_have_one_winner(ca, tmp_path):
    alice = _serial_of(ca.ops / "alice.crt")
    procs = [
        subprocess.Popen(
            [*JINBAO, "pki", "renew", alice, "--out", str(tmp_path / f"r{i}"), "--ca-dir", str(ca.dir), "--as"]
            + [str(ca.ops / "alice")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    results = [(p.wait(120), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    assert sorted(rc for rc, _ in results) == [0, 2], results
    winner = next(i for i, (rc, _) in enumerate(results) if rc == 0)
    loser_err = results[1 - winner][1]
    assert "Traceback" not in loser_err and "renewed" in loser_err, loser_err
    assert not list(tmp_path.glob(f"r{1 - winner}.*"))  # the loser left nothing half-written
    db = sqlite3.connect(ca.dir / "ca.db")
    try:
        successors = db.execute("SELECT serial FROM certs WHERE renewed_from = ?", (alice,)).fetchall()
        current = db.execute("SELECT serial FROM operators WHERE name = 'alice'").fetchone()[0]
    finally:
        db.close()
    assert [s for (s,) in successors] == [current] == [_serial_of(tmp_path / f"r{winner}.crt")]
    assert ca.ca.verify_audit(ca.auditor)[1] == []


def test_an_operators_key_certifies_nothing_else(ca, tmp_path):
    """An officer's key on a server would make whoever runs the server the officer; a device key renewed into an
    operator credential, the same. Both refused, and logged with who asked."""
    for n, key in enumerate((ca.ops / "alice.key", ca.ops / "admin.key", ca.dir / "ocsp" / "ocsp.key")):
        before = _counts(ca)
        csr = _csr(key, tmp_path / f"d{n}.csr", "prov-db1.lab.hrss.ah.example")
        r = _cli(
            ca, "alice", "issue", "--profile", "server_tls", "--device", "prov-db1", "--csr", str(csr),
            "--out", str(tmp_path / f"d{n}"),
        )  # fmt: skip
        _refused_cleanly(r, "certify nothing else")
        assert _counts(ca) == (before[0], before[1] + 1) and not list(tmp_path.glob(f"d{n}.c*t"))
        assert _last_audit(ca)[:2] == ("alice", "denied")
    # the other way: a device's key (the CA made it, the officer holds it) does not become alice's credential
    dev = ca.ca.issue(ca.officer, "server_tls", device="prov-db1", out=tmp_path / "dev")
    csr = _csr(tmp_path / "dev.key", tmp_path / "dev.csr", "alice")
    r = _cli(ca, "alice", "renew", _serial_of(ca.ops / "alice.crt"), "--csr", str(csr), "--out", str(tmp_path / "a"))
    _refused_cleanly(r, f"certificate {dev.serial} (server_tls")
    assert ca.ca.verify_audit(ca.auditor)[1] == []


def _renew_signer_then_die(ca_dir, ops):
    def die(self, undo):
        os.kill(os.getpid(), signal.SIGKILL)

    Transactions.on_abort = die
    Authority(ca_dir).renew_ocsp_signer(Credential.from_prefix(ops / "admin"))


def test_an_ocsp_signer_the_ca_has_no_record_of_signs_nothing(ca, tmp_path):
    """renew-signer killed after replacing ocsp/ but before its commit: the signer there is one the CA never
    recorded (no CRL could list it, no one could revoke it). The responder does not start with it."""
    recorded = _serial_of(ca.dir / "ocsp" / "ocsp.crt")
    child = multiprocessing.get_context("fork").Process(target=_renew_signer_then_die, args=(ca.dir, ca.ops))
    child.start()
    child.join(120)
    assert child.exitcode == -signal.SIGKILL
    stray = _serial_of(ca.dir / "ocsp" / "ocsp.crt")
    assert stray != recorded and not ca.ca.store.cert(stray)
    r = run_cli("pki", "ocsp", "serve", "--ca-dir", str(ca.dir), "--port", "0", timeout=30)
    _refused_cleanly(r, f"ocsp/ holds signer {stray}, but the CA records {recorded} in use", "renew-signer")
    # the way out the message gives
    assert _cli(ca, "admin", "ocsp", "renew-signer").returncode == 0
    running = _serve(ca)
    try:
        device = ca.ca.issue(ca.officer, "server_tls", device="prov-db1")
        answer = _ocsp_for(ca, running.port, device.cert)
        assert answer.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
        assert answer.certificates[0].serial_number == int(_serial_of(ca.dir / "ocsp" / "ocsp.crt"), 16)
    finally:
        running.proc.kill()
        running.proc.wait()


def test_an_auditor_reads_and_does_nothing_else(ca, tmp_path):
    """Every command that writes, tried by the auditor through the CLI: refused (exit 2), logged under the
    auditor's name, and the CA's records, CRL and OCSP signer unchanged; reading still works."""
    dev = ca.ca.issue(ca.officer, "server_tls", device="prov-db1", out=tmp_path / "dev")
    (tmp_path / "pass").write_bytes(ROOT_PASS)
    alice = _serial_of(ca.ops / "alice.crt")
    signer = ca.dir / "ocsp" / "ocsp.crt"
    crl = ca.dir / "crl" / "issuing.crl"
    keep = {p: p.read_bytes() for p in (signer, crl, ca.dir / "crl" / "root.crl")}
    attempts = [
        ("issue", "--profile", "server_tls", "--device", "prov-db1", "--out", str(tmp_path / "x")),
        ("issue", "--profile", "operator", "--out", str(tmp_path / "x")),
        ("revoke", dev.serial),
        ("renew", dev.serial, "--out", str(tmp_path / "x")),
        ("renew", alice, "--out", str(tmp_path / "x")),
        ("crl",),
        ("crl", "--root", "--root-pass-file", str(tmp_path / "pass")),
        ("ocsp", "renew-signer"),
        ("operator", "add", "eve", "--role", "auditor", "--out", str(tmp_path / "x")),
        ("operator", "revoke", "alice"),
        (
            "deploy",
            "--cert",
            str(tmp_path / "dev.crt"),
            "--key",
            str(tmp_path / "dev.key"),
            "--lab",
            "zz",
            "--node",
            "prov-db1",
        ),
    ]
    for args in attempts:
        certs, entries = _counts(ca)
        r = _cli(ca, "bob", *args)
        _refused_cleanly(r)
        assert _counts(ca) == (certs, entries + 1), args
        assert _last_audit(ca)[:2] == ("bob", "denied"), args
        assert not list(tmp_path.glob("x.*")), args
    assert {p: p.read_bytes() for p in keep} == keep
    assert ca.ca.show(ca.auditor, dev.serial)["revoked_at"] is None
    r = _cli(ca, "bob", "list", "--json")
    assert r.returncode == 0 and dev.serial in r.stdout, r.stderr
    assert ca.ca.verify_audit(ca.auditor)[1] == []


# -- a compromised key is never certified again --------------------------------------------------------------


def test_a_key_revoked_as_compromised_is_never_certified_again(ca, tmp_path):
    """An officer revokes prov-db1's certificate for key_compromise, then certifies the same request again (or
    renews a sibling certificate of that key, or gives the key to another device): each would hand whoever stole
    the key a valid certificate. Refused and logged; a key revoked only as superseded stays usable."""
    key = tmp_path / "dev.key"
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key)], check=True)
    csr = _csr(key, tmp_path / "dev.csr", "prov-db1")
    first = ca.ca.issue(ca.officer, "server_tls", device="prov-db1", csr_pem=csr.read_bytes())
    sibling = ca.ca.issue(ca.officer, "server_tls", device="prov-db1", csr_pem=csr.read_bytes())
    superseded = ca.ca.issue(ca.officer, "server_tls", device="prov-app1")
    assert _cli(ca, "alice", "revoke", superseded.serial, "--reason", "superseded").returncode == 0
    assert _cli(ca, "alice", "revoke", first.serial, "--reason", "key_compromise").returncode == 0
    attempts = [
        (("issue", "--profile", "server_tls", "--device", "prov-db1", "--csr", str(csr)), "revoked for key_compromise"),
        (("issue", "--profile", "client_tls", "--device", "prov-app1", "--csr", str(csr)), "revoked for key_comp"),
        # the sibling went with the compromise (test_a_compromise_revokes_every_certificate_of_the_key)
        (("renew", sibling.serial, "--csr", str(csr)), "is revoked (key_compromise); it cannot be renewed"),
    ]
    for n, (args, says) in enumerate(attempts):
        before = _counts(ca)
        r = _cli(ca, "alice", *args, "--out", str(tmp_path / f"x{n}"))
        _refused_cleanly(r, says)
        assert first.serial in r.stderr or sibling.serial in r.stderr, r.stderr
        assert _counts(ca) == (before[0], before[1] + 1), args  # nothing issued, the refusal recorded
        assert _last_audit(ca)[:2] == ("alice", "denied"), args
        assert not list(tmp_path.glob(f"x{n}.*")), args
    # renewing the superseded certificate's device with a fresh key, and a new key for prov-db1, still work
    r = _cli(ca, "alice", "issue", "--profile", "server_tls", "--device", "prov-db1", "--out", str(tmp_path / "ok"))
    assert r.returncode == 0, r.stderr
    assert ca.ca.verify_audit(ca.auditor)[1] == []


# -- the issuing CA's own validity bounds every certificate ---------------------------------------------------


def test_no_certificate_outlives_the_issuing_ca_or_is_signed_after_it(ca, tmp_path, monkeypatch):
    """Ten years on the issuing CA (3650 days) has 200 days left: the profile's default is cut to the CA's end, a
    --days beyond it is refused naming what fits, and once the CA has expired it signs nothing at all."""
    from pki import clock

    iss = x509_load(ca.dir / "issuing" / "issuing.crt")
    real_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: iss.not_valid_after_utc.replace(microsecond=0) - timedelta(days=200))
    cert = ca.ca.issue(ca.officer, "network_device", device="prov-wan1").cert
    assert cert.not_valid_after_utc == iss.not_valid_after_utc
    with pytest.raises(PkiError, match="would outlive the issuing CA"):
        ca.ca.issue(ca.officer, "network_device", device="prov-wan1", days=300)
    monkeypatch.setattr(clock, "now", lambda: iss.not_valid_after_utc + timedelta(seconds=1))
    before = _counts(ca)
    with pytest.raises(PkiError, match="the issuing CA is valid from .* not now: it signs nothing"):
        ca.ca.issue(ca.officer, "server_tls", device="prov-db1")
    assert _counts(ca) == before
    monkeypatch.setattr(clock, "now", real_now)
    assert ca.ca.issue(ca.officer, "server_tls", device="prov-db1").cert.not_valid_after_utc < iss.not_valid_after_utc


def x509_load(path):
    from cryptography import x509

    return x509.load_pem_x509_certificate(path.read_bytes())


# -- the CA does not append to a log that was changed behind its back ---------------------------------------


def _rewrite_log(db_path, sql: str, rehash_from: int | None = None) -> None:
    """What someone with write access to ca.db does: drop the append-only triggers, change the log (and, with
    rehash_from, recompute every hash and link from that entry on: only the signatures cannot be redone), then put
    the triggers back exactly as they were."""
    from pki.store import entry_hash

    db = sqlite3.connect(db_path)
    try:
        triggers = [r[0] for r in db.execute("SELECT sql FROM sqlite_master WHERE type='trigger' AND tbl_name='audit'")]
        db.execute("DROP TRIGGER audit_no_update")
        db.execute("DROP TRIGGER audit_no_delete")
        db.executescript(sql)
        if rehash_from is not None:
            prev = db.execute("SELECT hash FROM audit WHERE seq = ?", (rehash_from - 1,)).fetchone()[0]
            for seq, ts, actor, action, detail in db.execute(
                "SELECT seq, ts, actor, action, detail FROM audit WHERE seq >= ? ORDER BY seq", (rehash_from,)
            ).fetchall():
                prev_h, prev = prev, entry_hash(prev, seq, ts, actor, action, detail)
                db.execute("UPDATE audit SET prev = ?, hash = ? WHERE seq = ?", (prev_h, prev, seq))
        for t in triggers:
            db.execute(t)
        db.commit()
    finally:
        db.close()


EDITS = {
    "edit an actor": ("UPDATE audit SET actor = 'mallory' WHERE seq = 4", None),
    "delete a middle entry": ("DELETE FROM audit WHERE seq = 6", None),
    "swap two entries": (
        "UPDATE audit SET seq = -1 WHERE seq = 6; UPDATE audit SET seq = 6 WHERE seq = 7; "
        "UPDATE audit SET seq = 7 WHERE seq = -1",
        None,
    ),
    "rehash after an edit": ("UPDATE audit SET detail = replace(detail, 'officer', 'ca_admin') WHERE seq = 6", 6),
}


@pytest.mark.parametrize(
    "how",
    [*EDITS, "drop the triggers"],
)
def test_the_ca_refuses_to_act_on_an_edited_log_and_appends_nothing(ca, tmp_path, how):
    """Someone edits the log in ca.db and leaves the tables alone: the seal over the tables still holds, but the
    CA must not build on (or sign an entry after) a log that no longer says what happened. Every change is
    refused, exit 2, and not a line is appended, not even the refusal; audit verify still names the edit."""
    dev = ca.ca.issue(ca.officer, "server_tls", device="prov-db1")
    db = ca.dir / "ca.db"
    if how in EDITS:
        _rewrite_log(db, *EDITS[how])
    else:
        c = sqlite3.connect(db)
        c.execute("DROP TRIGGER audit_no_delete")
        c.commit()
        c.close()
    entries = [r[0] for r in sqlite3.connect(db).execute("SELECT hash FROM audit ORDER BY seq")]
    for args in (
        ("issue", "--profile", "server_tls", "--device", "prov-app1", "--out", str(tmp_path / "x")),
        ("revoke", dev.serial),
        ("crl",),
    ):
        r = _cli(ca, "alice", *args)
        _refused_cleanly(r, "the audit log in ca.db was changed outside the CA")
        assert not list(tmp_path.glob("x.*")), args
        assert [r[0] for r in sqlite3.connect(db).execute("SELECT hash FROM audit ORDER BY seq")] == entries, args
    r = _cli(ca, "admin", "operator", "add", "eve", "--role", "auditor", "--out", str(tmp_path / "x"))
    _refused_cleanly(r, "the audit log in ca.db was changed outside the CA")
    r = _cli(ca, "bob", "audit", "verify")
    assert r.returncode == 1, r.stdout + r.stderr


def test_init_force_destroys_a_ca_only_with_its_own_root_passphrase(ca, tmp_path):
    """'pki init --force' erases the audit log and the record of every certificate: someone who can write the
    folder but does not hold the root must not get a fresh CA, and a ca_admin credential of their own, from it."""
    (tmp_path / "other.pass").write_bytes(b"a passphrase of my own")
    kept = {p: p.read_bytes() for p in (ca.dir / "ca.db", ca.dir / "root" / "root.key", ca.dir / "audit.head")}
    args = ("pki", "init", "--ca-dir", str(ca.dir), "--estate", "lab", "--force")
    r = run_cli(*args, "--root-pass-file", str(tmp_path / "other.pass"), "--admin-out", str(tmp_path / "mallory"))
    _refused_cleanly(r, "destroyed only with its own root passphrase")
    assert {p: p.read_bytes() for p in kept} == kept and not list(tmp_path.glob("mallory.*"))
    assert ca.ca.verify_audit(ca.auditor)[1] == []
    (tmp_path / "root.pass").write_bytes(ROOT_PASS)
    r = run_cli(*args, "--root-pass-file", str(tmp_path / "root.pass"), "--admin-out", str(tmp_path / "zhao"))
    assert r.returncode == 0, r.stderr  # the root's holder may start over


def test_a_ca_key_others_can_read_signs_nothing(ca, tmp_path):
    """A careless 'chmod -R a+r' on the CA folder: the issuing CA's key (unencrypted, online) is refused, as ssh
    refuses such a key, with the fix in the message; the auditor still verifies from public material; once the
    mode is put back the CA works again."""
    key = ca.dir / "issuing" / "issuing.key"
    key.chmod(0o644)
    before = _counts(ca)
    r = _cli(ca, "alice", "issue", "--profile", "server_tls", "--device", "prov-db1", "--out", str(tmp_path / "x"))
    _refused_cleanly(r, "readable or writable by others (mode 0644)", f"chmod 600 {key}")
    assert _counts(ca) == before and not list(tmp_path.glob("x.*"))
    r = _cli(ca, "bob", "audit", "verify")
    assert r.returncode == 0, r.stdout + r.stderr
    key.chmod(0o600)
    r = _cli(ca, "alice", "issue", "--profile", "server_tls", "--device", "prov-db1", "--out", str(tmp_path / "x"))
    assert r.returncode == 0, r.stderr


def test_one_devices_key_is_certified_for_no_other_subject(ca, tmp_path):
    """prov-app1's request handed in again as prov-db1's (a CSR reused): whoever runs prov-app1 would hold a
    certificate with prov-db1's names. Refused and logged; the same device may have its key certified again
    (another profile, a renewal from the same request)."""
    key = tmp_path / "app1.key"
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key)], check=True)
    csr = _csr(key, tmp_path / "app1.csr", "prov-app1")
    first = ca.ca.issue(ca.officer, "server_tls", device="prov-app1", csr_pem=csr.read_bytes())
    ca.ca.issue(ca.officer, "client_tls", device="prov-app1", csr_pem=csr.read_bytes())
    assert _cli(ca, "alice", "renew", first.serial, "--csr", str(csr), "--out", str(tmp_path / "ok")).returncode == 0
    for n, args in enumerate(
        (
            ("issue", "--profile", "server_tls", "--device", "prov-db1", "--csr", str(csr)),
            (
                "issue",
                "--profile",
                "person_auth",
                "--person",
                "Zhang San",
                "--email",
                f"zs@{DOMAIN}",
                "--csr",
                str(csr),
            ),
        )
    ):
        before = _counts(ca)
        r = _cli(ca, "alice", *args, "--out", str(tmp_path / f"x{n}"))
        _refused_cleanly(r, "one key is certified for one subject", "(prov-app1)")
        assert _counts(ca) == (before[0], before[1] + 1) and _last_audit(ca)[:2] == ("alice", "denied"), args
        assert not list(tmp_path.glob(f"x{n}.*")), args
    assert ca.ca.verify_audit(ca.auditor)[1] == []


def test_a_routine_revocation_found_to_be_a_compromise_is_raised_once(ca, tmp_path):
    """Revoked as superseded, then found stolen: revoking again for key_compromise raises the reason (the date
    stays, RFC 5280), so the CRL says it and the key is refused from then on; any other second revocation is
    'already revoked', and a compromise is never lowered."""
    key = tmp_path / "dev.key"
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key)], check=True)
    csr = _csr(key, tmp_path / "dev.csr", "prov-db1")
    dev = ca.ca.issue(ca.officer, "server_tls", device="prov-db1", csr_pem=csr.read_bytes())
    assert _cli(ca, "alice", "revoke", dev.serial, "--reason", "superseded").returncode == 0
    at = ca.ca.show(ca.officer, dev.serial)["revoked_at"]
    for reason in ("superseded", "cessation_of_operation"):
        _refused_cleanly(_cli(ca, "alice", "revoke", dev.serial, "--reason", reason), "already revoked (superseded)")
    assert _cli(ca, "alice", "revoke", dev.serial, "--reason", "key_compromise").returncode == 0
    row = ca.ca.show(ca.officer, dev.serial)
    assert (row["revoke_reason"], row["revoked_at"]) == ("key_compromise", at)
    crl = _openssl("crl", "-inform", "DER", "-in", str(ca.dir / "crl" / "issuing.crl"), "-noout", "-text").stdout
    assert "Key Compromise" in crl and "Superseded" not in crl, crl
    for reason in ("key_compromise", "superseded"):
        _refused_cleanly(
            _cli(ca, "alice", "revoke", dev.serial, "--reason", reason), "already revoked (key_compromise)"
        )
    r = _cli(
        ca,
        "alice",
        "issue",
        "--profile",
        "server_tls",
        "--device",
        "prov-db1",
        "--csr",
        str(csr),
        "--out",
        str(tmp_path / "x"),
    )
    _refused_cleanly(r, "a compromised key is never certified again")
    assert ca.ca.verify_audit(ca.auditor)[1] == []


# -- ca.db and audit.head, each put back from an earlier copy -------------------------------------------------------


def _copy_db(src, dst) -> None:
    """A consistent copy of a live ca.db (WAL and all), as sqlite3's .backup takes one."""
    s, d = sqlite3.connect(src), sqlite3.connect(dst)
    try:
        s.backup(d)
    finally:
        d.close()
        s.close()


def _put_back(copy, db) -> None:
    for side in ("-wal", "-shm"):
        db.with_name(db.name + side).unlink(missing_ok=True)
    shutil.copyfile(copy, db)


def _log(ca):
    db = sqlite3.connect(ca.dir / "ca.db")
    try:
        return db.execute("SELECT seq, hash FROM audit ORDER BY seq").fetchall()
    finally:
        db.close()


def _every_change(ca, tmp_path, serial, officer_serial):
    (tmp_path / "root.pass").write_bytes(ROOT_PASS)
    return {
        "issue": ("alice", "issue", "--profile", "server_tls", "--device", "prov-app1", "--out", str(tmp_path / "o1")),
        "revoke": ("alice", "revoke", serial, "--reason", "key_compromise"),
        "renew": ("alice", "renew", serial, "--out", str(tmp_path / "o2")),
        "crl": ("alice", "crl"),
        "root crl": ("admin", "crl", "--root", "--root-pass-file", str(tmp_path / "root.pass")),
        "ocsp signer": ("admin", "ocsp", "renew-signer"),
        "operator add": ("admin", "operator", "add", "eve", "--role", "officer", "--out", str(tmp_path / "o3")),
        "operator revoke": ("admin", "operator", "revoke", "alice"),
        "own renewal": ("alice", "renew", officer_serial, "--out", str(tmp_path / "o4")),
    }


@pytest.mark.parametrize("last", ["one transaction", "several"])
def test_a_ca_db_put_back_behind_its_audit_log_changes_nothing(ca, tmp_path, last):
    """The review's gap: an operator restores an older ca.db (the revocation of a stolen key gone with it) and
    leaves audit.head, which names a newer entry. Only 'audit verify' noticed; every change went on from the old
    state. Now each state-changing command refuses, exit 2, naming both files and the fix, and changes nothing:
    not a log entry, not a file. Even a copy taken just before the last transaction is caught."""
    stolen = ca.ca.issue(ca.officer, "server_tls", device="prov-db1")
    if last == "several":
        _copy_db(ca.dir / "ca.db", tmp_path / "old.db")
        ca.ca.issue(ca.officer, "client_tls", device="prov-app1")
        ca.ca.revoke(ca.officer, stolen.serial, "key_compromise")
    else:
        _copy_db(ca.dir / "ca.db", tmp_path / "old.db")
        ca.ca.revoke(ca.officer, stolen.serial, "key_compromise")
    newest = tmp_path / "newest.db"
    _copy_db(ca.dir / "ca.db", newest)
    ca.ca.store.db.close()  # the CA process is stopped while its folder is worked on
    _put_back(tmp_path / "old.db", ca.dir / "ca.db")
    log, crl = _log(ca), (ca.dir / "crl" / "issuing.crl").read_bytes()
    changes = _every_change(ca, tmp_path, stolen.serial, _serial_of(ca.ops / "alice.crt"))
    for what, (who, *args) in changes.items():
        r = _cli(ca, who, *args)
        _refused_cleanly(r, "ca.db is behind its audit log", "audit.head says", "restore ca.db and audit.head together")
        assert _log(ca) == log, what  # not even the refusal: the log would go on from a state it never was in
        assert (ca.dir / "crl" / "issuing.crl").read_bytes() == crl, what
        assert not list(tmp_path.glob("o?.*")), what
    assert _cli(ca, "alice", "list").returncode == 0  # reading still works
    r = run_cli("pki", "ocsp", "serve", "--ca-dir", str(ca.dir), "--port", "0", timeout=60)
    _refused_cleanly(r, "ca.db is behind its audit log")  # it would answer 'good' for the stolen key
    r = _cli(ca, "bob", "audit", "verify")
    assert r.returncode == 1 and "ca.db is behind its audit log" in " ".join(r.stdout.split()), r.stdout
    # the fix: the newest ca.db back, and the CA works again, the revocation intact
    _put_back(newest, ca.dir / "ca.db")
    again = Authority(ca.dir)
    with pytest.raises(NotAllowed, match="revoked for key_compromise"):
        again.issue(ca.officer, "server_tls", device="prov-db1", csr_pem=_csr_of(tmp_path, stolen))
    r = _cli(ca, "alice", *changes["issue"][1:])
    assert r.returncode == 0, r.stderr
    assert again.verify_audit(ca.auditor)[1] == []


def _csr_of(tmp_path, issued):
    """A request made with the key of an issued certificate."""
    key = tmp_path / "stolen.key"
    key.write_bytes(issued.key_pem)
    return _csr(key, tmp_path / "stolen.csr", "prov-db1").read_bytes()


def test_an_audit_head_put_back_behind_ca_db_changes_nothing(ca, tmp_path):
    """The other way round: audit.head restored from an earlier copy names an entry older than ca.db's newest."""
    old_head = (ca.dir / "audit.head").read_bytes()
    ca.ca.issue(ca.officer, "server_tls", device="prov-db1")
    ca.ca.issue(ca.officer, "server_tls", device="prov-app1")
    (ca.dir / "audit.head").write_bytes(old_head)
    log = _log(ca)
    r = _cli(ca, "alice", "issue", "--profile", "server_tls", "--device", "prov-db1", "--out", str(tmp_path / "x"))
    _refused_cleanly(r, "the audit log's head is behind ca.db", "restore ca.db and audit.head together")
    assert _log(ca) == log and not list(tmp_path.glob("x.*"))
    r = _cli(ca, "bob", "audit", "verify")
    assert r.returncode == 1 and "behind ca.db" in " ".join(r.stdout.split()), r.stdout


@pytest.mark.parametrize("fault", ["before_commit", "after_commit"])
def test_a_ca_killed_mid_issue_is_not_taken_for_a_rollback(ca, tmp_path, fault):
    """audit.head is written before the commit and finished after it: a kill -9 on either side leaves the two in a
    state the CA recognises as its own, and the next command carries on, with nothing for the auditor to find."""
    r = _cli(
        ca,
        "alice",
        "issue",
        "--profile",
        "server_tls",
        "--device",
        "prov-db1",
        "--out",
        str(tmp_path / "x"),
        env={"JINBAO_PKI_FAULT": fault},
    )
    assert r.returncode == -9, (r.returncode, r.stderr)
    r = _cli(ca, "alice", "issue", "--profile", "server_tls", "--device", "prov-app1", "--out", str(tmp_path / "y"))
    assert r.returncode == 0, r.stderr
    assert ca.ca.verify_audit(ca.auditor)[1] == []
    seqs = [s for s, _ in _log(ca)]
    assert seqs == list(range(1, len(seqs) + 1))  # no number skipped, none reused


# -- ca.yml, sealed ---------------------------------------------------------------------------------------------


def _edit_yml(ca, old: str, new: str) -> None:
    p = ca.dir / "ca.yml"
    text = p.read_text()
    assert old in text, text
    p.write_text(text.replace(old, new))


def test_an_edited_ca_yml_stops_the_ca_until_an_administrator_adopts_it(ca, tmp_path):
    """The review's gap: anyone who could write ca.yml changed what the CA signs (a CRL good for a year, answers
    good for a week, another OCSP URL) unnoticed. Now every change is refused (exit 2, the refusal logged under the
    operator's name), 'ocsp serve' does not start and 'audit verify' names the setting, until ca.yml is put back or
    a CA administrator adopts it (logged, sealed, replayed)."""
    _edit_yml(ca, "crl_validity_hours: 24", "crl_validity_hours: 8760")
    certs = _counts(ca)[0]
    for who, *args in (
        ("alice", "issue", "--profile", "server_tls", "--device", "prov-db1", "--out", str(tmp_path / "x")),
        ("alice", "crl"),
        ("admin", "ocsp", "renew-signer"),
    ):
        r = _cli(ca, who, *args)
        _refused_cleanly(r, "crl_validity_hours: ca.yml says 8760, the CA recorded 24", "jinbao pki config adopt")
        assert _last_audit(ca)[:2] == (who, "denied")
    assert _counts(ca)[0] == certs and not list(tmp_path.glob("x.*"))
    r = run_cli("pki", "ocsp", "serve", "--ca-dir", str(ca.dir), "--port", "0", timeout=60)
    _refused_cleanly(r, "crl_validity_hours")
    r = _cli(ca, "bob", "audit", "verify")
    assert r.returncode == 1 and "crl_validity_hours" in r.stdout, r.stdout
    # only a CA administrator adopts it
    r = _cli(ca, "alice", "config", "adopt")
    _refused_cleanly(r, "may not config")
    r = _cli(ca, "admin", "config", "adopt")
    assert r.returncode == 0 and "crl_validity_hours" in r.stdout, r.stdout + r.stderr
    actor, action, detail = _last_audit(ca)
    assert (actor, action) == ("admin", "config") and "8760" in detail
    assert _cli(ca, "alice", "crl").returncode == 0
    crl = x509.load_der_x509_crl((ca.dir / "crl" / "issuing.crl").read_bytes())
    assert crl.next_update_utc - crl.last_update_utc == timedelta(hours=8760, minutes=5)
    assert Authority(ca.dir).verify_audit(ca.auditor)[1] == []  # the log replays to the recorded settings
    # settings that describe the hierarchy as init made it are never adopted
    _edit_yml(ca, "estate: lab", "estate: province")
    r = _cli(ca, "admin", "config", "adopt")
    _refused_cleanly(r, "estate", "jinbao pki init")
    _edit_yml(ca, "estate: province", "estate: lab")
    # a reordered or re-indented file with the same values is the same configuration
    p = ca.dir / "ca.yml"
    p.write_text("\n".join(reversed(p.read_text().splitlines())) + "\n")
    assert _cli(ca, "alice", "crl").returncode == 0


def test_a_ca_made_before_settings_were_sealed_records_them_once(tmp_path, monkeypatch):
    """Migration: a CA whose ca.db has no record of its settings records ca.yml's at its first change (logged as
    'config' by init), unless ca.yml contradicts what its init entry logged; reading changes nothing."""
    from pki.store import settings
    from pki.store.transactions import Transactions as T

    monkeypatch.setattr(settings, "record", lambda db, cfg: None)
    monkeypatch.setattr(T, "_settings", lambda self, migrate_schema: None)
    old = new_ca(tmp_path / "pki")
    monkeypatch.undo()
    assert "config" not in dict(sqlite3.connect(old.dir / "ca.db").execute("SELECT key, value FROM meta"))
    _edit_yml(old, "ca_key_type: ecdsa-p384", "ca_key_type: rsa-4096")
    r = _cli(old, "alice", "crl")
    _refused_cleanly(r, "not the configuration this CA was created with", "ca_key_type")
    _edit_yml(old, "ca_key_type: rsa-4096", "ca_key_type: ecdsa-p384")
    log = _log(old)
    assert _cli(old, "alice", "list").returncode == 0 and _log(old) == log
    _edit_yml(old, "ocsp_validity_minutes: 60", "ocsp_validity_minutes: 30")
    assert _cli(old, "alice", "crl").returncode == 0
    rows = sqlite3.connect(old.dir / "ca.db").execute("SELECT actor, action, detail FROM audit").fetchall()
    assert [(a, b) for a, b, _ in rows if b == "config"] == [("init", "config")]
    _edit_yml(old, "ocsp_validity_minutes: 30", "ocsp_validity_minutes: 600")
    _refused_cleanly(_cli(old, "alice", "crl"), "ocsp_validity_minutes: ca.yml says 600, the CA recorded 30")
    _edit_yml(old, "ocsp_validity_minutes: 600", "ocsp_validity_minutes: 30")
    assert Authority(old.dir).verify_audit(old.auditor)[1] == []


# -- the clock and the operator's key file -----------------------------------------------------------------------


def test_a_clock_set_back_signs_nothing(ca, tmp_path, monkeypatch):
    """A clock set back before the CA's newest entry would date certificates, CRLs and revocations before what the
    CA already did (a certificate that looks older than the revocation of its key): nothing is signed until the
    clock is right again. A few minutes of skew pass."""
    from pki import clock

    real = clock.timestamp
    monkeypatch.setattr(clock, "timestamp", lambda: real() + 60 * 86400)  # the CA ran 60 days ahead...
    ca.ca.issue(ca.officer, "server_tls", device="prov-db1")
    monkeypatch.setattr(clock, "timestamp", real)  # ...and the clock was put back
    before = _counts(ca)
    for act in (
        lambda: ca.ca.issue(ca.officer, "server_tls", device="prov-app1"),
        lambda: ca.ca.write_crl("alice"),
        lambda: ca.ca.add_operator(ca.admin, "eve", "officer", tmp_path / "eve"),
    ):
        with pytest.raises(PkiError, match="the clock was set back"):
            act()
        assert _counts(ca) == before and not list(tmp_path.glob("eve.*"))
    monkeypatch.setattr(clock, "timestamp", lambda: real() + 60 * 86400 - 120)
    ca.ca.issue(ca.officer, "server_tls", device="prov-app1")


def test_an_operator_key_others_can_read_proves_nothing(ca, tmp_path):
    """ssh refuses a private key others may read; so does the CA for an operator's: whoever read it can act as the
    operator. Refused (exit 2) and logged as an unauthenticated attempt, with the chmod to run."""
    key = ca.ops / "alice.key"
    key.chmod(0o644)
    before = _counts(ca)
    r = _cli(ca, "alice", "issue", "--profile", "server_tls", "--device", "prov-db1", "--out", str(tmp_path / "x"))
    _refused_cleanly(r, "readable or writable by others (mode 0644)", f"chmod 600 {key}")
    assert _counts(ca) == (before[0], before[1] + 1) and not list(tmp_path.glob("x.*"))
    actor, action, detail = _last_audit(ca)
    assert (actor, action) == ("unknown", "denied") and "claimed_serial" in detail
    key.chmod(0o600)
    r = _cli(ca, "alice", "issue", "--profile", "server_tls", "--device", "prov-db1", "--out", str(tmp_path / "x"))
    assert r.returncode == 0, r.stderr


FOLDER_MOVES = {
    "the folder 0777": (lambda ca, t: ca.dir.chmod(0o777), "is writable by anyone (mode 0777)", "chmod o-w"),
    "ca.db 0666": (lambda ca, t: (ca.dir / "ca.db").chmod(0o666), "ca.db is writable by anyone", "chmod o-w"),
    "ca.yml linked out": (lambda ca, t: _link_out(ca.dir / "ca.yml", t), "ca.yml is a symlink", "Replace the link"),
    "issuing.key linked out": (
        lambda ca, t: _link_out(ca.dir / "issuing" / "issuing.key", t),
        "issuing.key is a symlink",
        "Replace the link",
    ),
    "audit.head owned by another account": (
        lambda ca, t: os.chown(ca.dir / "audit.head", 4242, 4242),
        "audit.head is owned by uid 4242",
        "chown",
    ),
}


def _link_out(path, tmp_path):
    moved = tmp_path / path.name
    shutil.move(path, moved)
    path.symlink_to(moved)


@pytest.mark.parametrize("how", sorted(FOLDER_MOVES))
def test_a_ca_folder_others_can_change_is_not_acted_on(ca, tmp_path, how):
    """A careless chmod, a file moved out and linked back, a file handed to another account: whoever else can
    write there can swap ca.db, delete audit.head or rewrite ca.yml. As ssh's StrictModes, the CA does nothing
    (exit 2, naming the path and the command that closes it) and 'audit verify' names it, until it is closed."""
    if how.endswith("another account") and os.geteuid() != 0:
        pytest.skip("only root hands a file to another account")
    move, says, fix = FOLDER_MOVES[how]
    move(ca, tmp_path)
    before = _counts(ca)
    r = _cli(ca, "alice", "issue", "--profile", "server_tls", "--device", "prov-db1", "--out", str(tmp_path / "x"))
    _refused_cleanly(r, "the CA folder can be changed by others", says, fix)
    assert _counts(ca) == before and not list(tmp_path.glob("x.*"))
    r = run_cli("pki", "ocsp", "serve", "--ca-dir", str(ca.dir), "--port", "0", timeout=60)
    _refused_cleanly(r, says)
    r = _cli(ca, "bob", "audit", "verify")
    assert r.returncode == 1 and says in " ".join(r.stdout.split()), r.stdout


def test_an_issuing_ca_the_root_did_not_sign_signs_nothing(ca, tmp_path):
    """An operator puts an issuing certificate and key of their own making (same name, self-signed by
    openssl) in place of the root's: the CA opens with neither issue nor revoke, says which file and
    what to put back, and writes nothing; once the root's pair is back, it works."""
    crt, key = ca.dir / "issuing" / "issuing.crt", ca.dir / "issuing" / "issuing.key"
    saved = {p: p.read_bytes() for p in (crt, key)}
    subject = x509.load_pem_x509_certificate(saved[crt]).subject.rfc4514_string()
    fake_key, fake_crt = tmp_path / "fake.key", tmp_path / "fake.crt"
    for cmd in (
        ["openssl", "ecparam", "-name", "secp384r1", "-genkey", "-noout", "-out", str(fake_key)],
        ["openssl", "req", "-x509", "-new", "-key", str(fake_key), "-subj", "/" + subject.replace(",", "/"),
         "-days", "30", "-out", str(fake_crt)],
    ):  # fmt: skip
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
    files.replace(crt, fake_crt.read_bytes())
    files.replace(key, fake_key.read_bytes())
    key.chmod(0o600)
    before = _counts(ca)
    r = _cli(ca, "alice", "issue", "--profile", "server_tls", "--device", "prov-db1", "--out", str(tmp_path / "x"))
    _refused_cleanly(r, f"{crt} was not signed by the root", "put back the issuing certificate and key")
    assert _counts(ca) == before and not list(tmp_path.glob("x.*"))
    for p, data in saved.items():
        files.replace(p, data)
    key.chmod(0o600)
    r = _cli(ca, "alice", "issue", "--profile", "server_tls", "--device", "prov-db1", "--out", str(tmp_path / "x"))
    assert r.returncode == 0, r.stderr
