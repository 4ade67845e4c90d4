"""The offline root revokes the issuing CA: only a CA administrator with the root passphrase, on the record; then
openssl (CRLs and OCSP) rejects every chain through it, and the CA certifies nothing more."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.pki.test_pki import ROOT_PASS, _ocsp, _openssl, new_ca
from tests.pki.test_pki_keys_and_crash import _verify
from tests.pki.test_pki_review import _cli, _counts, _last_audit, _refused_cleanly, _serial_of, _serve


@pytest.fixture
def ca(tmp_path):
    return new_ca(tmp_path / "pki")


def _root_crl_text(ca) -> str:
    r = _openssl("crl", "-inform", "DER", "-in", str(ca.dir / "crl" / "root.crl"), "-noout", "-text")
    assert r.returncode == 0, r.stderr
    pem = _openssl("crl", "-in", str(ca.dir / "crl" / "root.crl.pem"), "-noout", "-text")
    assert pem.stdout == r.stdout
    return r.stdout


def test_the_offline_root_revokes_the_issuing_ca(ca, tmp_path):
    ok_pass, bad_pass = tmp_path / "root.pass", tmp_path / "wrong.pass"
    ok_pass.write_bytes(ROOT_PASS)
    bad_pass.write_bytes(b"not the root passphrase at all")
    r = _cli(ca, "alice", "issue", "--profile", "server_tls", "--device", "prov-db1", "--out", str(tmp_path / "db1"))
    assert r.returncode == 0, r.stderr
    crt = tmp_path / "db1.crt"
    issuing = _serial_of(ca.dir / "issuing" / "issuing.crt")
    server = _serve(ca)
    url = f"http://127.0.0.1:{server.port}"
    try:
        r = _ocsp(ca, url, "-cert", str(crt))
        assert f"{crt}: good" in r.stdout, r.stdout + r.stderr
        assert _verify(ca, crt, tmp_path).returncode == 0
        root_crl = _root_crl_text(ca)
        assert "No Revoked Certificates" in root_crl

        # an officer may not, nor an administrator without the root's passphrase: refused, logged, nothing changed
        for who, pw, says in (
            ("alice", ok_pass, "may not revoke_issuing_ca"),
            ("admin", bad_pass, "wrong passphrase"),
        ):
            before = _counts(ca)
            r = _cli(ca, who, "revoke-issuing-ca", "--root-pass-file", str(pw))
            _refused_cleanly(r, says)
            assert _counts(ca) == (before[0], before[1] + 1)
            actor, action, detail = _last_audit(ca)
            assert (actor, action, json.loads(detail)["action"]) == (who, "denied", "revoke_issuing_ca")
            assert ROOT_PASS.decode() not in detail and "not the root passphrase" not in detail
            assert _root_crl_text(ca) == root_crl
        _refused_cleanly(
            _cli(ca, "admin", "revoke-issuing-ca", "--reason", "certificate_hold", "--root-pass-file", str(ok_pass)),
            "not a reason to revoke a CA",
        )

        r = _cli(ca, "admin", "revoke-issuing-ca", "--root-pass-file", str(ok_pass))
        assert r.returncode == 0, r.stderr
        assert f"issuing CA {issuing} revoked (ca_compromise)" in r.stdout
        assert ROOT_PASS.decode() not in r.stdout + r.stderr

        # the root's CRL lists it, and openssl rejects the chain through it, by CRL and by OCSP
        root_crl = _root_crl_text(ca)
        assert f"Serial Number: {issuing.upper()}" in root_crl.replace("Serial Number: 0", "Serial Number: ")
        assert "CA Compromise" in root_crl
        v = _verify(ca, crt, tmp_path)
        assert v.returncode != 0 and "certificate revoked" in v.stdout + v.stderr, v.stdout + v.stderr
        assert "error 23 at 1 depth" in v.stdout + v.stderr  # the issuing CA (depth 1) is revoked, not the leaf
        r = _ocsp(ca, url, "-cert", str(crt))
        assert f"{crt}: revoked" in r.stdout and "Reason: cACompromise" in r.stdout, r.stdout + r.stderr
        r = _ocsp(ca, url, "-serial", "0x1f2e3d4c5b6a")  # one the stolen key could have signed: no record of it
        assert "0x1f2e3d4c5b6a: revoked" in r.stdout, r.stdout + r.stderr
    finally:
        server.proc.kill()
        server.proc.wait()

    # the CA certifies nothing more, whoever asks; each refusal logged; nothing issued
    for n, (who, args) in enumerate(
        (
            ("alice", ("issue", "--profile", "server_tls", "--device", "prov-db1")),
            ("alice", ("renew", _serial_of(crt))),
            ("admin", ("operator", "add", "carol", "--role", "officer")),
        )
    ):
        before = _counts(ca)
        r = _cli(ca, who, *args, "--out", str(tmp_path / f"x{n}"))
        _refused_cleanly(r, f"the issuing CA {issuing} was revoked by the offline root")
        assert _counts(ca) == (before[0], before[1] + 1) and _last_audit(ca)[:2] == (who, "denied"), args
        assert not list(tmp_path.glob(f"x{n}.*"))
    _refused_cleanly(_cli(ca, "admin", "ocsp", "renew-signer"), "revoked by the offline root")
    _refused_cleanly(
        _cli(ca, "admin", "revoke-issuing-ca", "--root-pass-file", str(ok_pass)), f"{issuing} is already revoked"
    )
    # withdrawing trust goes on: a revocation, a fresh CRL, a re-signed root CRL that still lists the CA
    assert _cli(ca, "alice", "revoke", _serial_of(crt), "--reason", "ca_compromise").returncode == 0
    assert _cli(ca, "admin", "crl", "--root", "--root-pass-file", str(ok_pass)).returncode == 0
    assert "CA Compromise" in _root_crl_text(ca)

    db = sqlite3.connect(ca.dir / "ca.db")
    entry = db.execute("SELECT actor, detail FROM audit WHERE action = 'revoke_issuing_ca'").fetchall()
    db.close()
    assert len(entry) == 1 and entry[0][0] == "admin" and json.loads(entry[0][1])["serial"] == issuing
    r = _cli(ca, "bob", "audit", "verify")
    assert r.returncode == 0, r.stdout + r.stderr


def test_an_erased_revocation_of_the_issuing_ca_is_not_believed(ca, tmp_path):
    """The root's revocation is sealed with the CA's counters: deleting it from ca.db to issue again stops the CA,
    and an auditor sees it against the log."""
    (tmp_path / "root.pass").write_bytes(ROOT_PASS)
    assert _cli(ca, "admin", "revoke-issuing-ca", "--root-pass-file", str(tmp_path / "root.pass")).returncode == 0
    db = sqlite3.connect(ca.dir / "ca.db")
    db.execute("DELETE FROM meta WHERE key = 'issuing_revoked'")
    db.commit()
    db.close()
    r = _cli(ca, "alice", "issue", "--profile", "server_tls", "--device", "prov-db1", "--out", str(tmp_path / "x"))
    _refused_cleanly(r, "not what the CA sealed")
    assert not list(tmp_path.glob("x.*"))
    r = _cli(ca, "bob", "audit", "verify")
    assert r.returncode == 1 and "issuing_revoked: ca.db says None" in r.stdout, r.stdout + r.stderr
