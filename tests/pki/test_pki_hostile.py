"""The CA against a hostile or careless operator: one key per operator, no renewal under someone else's
name, no certificate handed out that the CA has not recorded, one winner among concurrent renewals."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import subprocess
from datetime import timedelta

import pytest
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
