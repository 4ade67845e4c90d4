"""The CA against hostile operators: one test per class of defect from the security review.

Each test plays the attacker (an officer reaching for the CA's own certificates, two revocations
racing, a planted symlink, a deleted audit tail, a malformed OCSP request) and checks the CA
refuses cleanly: exit 2, no traceback, nothing recorded but the refusal itself.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import socket
import sqlite3
import subprocess
import time
from datetime import UTC
from pathlib import Path
from types import SimpleNamespace

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID

from pki.authority import Authority
from pki.authz import Credential
from pki.der import content, elements, tlv
from pki.errors import NotAllowed, PkiError
from tests.pki.test_pki import ROOT_PASS, _free_port, _openssl, new_ca
from tests.support import JINBAO, REPO, run_cli

DOCS = REPO / "docs" / "security-officer.md"


def _serial_of(crt: Path) -> str:
    return format(x509.load_pem_x509_certificate(crt.read_bytes()).serial_number, "x")


def _keypair(prefix: Path, cn: str) -> None:
    """PREFIX.key (0600) and PREFIX.csr, made the way an operator makes their own."""
    key = ec.generate_private_key(ec.SECP256R1())
    prefix.with_name(prefix.name + ".key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    prefix.with_name(prefix.name + ".key").chmod(0o600)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .sign(key, hashes.SHA256())
    )
    prefix.with_name(prefix.name + ".csr").write_bytes(csr.public_bytes(serialization.Encoding.PEM))


@pytest.fixture
def ca(tmp_path):
    return new_ca(tmp_path / "pki")


def _cli(ca, who, *args, env=None):
    return run_cli("pki", *args, "--ca-dir", str(ca.dir), "--as", str(ca.ops / who), env=env)


def _counts(ca):
    db = sqlite3.connect(ca.dir / "ca.db")
    try:
        return (
            db.execute("SELECT COUNT(*) FROM certs").fetchone()[0],
            db.execute("SELECT COUNT(*) FROM audit").fetchone()[0],
        )
    finally:
        db.close()


def _last_audit(ca):
    db = sqlite3.connect(ca.dir / "ca.db")
    try:
        return db.execute("SELECT actor, action, detail FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    finally:
        db.close()


def _refused_cleanly(r, *says):
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr, r.stderr
    for s in says:
        assert s in r.stderr, r.stderr


# -- renewal goes through the issuing policy -----------------------------------------------------


def test_an_officer_cannot_renew_or_issue_the_cas_own_certificates(ca, tmp_path):
    signer = _serial_of(ca.dir / "ocsp" / "ocsp.crt")
    admin, auditor = _serial_of(ca.ops / "admin.crt"), _serial_of(ca.ops / "bob.crt")
    for serial, says in ((signer, "alice (officer) may not"), (admin, "only admin renews it"), (auditor, "only bob")):
        certs, entries = _counts(ca)
        r = _cli(ca, "alice", "renew", serial, "--out", str(tmp_path / "stolen"))
        _refused_cleanly(r, says)
        assert not list(tmp_path.glob("stolen*"))
        assert _counts(ca) == (certs, entries + 1)  # only the refusal is recorded
        assert _last_audit(ca)[:2] == ("alice", "denied")
    for profile in ("ocsp_signer", "operator"):
        with pytest.raises(NotAllowed, match="may not"):
            ca.ca.issue(ca.officer, profile)
        with pytest.raises(NotAllowed, match="kept for the CA itself"):  # the admin has its own commands for them
            ca.ca.issue(ca.admin, profile)
        assert _last_audit(ca)[:2] == ("admin", "denied")
    # the CA administrator renews them: the OCSP signer in place, its key never handed out
    renewed = ca.ca.renew(ca.admin, signer)
    assert renewed.key_pem is None and _serial_of(ca.dir / "ocsp" / "ocsp.crt") == renewed.serial
    # an operator's credential is renewed by no one but its holder, not even from the holder's own request
    _keypair(tmp_path / "bob2", "bob")
    before = _counts(ca)
    r = _cli(ca, "admin", "renew", auditor, "--csr", str(tmp_path / "bob2.csr"), "--out", str(tmp_path / "bob2"))
    _refused_cleanly(r, "only bob renews it", "operator revoke bob", "operator add NEW-NAME --role auditor")
    assert _counts(ca) == (before[0], before[1] + 1) and not (tmp_path / "bob2.crt").exists()
    # bob renews his own from his own request (step-ca's rekey)
    r = _cli(ca, "bob", "renew", auditor, "--csr", str(tmp_path / "bob2.csr"), "--out", str(tmp_path / "bob2"))
    assert r.returncode == 0, r.stderr
    assert ca.ca.verify_audit(Credential.from_prefix(tmp_path / "bob2"))[1] == []
    with pytest.raises(NotAllowed):
        ca.ca.verify_audit(ca.auditor)
    # and an operator renews their own: the new key is theirs, 0600
    r = run_cli(
        "pki",
        "renew",
        _serial_of(tmp_path / "bob2.crt"),
        "--out",
        str(tmp_path / "bob3"),
        "--ca-dir",
        str(ca.dir),
        "--as",
        str(tmp_path / "bob2"),
    )
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "bob3.key").stat().st_mode & 0o777 == 0o600
    assert ca.ca.verify_audit(Credential.from_prefix(tmp_path / "bob3"))[1] == []


def test_renewing_a_revoked_or_expired_certificate_is_refused(ca, monkeypatch):
    issued = ca.ca.issue(ca.officer, "server_tls", device="prov-db1")
    ca.ca.revoke(ca.officer, issued.serial, "key_compromise")
    certs, _ = _counts(ca)
    with pytest.raises(NotAllowed, match="revoked"):
        ca.ca.renew(ca.officer, issued.serial)
    assert _last_audit(ca)[:2] == ("alice", "denied")  # asking to renew a revoked certificate is on the record
    short = ca.ca.issue(ca.officer, "server_tls", device="prov-db1", days=1)
    from datetime import timedelta

    from pki import clock

    real_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: real_now() + timedelta(days=2))
    with pytest.raises(NotAllowed, match="expired"):
        ca.ca.renew(ca.officer, short.serial)
    assert _counts(ca)[0] == certs + 1


# -- operator credentials: separation of duties and recovery -------------------------------------


def test_an_officer_cannot_revoke_operator_credentials_and_the_last_admin_stays(ca, tmp_path):
    admin, auditor = _serial_of(ca.ops / "admin.crt"), _serial_of(ca.ops / "bob.crt")
    signer = _serial_of(ca.dir / "ocsp" / "ocsp.crt")
    for serial in (admin, auditor, signer, _serial_of(ca.ops / "alice.crt")):
        r = _cli(ca, "alice", "revoke", serial, "--reason", "key_compromise")
        _refused_cleanly(r, "alice (officer) may not")
        assert ca.ca.show(ca.auditor, serial)["revoked_at"] is None
    assert ca.ca.verify_audit(ca.auditor)[1] == []  # the auditor still works
    # the administrator may revoke an auditor, never the last administrator
    ca.ca.revoke(ca.admin, auditor, "affiliation_changed")
    r = _cli(ca, "admin", "revoke", admin, "--reason", "superseded")
    _refused_cleanly(r, "last active ca_admin")
    assert ca.ca.show(ca.officer, admin)["revoked_at"] is None
    assert _last_audit(ca)[:2] == ("admin", "denied")


def _revoke_at_the_barrier(ca_dir, prefix, serial, barrier, results):
    ca = Authority(ca_dir)
    cred = Credential.from_prefix(prefix)
    barrier.wait()
    try:
        ca.revoke(cred, serial, "superseded")
        results.put(("ok", prefix))
    except PkiError as e:
        results.put(("refused", str(e)))


def test_two_admins_revoking_each_other_at_once_leave_one(ca, tmp_path):
    ca.ca.add_operator(ca.admin, "dave", "ca_admin", ca.ops / "dave")
    mp = multiprocessing.get_context("spawn")
    barrier, results = mp.Barrier(2), mp.Queue()
    procs = [
        mp.Process(
            target=_revoke_at_the_barrier,
            args=(str(ca.dir), str(ca.ops / a), _serial_of(ca.ops / f"{b}.crt"), barrier, results),
        )
        for a, b in (("admin", "dave"), ("dave", "admin"))
    ]
    for p in procs:
        p.start()
    outcomes = sorted(results.get(timeout=60)[0] for _ in procs)
    for p in procs:
        p.join()
    assert outcomes == ["ok", "refused"]
    active = [r for r in ca.ca.list(ca.auditor, profile="operator", status="valid") if "OU=ca_admin" in r["subject"]]
    assert len(active) == 1


def test_an_officer_deploys_only_valid_device_certificates(ca, tmp_path):
    """deploy pushes files the officer holds; it must not become a way to ship the CA's own credentials."""
    issued = ca.ca.issue(ca.officer, "server_tls", device="prov-db1")
    (tmp_path / "db1.crt").write_bytes(issued.cert_pem)
    (tmp_path / "db1.key").write_bytes(issued.key_pem)
    ca.ca.revoke(ca.officer, issued.serial, "superseded")
    for crt, key, says in (
        (ca.dir / "ocsp" / "ocsp.crt", ca.dir / "ocsp" / "ocsp.key", "not a device certificate"),
        (ca.ops / "admin.crt", ca.ops / "admin.key", "not a device certificate"),
        (tmp_path / "db1.crt", tmp_path / "db1.key", "revoked"),
    ):
        r = _cli(ca, "alice", "deploy", "--cert", str(crt), "--key", str(key), "--lab", "jbnolab", "--node", "x")
        _refused_cleanly(r, says)
        assert _last_audit(ca)[:2] == ("alice", "denied")


def test_a_lost_admin_is_recovered_with_the_root_passphrase(ca, tmp_path):
    (tmp_path / "wrong").write_text("not the root passphrase")
    (tmp_path / "right").write_bytes(ROOT_PASS)
    before = _counts(ca)
    args = ["pki", "operator", "recover-admin", "zhao", "--ca-dir", str(ca.dir), "--out", str(tmp_path / "zhao")]
    r = run_cli(*args, "--root-pass-file", str(tmp_path / "wrong"))
    _refused_cleanly(r, "wrong passphrase")
    assert _counts(ca) == before and not list(tmp_path.glob("zhao*"))
    r = run_cli(*args, "--root-pass-file", str(tmp_path / "right"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "zhao.key").stat().st_mode & 0o777 == 0o600
    zhao = Credential.from_prefix(tmp_path / "zhao")
    ca.ca.add_operator(zhao, "erin", "officer", tmp_path / "erin")
    log = ca.ca.audit_log(ca.auditor)
    assert any(e["action"] == "recover_admin" and e["actor"] == "root" and "zhao" in e["detail"] for e in log)
    assert ca.ca.verify_audit(ca.auditor)[1] == []
    assert "recover-admin" in DOCS.read_text()


def test_a_refused_action_by_a_revoked_operator_is_logged(ca, tmp_path):
    ca.ca.add_operator(ca.admin, "carol", "officer", tmp_path / "carol")
    ca.ca.revoke(ca.admin, _serial_of(tmp_path / "carol.crt"), "affiliation_changed")
    with pytest.raises(NotAllowed, match="revoked"):
        ca.ca.issue(Credential.from_prefix(tmp_path / "carol"), "server_tls", device="prov-db1")
    actor, action, detail = _last_audit(ca)
    assert (actor, action) == ("carol", "denied") and "issue" in detail and "revoked" in detail


# -- revocation and the CRL under concurrency ----------------------------------------------------


def _race(ca_dir, prefix, serials, reason, barrier, results):
    ca = Authority(ca_dir)
    cred = Credential.from_prefix(prefix)
    for serial in serials:
        barrier.wait()
        try:
            ca.revoke(cred, serial, reason)
        except PkiError:
            continue
        crl = x509.load_der_x509_crl((Path(ca_dir) / "crl" / "issuing.crl").read_bytes())
        results.put((serial, reason, crl.get_revoked_certificate_by_serial_number(int(serial, 16)) is not None))


def test_concurrent_revocations_of_one_serial_have_one_winner(ca):
    serials = [ca.ca.issue(ca.officer, "server_tls", device="prov-db1").serial for _ in range(15)]
    mp = multiprocessing.get_context("spawn")
    barrier, results = mp.Barrier(2), mp.Queue()
    procs = [
        mp.Process(target=_race, args=(str(ca.dir), str(ca.ops / "alice"), serials, reason, barrier, results))
        # two routine reasons: a second revocation is "already revoked" (only a compromise may raise one)
        for reason in ("cessation_of_operation", "superseded")
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    won = []
    while not results.empty():
        won.append(results.get())
    assert sorted(s for s, _, _ in won) == sorted(serials)  # exactly one winner per serial
    assert all(in_crl for _, _, in_crl in won)  # and its CRL, once it returned, lists the serial
    for serial, reason, _ in won:
        assert ca.ca.show(ca.officer, serial)["revoke_reason"] == reason
    log = [e for e in ca.ca.audit_log(ca.auditor) if e["action"] == "revoke"]
    assert sorted(s for s in serials for e in log if f'"{s}"' in e["detail"]) == sorted(serials)


def test_concurrent_revocations_from_threads_sharing_one_authority(ca):
    import threading

    serials = [ca.ca.issue(ca.officer, "server_tls", device="prov-db1").serial for _ in range(10)]
    outcomes = []

    def revoke(serial, reason, barrier):
        barrier.wait()
        try:
            ca.ca.revoke(ca.officer, serial, reason)
            outcomes.append((serial, reason))
        except Exception as e:
            outcomes.append((serial, f"{type(e).__name__}: {e}"))

    for serial in serials:
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=revoke, args=(serial, r, barrier)) for r in ("superseded", "key_compromise")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    # whichever came first, every certificate ends revoked for the compromise: key_compromise either
    # won or raised superseded's reason; superseded after key_compromise is "already revoked"
    done = [(s, r) for s, r in outcomes if r in ("superseded", "key_compromise")]
    assert sorted(s for s, r in done if r == "key_compromise") == sorted(serials), outcomes
    lost = [(s, r) for s, r in outcomes if (s, r) not in done]
    assert all(r.startswith("PkiError") and "already revoked (key_compromise)" in r for _, r in lost), lost
    assert len(done) + len(lost) == 2 * len(serials)
    for serial in serials:
        assert ca.ca.show(ca.officer, serial)["revoke_reason"] == "key_compromise"


def _revoke_many(ca_dir, prefix, serials, barrier, results):
    ca = Authority(ca_dir)
    cred = Credential.from_prefix(prefix)
    barrier.wait()
    for serial in serials:
        ca.revoke(cred, serial, "superseded")
        crl = x509.load_der_x509_crl((Path(ca_dir) / "crl" / "issuing.crl").read_bytes())
        results.put((serial, crl.get_revoked_certificate_by_serial_number(int(serial, 16)) is not None))


def test_the_published_crl_never_goes_backwards(ca):
    serials = [ca.ca.issue(ca.officer, "server_tls", device="prov-db1").serial for _ in range(12)]
    mp = multiprocessing.get_context("spawn")
    barrier, results = mp.Barrier(3), mp.Queue()
    procs = [
        mp.Process(target=_revoke_many, args=(str(ca.dir), str(ca.ops / "alice"), serials[i::3], barrier, results))
        for i in range(3)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    seen = [results.get(timeout=5) for _ in serials]
    assert all(listed for _, listed in seen), seen
    crl = x509.load_der_x509_crl((ca.dir / "crl" / "issuing.crl").read_bytes())
    number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    db_number = int(ca.ca.store.db.execute("SELECT value FROM meta WHERE key = 'crl_number'").fetchone()[0])
    assert number == db_number and all(crl.get_revoked_certificate_by_serial_number(int(s, 16)) for s in serials)
    # a database whose counter fell behind the published CRL never publishes a lower number (set back by the CA
    # itself: the same UPDATE from outside is an edit the CA refuses to build on, see test_edited_tables_…)
    with ca.ca.store.transaction() as db:
        db.execute("UPDATE meta SET value = '1' WHERE key = 'crl_number'")
    again = ca.ca.write_crl("test")
    assert again.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number > number


def test_crl_files_are_written_through_unique_temporary_files_and_backdated(ca, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("untouched")
    for name in ("issuing.crl.tmp", "issuing.crl.pem.tmp"):
        os.symlink(victim, ca.dir / "crl" / name)
    crl = ca.ca.write_crl("test")
    assert victim.read_text() == "untouched"
    assert not (ca.dir / "crl" / "issuing.crl").is_symlink()
    assert x509.load_der_x509_crl((ca.dir / "crl" / "issuing.crl").read_bytes()).fingerprint(
        hashes.SHA256()
    ) == crl.fingerprint(hashes.SHA256())
    # thisUpdate tolerates the relying party's clock skew, as notBefore does
    from datetime import datetime, timedelta

    assert crl.last_update_utc <= datetime.now(UTC) - timedelta(minutes=4)
    root_crl = x509.load_der_x509_crl((ca.dir / "crl" / "root.crl").read_bytes())
    assert root_crl.last_update_utc <= datetime.now(UTC) - timedelta(minutes=4)


# -- the audit log's head is anchored outside the database ---------------------------------------


def test_deleting_the_newest_audit_entries_is_detected(ca, tmp_path):
    issued = ca.ca.issue(ca.officer, "server_tls", device="prov-db1")
    copy = tmp_path / "copy"
    shutil.copytree(ca.dir, copy)
    db = sqlite3.connect(copy / "ca.db")
    db.execute("DROP TRIGGER audit_no_delete")
    db.execute("DELETE FROM audit WHERE seq = (SELECT MAX(seq) FROM audit)")
    db.execute("DELETE FROM certs WHERE serial = ?", (issued.serial,))
    db.commit()
    db.close()
    _n, problems = Authority(copy).verify_audit(ca.auditor)
    assert any("missing" in p for p in problems), problems
    assert any("audit_no_delete" in p for p in problems), problems
    r = run_cli("pki", "audit", "verify", "--ca-dir", str(copy), "--as", str(ca.ops / "bob"))
    assert r.returncode == 1 and "tampered" in r.stdout, r.stdout + r.stderr


def test_a_cut_tail_or_a_lost_head_stops_the_ca(ca, tmp_path):
    """A neutered trigger stops the CA (the log is no longer append-only); a cut tail with the trigger put back
    leaves ca.db behind audit.head, and a lost head leaves nothing to vouch that ca.db is the newest: either stops
    every change, with nothing appended, until the files are put back."""
    db = sqlite3.connect(ca.dir / "ca.db")
    original = db.execute("SELECT sql FROM sqlite_master WHERE name = 'audit_no_delete'").fetchone()[0]
    db.execute("DROP TRIGGER audit_no_delete")
    db.execute(
        "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit WHEN 0 BEGIN SELECT RAISE(ABORT, "
        "'the audit log is append-only'); END"
    )
    db.execute("DELETE FROM audit WHERE seq = (SELECT MAX(seq) FROM audit)")
    db.commit()
    assert any("audit_no_delete is missing or altered" in p for p in ca.ca.verify_audit(ca.auditor)[1])
    with pytest.raises(PkiError, match="trigger audit_no_delete is missing or altered"):
        ca.ca.issue(ca.officer, "server_tls", device="prov-db1")
    db.execute("DROP TRIGGER audit_no_delete")
    db.execute(original)
    db.commit()
    db.close()
    before = _counts(ca)
    with pytest.raises(PkiError, match="ca.db is behind its audit log"):
        ca.ca.issue(ca.officer, "server_tls", device="prov-db1")
    assert _counts(ca) == before  # not even the refusal
    problems = ca.ca.verify_audit(ca.auditor)[1]
    assert any("ca.db is behind its audit log" in p for p in problems), problems
    head = ca.dir / "audit.head"
    kept = head.read_bytes()
    head.unlink()
    r = _cli(ca, "alice", "issue", "--profile", "server_tls", "--device", "prov-db1", "--out", str(tmp_path / "x"))
    _refused_cleanly(r, "audit.head is missing", "restore ca.db and audit.head together")
    assert _counts(ca) == before and not list(tmp_path.glob("x.*"))
    head.write_bytes(kept)


def test_a_revocation_landing_during_a_renewal_wins(ca, monkeypatch):
    issued = ca.ca.issue(ca.officer, "server_tls", device="prov-db1")
    other = Authority(ca.dir)  # another officer's process
    from pki import issuance

    real_sign = issuance.sign

    def sign_while_revoked(opened, req):
        cert = real_sign(opened, req)
        if not other.store.cert(issued.serial)["revoked_at"]:
            other.revoke(ca.officer, issued.serial, "key_compromise")
        return cert

    monkeypatch.setattr(issuance, "sign", sign_while_revoked)
    certs, _ = _counts(ca)
    with pytest.raises(NotAllowed, match="revoked meanwhile"):
        ca.ca.renew(ca.officer, issued.serial)
    assert _counts(ca)[0] == certs


def test_the_auditors_checkpoint_catches_a_rolled_back_ca(ca, tmp_path):
    backup = tmp_path / "backup"
    shutil.copytree(ca.dir, backup)
    ca.ca.issue(ca.officer, "server_tls", device="prov-db1")
    checkpoint = tmp_path / "auditor.checkpoint"
    args = ["pki", "audit", "verify", "--as", str(ca.ops / "bob"), "--checkpoint", str(checkpoint)]
    r = run_cli(*args, "--ca-dir", str(ca.dir))
    assert r.returncode == 0 and checkpoint.exists(), r.stdout + r.stderr
    r = run_cli(*args, "--ca-dir", str(backup))  # the whole CA folder put back as it was before the issue
    assert r.returncode == 1 and "checkpoint" in r.stdout, r.stdout + r.stderr


# -- files: 0600 keys, no symlinks, nothing recorded that was not delivered ----------------------


def test_key_files_are_0600_whatever_was_planted_in_the_output_folder(ca, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("untouched")
    out = tmp_path / "out"
    out.mkdir()
    (out / "k.key.tmp").write_text("planted")
    os.chmod(out / "k.key.tmp", 0o666)
    os.symlink(victim, out / "k.crt.tmp")
    r = _cli(ca, "alice", "issue", "--profile", "server_tls", "--device", "prov-db1", "--out", str(out / "k"))
    assert r.returncode == 0, r.stderr
    assert (out / "k.key").stat().st_mode & 0o777 == 0o600 and victim.read_text() == "untouched"
    # a symlink where an output goes is refused, dangling or not, before anything is signed
    os.symlink(victim, out / "s.key")
    os.symlink(tmp_path / "nowhere", out / "d.crt")
    for prefix in ("s", "d"):
        before = _counts(ca)
        r = _cli(ca, "alice", "issue", "--profile", "server_tls", "--device", "prov-db1", "--out", str(out / prefix))
        _refused_cleanly(r, "symlink")
        assert _counts(ca) == before and victim.read_text() == "untouched" and not (tmp_path / "nowhere").exists()
    # the CA's own key files too
    os.symlink(victim, ca.dir / "ocsp" / "ocsp.key.tmp")
    ca.ca.renew_ocsp_signer(ca.admin)
    assert victim.read_text() == "untouched"
    assert (ca.dir / "ocsp" / "ocsp.key").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("where", ["long name", "read-only folder"])
def test_an_output_that_cannot_be_written_leaves_no_certificate(ca, tmp_path, where):
    if where == "long name":
        out = tmp_path / ("x" * 252)
    else:
        out = Path("/sys/jinbao-test-out") if os.geteuid() == 0 else tmp_path / "ro" / "x"
        if os.geteuid() != 0:
            out.parent.mkdir(mode=0o500)
    before = _counts(ca)
    r = _cli(ca, "alice", "issue", "--profile", "server_tls", "--device", "prov-db1", "--out", str(out))
    _refused_cleanly(r, "--out")
    assert _counts(ca) == before
    r = run_cli(
        "pki",
        "operator",
        "add",
        "erin",
        "--role",
        "officer",
        "--out",
        str(out),
        "--ca-dir",
        str(ca.dir),
        "--as",
        str(ca.ops / "admin"),
    )
    _refused_cleanly(r, "--out")
    assert _counts(ca) == before


def test_a_failed_delivery_rolls_the_certificate_back(ca, tmp_path, monkeypatch):
    from pki import files

    real = files.write_new

    def fail_on(suffix):
        def write(path, data, mode=0o644):
            if path.suffix == suffix:
                raise PkiError(f"{path}: disk full")
            return real(path, data, mode)

        return write

    # the key is delivered before the commit: if it cannot be, nothing is recorded and nothing stays
    monkeypatch.setattr(files, "write_new", fail_on(".key"))
    before = _counts(ca)
    with pytest.raises(PkiError, match="disk full"):
        ca.ca.issue(ca.officer, "server_tls", device="prov-db1", out=tmp_path / "x")
    assert _counts(ca) == before and list(tmp_path.glob("x.*")) == []
    # the certificate only after it (test_pki_hostile.py): recorded, so it can be revoked; the error says so
    monkeypatch.setattr(files, "write_new", fail_on(".crt"))
    with pytest.raises(PkiError, match="disk full.*jinbao pki show"):
        ca.ca.issue(ca.officer, "server_tls", device="prov-db1", out=tmp_path / "y")
    assert _counts(ca)[0] == before[0] + 1 and [p.name for p in tmp_path.glob("y.*")] == ["y.key"]


# -- the OCSP responder answers everything -------------------------------------------------------


def _serve(ca, *options):
    port = _free_port()
    proc = subprocess.Popen(
        [*JINBAO, "pki", "ocsp", "serve", "--ca-dir", str(ca.dir), "--port", str(port), *options],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert "OCSP responder" in proc.stdout.readline()
    return SimpleNamespace(port=port, proc=proc)


@pytest.fixture
def responder(ca):
    r = _serve(ca)
    yield r
    r.proc.kill()
    r.proc.wait()


def _http(port, raw: bytes, timeout=5) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(raw)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]) if head else 0, body


def _post(port, body: bytes, headers: bytes = b"") -> tuple[int, bytes]:
    return _http(
        port,
        b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n%s\r\n" % (len(body), headers)
        + body,
    )


def _ocsp_request(ca) -> bytes:
    issued = ca.ca.issue(ca.officer, "server_tls", device="prov-db1")
    issuer = x509.load_pem_x509_certificate((ca.dir / "issuing" / "issuing.crt").read_bytes())
    return (
        ocsp.OCSPRequestBuilder()
        .add_certificate(issued.cert, issuer, hashes.SHA1())
        .build()
        .public_bytes(serialization.Encoding.DER)
    )


def _twice(req: bytes) -> bytes:
    """The request's one CertID asked twice in one OCSPRequest (cryptography's builder makes only one)."""

    def inner(buf):
        s, e = content(buf)
        return [buf[a:b] for a, b in elements(buf, s, e)]

    (tbs,) = inner(req)
    (one,) = inner(inner(tbs)[0])
    return tlv(0x30, tlv(0x30, tlv(0x30, one + one)))


def _status(body: bytes) -> ocsp.OCSPResponseStatus:
    return ocsp.load_der_ocsp_response(body).response_status


def test_the_ocsp_responder_answers_every_request(ca, responder, tmp_path):
    good = _ocsp_request(ca)
    assert _status(_post(responder.port, good)[1]) == ocsp.OCSPResponseStatus.SUCCESSFUL
    # two certificates in one request: RFC 5019 allows one; answer malformedRequest, do not hang up
    two = _twice(good)
    code, body = _post(responder.port, two)
    assert code == 200 and _status(body) == ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    # a hash algorithm the responder does not know (sha1's OID turned into another)
    unknown = good.replace(bytes.fromhex("06052b0e03021a"), bytes.fromhex("06052b0e03021b"))
    code, body = _post(responder.port, unknown)
    assert code == 200 and _status(body) == ocsp.OCSPResponseStatus.UNAUTHORIZED
    # a nonce longer than RFC 8954's 32 octets is refused, not echoed into a signed response
    asked = ocsp.load_der_ocsp_request(good)
    long_nonce = (
        ocsp.OCSPRequestBuilder()
        .add_certificate_by_hash(asked.issuer_name_hash, asked.issuer_key_hash, asked.serial_number, hashes.SHA1())
        .add_extension(x509.OCSPNonce(b"n" * 100), critical=False)
        .build()
        .public_bytes(serialization.Encoding.DER)
    )
    code, body = _post(responder.port, long_nonce)
    assert code == 200 and _status(body) == ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    code, body = _post(responder.port, b"\x30\x03garbage")
    assert code == 200 and _status(body) == ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    code, body = _http(responder.port, b"GET /%%%not-base64 HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert code == 200 and _status(body) == ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    # HTTP-level nonsense gets an HTTP error
    bad_length = b"POST / HTTP/1.1\r\nConnection: close\r\nContent-Length: %s\r\n\r\n"
    assert _http(responder.port, bad_length % b"abc")[0] == 400
    assert _http(responder.port, bad_length % b"-5")[0] == 400
    assert _http(responder.port, bad_length % b"99999999999")[0] == 413
    chunked = b"POST / HTTP/1.1\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert _http(responder.port, chunked)[0] == 411
    assert _http(responder.port, b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n")[0] == 431
    assert _http(responder.port, b"NONSENSE\r\n\r\n")[0] in (400, 405)
    assert _http(responder.port, (bad_length % b"3").replace(b"\r\n\r\n", b"\r\nContent-Length: 5\r\n\r\n"))[0] == 400
    # through all of that the responder kept serving, and openssl agrees
    (tmp_path / "a.crt").write_bytes(ca.ca.issue(ca.officer, "server_tls", device="prov-db1").cert_pem)
    (tmp_path / "b.crt").write_bytes(ca.ca.issue(ca.officer, "server_tls", device="prov-app1").cert_pem)
    common = [
        "ocsp",
        "-issuer",
        str(ca.dir / "issuing" / "issuing.crt"),
        "-url",
        f"http://127.0.0.1:{responder.port}",
        "-CAfile",
        str(ca.dir / "root" / "root.crt"),
    ]
    r = _openssl(*common, "-cert", str(tmp_path / "a.crt"))
    assert f"{tmp_path / 'a.crt'}: good" in r.stdout, r.stdout + r.stderr
    r = _openssl(*common, "-cert", str(tmp_path / "a.crt"), "-cert", str(tmp_path / "b.crt"))
    assert "malformedrequest" in (r.stdout + r.stderr).lower(), r.stdout + r.stderr
    assert responder.proc.poll() is None


def test_the_ocsp_responder_drops_a_client_that_stalls(ca):
    responder = _serve(ca, "--timeout", "1")
    try:
        # idle, mid-header, and a POST whose body never arrives in full: each dropped after the timeout (1 s)
        for raw in (b"", b"POST / HTTP/1.1\r\nContent-Le", b"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc"):
            t = time.monotonic()
            code, _ = _http(responder.port, raw, timeout=10)
            assert time.monotonic() - t < 5 and code in (0, 408), raw
        assert _status(_post(responder.port, _ocsp_request(ca))[1]) == ocsp.OCSPResponseStatus.SUCCESSFUL
    finally:
        responder.proc.kill()
        responder.proc.wait()


# -- the second review: an operator who can write the CA folder ----------------------------------


def _sql(ca, *statements, args=()):
    """Edit ca.db behind the CA's back, as anyone with the file can (sqlite3 ca.db "update …")."""
    db = sqlite3.connect(ca.dir / "ca.db")
    try:
        for s in statements:
            db.execute(s, args)
        db.commit()
    finally:
        db.close()


def _audit_verify(ca, *args):
    return run_cli("pki", "audit", "verify", "--ca-dir", str(ca.dir), "--as", str(ca.ops / "bob"), *args)


def _ocsp_for(ca, port, cert: x509.Certificate) -> ocsp.OCSPResponse:
    issuer = x509.load_pem_x509_certificate((ca.dir / "issuing" / "issuing.crt").read_bytes())
    req = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1()).build()
    return ocsp.load_der_ocsp_response(_post(port, req.public_bytes(serialization.Encoding.DER))[1])


def test_an_edited_role_grants_nothing_and_audit_verify_names_it(ca, tmp_path):
    # alice (officer) and bob (auditor) both made administrators behind the CA's back
    _sql(ca, "UPDATE operators SET role = 'ca_admin' WHERE name IN ('alice', 'bob')")
    before = _counts(ca)
    r = _cli(ca, "alice", "operator", "add", "mallory", "--role", "ca_admin", "--out", str(tmp_path / "m"))
    _refused_cleanly(r, "not what the CA signed into it")
    assert not list(tmp_path.glob("m.*")) and _counts(ca)[0] == before[0]
    assert _last_audit(ca)[:2] == ("alice", "denied")
    r = _cli(ca, "bob", "operator", "add", "mallory", "--role", "ca_admin", "--out", str(tmp_path / "m"))
    _refused_cleanly(r, "not what the CA signed into it")
    r = _audit_verify(ca)  # the auditor still finds out, with the role signed into his certificate
    text = " ".join(r.stdout.split())
    assert r.returncode == 1, r.stdout + r.stderr
    assert "operator alice: ca.db says ca_admin" in text and "the log says officer" in text, text
    assert "operator bob: ca.db says ca_admin" in text and "the log says auditor" in text, text
    assert "operators in ca.db are not what the CA sealed" in text, text
    # nobody else acts on tables that are not what the CA sealed either, but the auditor may look
    r = _cli(ca, "admin", "operator", "add", "erin", "--role", "officer", "--out", str(tmp_path / "erin"))
    _refused_cleanly(r, "not what the CA sealed")
    # put back as the CA left it, the CA works again (the refusals logged meanwhile did not seal the edit)
    _sql(
        ca,
        "UPDATE operators SET role = 'officer' WHERE name = 'alice'",
        "UPDATE operators SET role = 'auditor' WHERE name = 'bob'",
    )
    ca.ca.add_operator(ca.admin, "erin", "officer", tmp_path / "erin")
    assert ca.ca.verify_audit(ca.auditor)[1] == []


def test_an_erased_revocation_is_not_believed(ca, tmp_path):
    ca.ca.add_operator(ca.admin, "carol", "officer", tmp_path / "carol")
    carol = _serial_of(tmp_path / "carol.crt")
    device = ca.ca.issue(ca.officer, "server_tls", device="prov-db1")
    sealed_before = ca.ca.store.db.execute("SELECT value FROM meta WHERE key = 'seal'").fetchone()
    ca.ca.revoke(ca.admin, carol, "affiliation_changed")
    ca.ca.revoke(ca.officer, device.serial, "key_compromise")
    crl_before = (ca.dir / "crl" / "issuing.crl").read_bytes()
    running = _serve(ca)
    try:
        assert _ocsp_for(ca, running.port, device.cert).certificate_status == ocsp.OCSPCertStatus.REVOKED
        _sql(
            ca,
            "UPDATE certs SET revoked_at = NULL, revoke_reason = NULL WHERE serial IN (?, ?)",
            args=(carol, device.serial),
        )
        # the revoked operator stays revoked
        r = run_cli(
            "pki",
            "issue",
            "--profile",
            "server_tls",
            "--device",
            "prov-db1",
            "--out",
            str(tmp_path / "x"),
            "--ca-dir",
            str(ca.dir),
            "--as",
            str(tmp_path / "carol"),
        )
        _refused_cleanly(r, "revocations in ca.db are not what the CA sealed")
        # the running responder does not call the certificate good; a new one does not start
        assert _ocsp_for(ca, running.port, device.cert).response_status == ocsp.OCSPResponseStatus.INTERNAL_ERROR
    finally:
        running.proc.kill()
        running.proc.wait()
    r = run_cli("pki", "ocsp", "serve", "--ca-dir", str(ca.dir), "--port", "0", timeout=30)
    _refused_cleanly(r, "not what the CA sealed")
    # no CRL is signed from the edited table
    _refused_cleanly(_cli(ca, "alice", "crl"), "not what the CA sealed")
    assert (ca.dir / "crl" / "issuing.crl").read_bytes() == crl_before
    r = _audit_verify(ca)
    text = " ".join(r.stdout.split())
    assert r.returncode == 1, r.stdout + r.stderr
    for serial in (carol, device.serial):
        assert f"certificate {serial} was revoked" in text and "ca.db says it is not" in text, text
    # the seal from before the revocations, copied back with the rows, names an older log entry than the newest
    _sql(ca, "UPDATE meta SET value = ? WHERE key = 'seal'", args=(sealed_before[0],))
    r = run_cli(
        "pki",
        "issue",
        "--profile",
        "server_tls",
        "--device",
        "prov-db1",
        "--out",
        str(tmp_path / "y"),
        "--ca-dir",
        str(ca.dir),
        "--as",
        str(tmp_path / "carol"),
    )
    _refused_cleanly(r, "put back from an earlier state")


def test_a_refused_revoke_publishes_nothing(ca, tmp_path):
    """The CRL (and the OCSP signer, and the root CRL) are written before the commit: a failed commit puts
    back what was there."""
    issued = ca.ca.issue(ca.officer, "server_tls", device="prov-db1")
    files = {p: p.read_bytes() for p in (ca.dir / "crl").iterdir()}
    files.update({p: p.read_bytes() for p in (ca.dir / "ocsp").iterdir()})
    # the head is read through a symlink, but the CA writes no file through one: every commit fails at its last step
    (tmp_path / "head").write_bytes((ca.dir / "audit.head").read_bytes())
    (ca.dir / "audit.head").unlink()
    (ca.dir / "audit.head").symlink_to(tmp_path / "head")
    (tmp_path / "root.pass").write_bytes(ROOT_PASS)
    for r in (
        _cli(ca, "alice", "revoke", issued.serial, "--reason", "key_compromise"),
        _cli(ca, "admin", "ocsp", "renew-signer"),
        _cli(ca, "admin", "crl", "--root", "--root-pass-file", str(tmp_path / "root.pass")),
        _cli(ca, "alice", "crl"),
    ):
        _refused_cleanly(r, "audit.head")
        assert {p: p.read_bytes() for p in files} == files
        assert sorted(files) == sorted([*(ca.dir / "crl").iterdir(), *(ca.dir / "ocsp").iterdir()])
    assert ca.ca.show(ca.officer, issued.serial)["revoked_at"] is None


def _planted_crl(number: int, years: int) -> bytes:
    from datetime import datetime, timedelta

    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    return (
        x509.CertificateRevocationListBuilder()
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "anyone")]))
        .last_update(now)
        .next_update(now + timedelta(days=365 * years))
        .add_extension(x509.CRLNumber(number), critical=False)
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.DER)
    )


def test_a_planted_crl_moves_neither_the_number_nor_the_schedule(ca):
    f = ca.dir / "crl" / "issuing.crl"
    f.write_bytes(_planted_crl(2**200, 10))
    r = _cli(ca, "alice", "crl", "--if-due", "6")
    _refused_cleanly(r, "issuing.crl", "not signed by this CA", "jinbao pki crl")
    r = _audit_verify(ca)
    assert r.returncode == 1 and "issuing.crl" in r.stdout, r.stdout + r.stderr
    r = _cli(ca, "alice", "crl")  # the next CRL replaces it, numbered from the CA's own counter
    assert r.returncode == 0, r.stderr
    published = x509.load_der_x509_crl(f.read_bytes())
    number = published.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    assert number < 100 and published.is_signature_valid(ca.ca.issuer.certificate.public_key())
    assert "not due" in _cli(ca, "alice", "crl", "--if-due", "6").stdout
    # an older CRL of the CA's own, put back, is not the one it published last: due, and replaced
    older = f.read_bytes()
    ca.ca.write_crl("test")
    f.write_bytes(older)
    r = _cli(ca, "alice", "crl", "--if-due", "1")
    assert r.returncode == 0 and "CRL regenerated" in r.stdout, r.stdout + r.stderr
    assert _audit_verify(ca).returncode == 0


def test_an_admin_cannot_take_over_an_operator(ca, tmp_path):
    ca.ca.add_operator(ca.admin, "carol", "officer", tmp_path / "carol")
    carol = _serial_of(tmp_path / "carol.crt")
    before = _counts(ca)
    r = _cli(ca, "admin", "renew", carol, "--out", str(tmp_path / "stolen"))
    _refused_cleanly(r, "only carol renews it", "operator revoke carol", "operator add NEW-NAME --role officer")
    assert not list(tmp_path.glob("stolen*")) and _counts(ca) == (before[0], before[1] + 1)
    assert _last_audit(ca)[:2] == ("admin", "denied")
    # not with carol's own request either: it would still be the administrator acting under carol's name
    _keypair(tmp_path / "carol2", "carol")
    r = _cli(ca, "admin", "renew", carol, "--csr", str(tmp_path / "carol2.csr"), "--out", str(tmp_path / "c2"))
    _refused_cleanly(r, "only carol renews it")
    assert not list(tmp_path.glob("c2*")) and _last_audit(ca)[:2] == ("admin", "denied")
    # revoked, carol's name is not given again: the log's 'carol' stays one holder
    assert _cli(ca, "admin", "operator", "revoke", "carol").returncode == 0
    r = _cli(ca, "admin", "operator", "add", "Carol", "--role", "officer", "--out", str(tmp_path / "carol3"))
    _refused_cleanly(r, "never given again")
    assert not list(tmp_path.glob("carol3*"))


def test_revoking_a_superseded_credential_says_the_operator_stays_and_operator_revoke_stops_them(ca, tmp_path):
    old = _serial_of(ca.ops / "alice.crt")
    r = _cli(ca, "alice", "renew", old, "--out", str(tmp_path / "alice2"))  # alice renews her own credential
    assert r.returncode == 0, r.stderr
    new = _serial_of(tmp_path / "alice2.crt")
    r = _cli(ca, "admin", "revoke", old, "--reason", "superseded")
    assert r.returncode == 0, r.stderr
    text = " ".join(r.stdout.split())
    assert f"operator alice remains active with credential {new}" in text and "operator revoke alice" in text, text
    ca.ca.issue(Credential.from_prefix(tmp_path / "alice2"), "server_tls", device="prov-db1")
    r = _cli(ca, "admin", "operator", "revoke", "alice", "--reason", "affiliation_changed")
    assert r.returncode == 0 and "operator alice can no longer act" in " ".join(r.stdout.split()), r.stdout + r.stderr
    assert ca.ca.show(ca.auditor, new)["revoke_reason"] == "affiliation_changed"
    with pytest.raises(NotAllowed, match="revoked"):
        ca.ca.issue(Credential.from_prefix(tmp_path / "alice2"), "server_tls", device="prov-db1")
    _refused_cleanly(_cli(ca, "admin", "operator", "revoke", "alice"), "already revoked")
    r = run_cli("pki", "operator", "revoke", "bob", "--ca-dir", str(ca.dir), "--as", str(tmp_path / "alice2"))
    _refused_cleanly(r, "revoked")
    assert "operator revoke" in DOCS.read_text()
    assert ca.ca.verify_audit(ca.auditor)[1] == []


def test_a_refusal_is_attributed_only_to_whoever_proved_their_key(ca, tmp_path):
    (tmp_path / "dave.crt").write_bytes((ca.ops / "alice.crt").read_bytes())  # alice's public certificate
    (tmp_path / "dave.key").write_bytes((ca.ops / "bob.key").read_bytes())  # with any key
    (tmp_path / "dave.key").chmod(0o600)
    r = run_cli(
        "pki",
        "issue",
        "--profile",
        "server_tls",
        "--device",
        "prov-db1",
        "--out",
        str(tmp_path / "x"),
        "--ca-dir",
        str(ca.dir),
        "--as",
        str(tmp_path / "dave"),
    )
    _refused_cleanly(r, "does not match")
    actor, action, detail = _last_audit(ca)
    assert (actor, action) == ("unknown", "denied"), (actor, detail)
    assert f'"claimed_serial": "{_serial_of(ca.ops / "alice.crt")}"' in detail, detail


def test_the_ocsp_signer_in_use_is_never_revoked_and_a_renewed_one_is_taken_up(ca, tmp_path):
    first = _serial_of(ca.dir / "ocsp" / "ocsp.crt")
    _refused_cleanly(
        _cli(ca, "admin", "revoke", first, "--reason", "key_compromise"), "OCSP signer in use", "renew-signer"
    )
    assert ca.ca.show(ca.auditor, first)["revoked_at"] is None
    old_files = {n: (ca.dir / "ocsp" / n).read_bytes() for n in ("ocsp.crt", "ocsp.key")}
    device = ca.ca.issue(ca.officer, "server_tls", device="prov-db1")
    running = _serve(ca)
    try:
        assert _ocsp_for(ca, running.port, device.cert).certificates[0].serial_number == int(first, 16)
        second = ca.ca.renew_ocsp_signer(ca.admin).serial
        ca.ca.revoke(ca.admin, first, "superseded")  # no longer in use: it may go
        answer = _ocsp_for(ca, running.port, device.cert)  # the running responder took up the new signer
        assert answer.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
        assert answer.certificates[0].serial_number == int(second, 16)
    finally:
        running.proc.kill()
        running.proc.wait()
    # a revoked signer left in ocsp/ signs nothing: the responder does not start with it
    for name, data in old_files.items():
        (ca.dir / "ocsp" / name).write_bytes(data)
    r = run_cli("pki", "ocsp", "serve", "--ca-dir", str(ca.dir), "--port", "0", timeout=30)
    _refused_cleanly(r, f"OCSP signer {first} is revoked")
    assert "ocsp serve" in DOCS.read_text() and "renew-signer" in DOCS.read_text()


def test_a_cut_log_with_its_old_head_put_back_still_shows_what_it_left_behind(ca, tmp_path):
    """Known limit: cut the log's tail and put back the audit.head of that moment, and the chain and head agree.
    But what those entries did stays in the tables: a certificate no remaining entry issued is named."""
    seq = ca.ca.store.db.execute("SELECT MAX(seq) FROM audit").fetchone()[0]
    old_head = (ca.dir / "audit.head").read_bytes()
    issued = ca.ca.issue(ca.officer, "server_tls", device="prov-db1")
    trigger = ca.ca.store.db.execute("SELECT sql FROM sqlite_master WHERE name = 'audit_no_delete'").fetchone()[0]
    _sql(ca, "DROP TRIGGER audit_no_delete", f"DELETE FROM audit WHERE seq > {seq}", trigger)
    (ca.dir / "audit.head").write_bytes(old_head)
    r = _audit_verify(ca)
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"certificate {issued.serial} (server_tls) is in ca.db but no log entry issued it" in " ".join(
        r.stdout.split()
    ), r.stdout
    assert "restored" in DOCS.read_text() and "checkpoint" in DOCS.read_text()


def test_crl_if_due_reads_a_crl_of_any_size(ca):
    """A CRL of 40,000 entries is over 1 MiB: --if-due must still read it, not call it too large."""
    import time as _time

    now = _time.time()
    with ca.ca.store.transaction() as db:  # revocations recorded by the CA itself, in bulk (as the benchmark does)
        db.executemany(
            "INSERT INTO certs (serial, profile, subject, not_before, not_after, fingerprint, pem, "
            "issued_by, revoked_at, revoke_reason) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    format(0x10_0000_0000 + i, "x"),
                    "server_tls",
                    "CN=x",
                    now,
                    now + 86400,
                    f"fp{i}",
                    "",
                    "t",
                    now,
                    "superseded",
                )
                for i in range(40_000)
            ],
        )
    ca.ca.write_crl("test")
    assert (ca.dir / "crl" / "issuing.crl").stat().st_size > 1 << 20
    r = _cli(ca, "alice", "crl", "--if-due", "1")
    assert r.returncode == 0 and "not due" in r.stdout, r.stdout + r.stderr


def test_an_edit_through_the_cas_own_connection_is_not_taken_for_its_own(ca, tmp_path):
    """The seal check is skipped while nobody else has written; a write on the CA's connection outside a
    transaction (no other writer to notice) must still count as an edit."""
    ca.ca.issue(ca.officer, "server_tls", device="prov-db1")  # the tables are as sealed, and known to be
    ca.ca.store.db.execute("UPDATE operators SET role = 'ca_admin' WHERE name = 'bob'")
    with pytest.raises(PkiError, match="not what the CA sealed"):
        ca.ca.write_crl("test")
