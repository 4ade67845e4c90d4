"""The CA, judged by independent tools: the openssl CLI and pkilint (RFC 5280)."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import NameOID

from pki.authority import Authority
from pki.authz import Credential
from pki.errors import NotAllowed, PkiError
from tests.support import JINBAO, REPO, run_cli

ROOT_PASS = b"jinbao-test root passphrase"
BIN = Path(sys.executable).parent
DOMAIN = "lab.hrss.ah.example"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def new_ca(d: Path) -> SimpleNamespace:
    """A CA in d/ca with its three operators' credentials in d/ops: admin, alice (officer), bob (auditor)."""
    ops = d / "ops"
    ops.mkdir(parents=True)
    authority = Authority.init(d / "ca", "lab", ROOT_PASS, admin_out=ops / "admin")
    admin = Credential.from_prefix(ops / "admin")
    authority.add_operator(admin, "alice", "officer", ops / "alice")
    authority.add_operator(admin, "bob", "auditor", ops / "bob")
    return SimpleNamespace(
        dir=d / "ca",
        ops=ops,
        ca=authority,
        admin=admin,
        officer=Credential.from_prefix(ops / "alice"),
        auditor=Credential.from_prefix(ops / "bob"),
    )


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return new_ca(tmp_path_factory.mktemp("pki"))


def _issue(ca, tmp_path, name, profile="server_tls", **kw):
    issued = ca.ca.issue(ca.officer, profile, **kw)
    crt, key = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    crt.write_bytes(issued.cert_pem)
    if issued.key_pem:
        key.write_bytes(issued.key_pem)
        key.chmod(0o600)
    return issued, crt, key


def _openssl(*args, input=None, timeout=30):
    return subprocess.run(["openssl", *args], capture_output=True, text=True, input=input, timeout=timeout)


def test_init_protects_keys_and_constrains_the_issuing_ca(ca):
    for key in ("root/root.key", "issuing/issuing.key", "ocsp/ocsp.key"):
        assert (ca.dir / key).stat().st_mode & 0o777 == 0o600, key
    assert (ca.ops / "admin.key").stat().st_mode & 0o777 == 0o600
    root_pem = (ca.dir / "root" / "root.key").read_bytes()
    assert b"ENCRYPTED" in root_pem
    with pytest.raises(TypeError):
        serialization.load_pem_private_key(root_pem, password=None)
    issuing = x509.load_pem_x509_certificate((ca.dir / "issuing" / "issuing.crt").read_bytes())
    nc = issuing.extensions.get_extension_for_class(x509.NameConstraints)
    assert nc.critical and x509.DNSName(DOMAIN) in nc.value.permitted_subtrees
    bc = issuing.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca and bc.value.path_length == 0
    assert issuing.public_key().curve.name == "secp384r1"


def test_init_cli_refuses_an_existing_ca_and_prints_no_secret(tmp_path):
    env = {"JINBAO_PKI_ROOT_PASS": "cli-test root passphrase"}
    args = ["pki", "init", "--ca-dir", str(tmp_path / "ca"), "--estate", "lab", "--admin-out", str(tmp_path / "adm")]
    r = run_cli(*args, env=env)
    assert r.returncode == 0, r.stderr
    assert "cli-test root passphrase" not in r.stdout + r.stderr
    key_text = (tmp_path / "adm.key").read_text()
    assert key_text.strip().splitlines()[1] not in r.stdout + r.stderr
    before = hashlib.sha256((tmp_path / "ca" / "root" / "root.crt").read_bytes()).hexdigest()
    r = run_cli(*args, env=env)
    assert r.returncode == 2 and "already exists" in r.stderr
    assert hashlib.sha256((tmp_path / "ca" / "root" / "root.crt").read_bytes()).hexdigest() == before
    r = run_cli(*args[:-2], "--admin-out", str(tmp_path / "adm2"), "--force", env=env)
    assert r.returncode == 0, r.stderr
    assert hashlib.sha256((tmp_path / "ca" / "root" / "root.crt").read_bytes()).hexdigest() != before


def test_openssl_verify_with_crl_accepts_issued_and_rejects_revoked(ca, tmp_path):
    issued, crt, _ = _issue(ca, tmp_path, "db1", device="prov-db1")

    def verify():
        return _openssl(
            "verify",
            "-crl_check_all",
            "-CAfile",
            str(ca.dir / "root" / "root.crt"),
            "-untrusted",
            str(ca.dir / "issuing" / "issuing.crt"),
            "-CRLfile",
            str(ca.dir / "crl" / "issuing.crl.pem"),
            "-CRLfile",
            str(ca.dir / "crl" / "root.crl.pem"),
            str(crt),
        )

    r = verify()
    assert r.returncode == 0 and f"{crt}: OK" in r.stdout, r.stdout + r.stderr
    ca.ca.revoke(ca.officer, issued.serial, "key_compromise")
    r = verify()
    assert r.returncode != 0 and "certificate revoked" in r.stdout + r.stderr


def test_mutual_tls_handshake_with_openssl(ca, tmp_path):
    _, scrt, skey = _issue(ca, tmp_path, "server", device="prov-db1")
    _, ccrt, ckey = _issue(ca, tmp_path, "client", profile="client_tls", device="prov-mon1")
    root, chain = ca.dir / "root" / "root.crt", ca.dir / "issuing" / "issuing.crt"
    port = _free_port()

    def handshake(client_args):
        server = subprocess.Popen(
            [
                "openssl",
                "s_server",
                "-accept",
                f"127.0.0.1:{port}",
                "-cert",
                str(scrt),
                "-key",
                str(skey),
                "-cert_chain",
                str(chain),
                "-CAfile",
                str(root),
                "-chainCAfile",
                str(chain),
                "-Verify",
                "3",
                "-verify_return_error",
                "-naccept",
                "1",
                "-www",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            time.sleep(0.5)
            client = _openssl(
                "s_client",
                "-connect",
                f"127.0.0.1:{port}",
                "-CAfile",
                str(root),
                "-verify_return_error",
                "-verify_hostname",
                f"prov-db1.{DOMAIN}",
                "-ign_eof",
                *client_args,
                input="GET / HTTP/1.0\r\n\r\n",
                timeout=20,
            )
            srv_out, _ = server.communicate(timeout=20)
        finally:
            if server.poll() is None:
                server.kill()
        return client, srv_out

    client, srv = handshake(["-cert", str(ccrt), "-key", str(ckey), "-cert_chain", str(chain)])
    assert "Verify return code: 0 (ok)" in client.stdout, client.stdout + client.stderr
    assert "HTTP/1.0 200 ok" in client.stdout  # the server answered over the mutually authenticated session
    assert f"CN = prov-mon1.{DOMAIN}" in srv and "verify error" not in srv, srv
    # without a client certificate the server refuses the handshake and serves nothing
    port = _free_port()
    client, srv = handshake([])
    assert "HTTP/1.0 200 ok" not in client.stdout
    assert f"prov-mon1.{DOMAIN}" not in srv


@pytest.fixture
def ocsp_server(ca):
    port = _free_port()
    proc = subprocess.Popen(
        [*JINBAO, "pki", "ocsp", "serve", "--ca-dir", str(ca.dir), "--port", str(port)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "OCSP responder" in proc.stdout.readline()
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait()


def _ocsp(ca, url, *target):
    return _openssl(
        "ocsp",
        "-issuer",
        str(ca.dir / "issuing" / "issuing.crt"),
        *target,
        "-url",
        url,
        "-CAfile",
        str(ca.dir / "root" / "root.crt"),
        "-resp_text",
    )


def test_openssl_ocsp_says_good_revoked_and_unknown(ca, tmp_path, ocsp_server):
    issued, crt, _ = _issue(ca, tmp_path, "app1", device="prov-app1")
    r = _ocsp(ca, ocsp_server, "-cert", str(crt))
    assert "Response verify OK" in r.stderr + r.stdout and f"{crt}: good" in r.stdout, r.stdout + r.stderr
    assert "OCSP Nonce" in r.stdout  # the responder echoes the client's nonce
    ca.ca.revoke(ca.officer, issued.serial, "superseded")
    r = _ocsp(ca, ocsp_server, "-cert", str(crt))
    assert f"{crt}: revoked" in r.stdout and "Reason: superseded" in r.stdout, r.stdout + r.stderr
    r = _ocsp(ca, ocsp_server, "-serial", "0x1f2e3d4c5b6a")
    assert "0x1f2e3d4c5b6a: unknown" in r.stdout and "Response verify OK" in r.stderr + r.stdout


def _lint(tool, *args):
    r = subprocess.run([str(BIN / tool), "lint", "-s", "WARNING", *args], capture_output=True, text=True)
    return r.returncode, (r.stdout + r.stderr).strip()


def test_every_certificate_and_crl_passes_the_rfc5280_linter(ca, tmp_path):
    made = [
        _issue(ca, tmp_path, "srv", device="prov-db1")[1],
        _issue(ca, tmp_path, "cli", profile="client_tls", device="prov-mon1")[1],
        _issue(ca, tmp_path, "rtr", profile="network_device", device="chuzhou-wan1")[1],
        _issue(ca, tmp_path, "rsa", device="prov-app1", key_type="rsa-3072")[1],
        _issue(ca, tmp_path, "per", profile="person_auth", person="Zhang San", email=f"zhang.san@{DOMAIN}")[1],
        _issue(ca, tmp_path, "sig", profile="person_sign", person="Li Si", email=f"li.si@{DOMAIN}")[1],
    ]
    for cert in [
        ca.dir / "root" / "root.crt",
        ca.dir / "issuing" / "issuing.crt",
        ca.dir / "ocsp" / "ocsp.crt",
        ca.ops / "alice.crt",
        *made,
    ]:
        rc, text = _lint("lint_pkix_cert", str(cert))
        assert rc == 0 and text == "", f"{cert}:\n{text}"
    rc, text = _lint("lint_crl", "-t", "CRL", "-p", "PKIX", str(ca.dir / "crl" / "issuing.crl"))
    assert rc == 0 and text == "", text
    rc, text = _lint("lint_crl", "-t", "ARL", "-p", "PKIX", str(ca.dir / "crl" / "root.crl"))
    assert rc == 0 and text == "", text
    leaf = _openssl("x509", "-in", str(made[0]), "-noout", "-text").stdout
    for must in (
        "Basic Constraints: critical",
        "Key Usage: critical",
        "Subject Key Identifier",
        "Authority Key Identifier",
        f"URI:http://pki.{DOMAIN}/crl/issuing.crl",
        f"OCSP - URI:http://ocsp.{DOMAIN}",
        f"DNS:prov-db1.{DOMAIN}",
    ):
        assert must in leaf, must
    serial = x509.load_pem_x509_certificate(made[0].read_bytes()).serial_number
    assert serial.bit_length() >= 64


def _issue_many(args):
    ca_dir, ops, n = args
    ca = Authority(ca_dir)
    cred = Credential.from_prefix(Path(ops) / "alice")
    return [ca.issue(cred, "server_tls", device="prov-db1").serial for _ in range(n)]


def test_concurrent_issuers_never_reuse_a_serial(ca):
    before = ca.ca.store.db.execute("SELECT COUNT(*) FROM certs").fetchone()[0]
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        batches = pool.map(_issue_many, [(str(ca.dir), str(ca.ops), 15)] * 4)
    serials = [s for b in batches for s in b]
    assert len(serials) == 60 and len(set(serials)) == 60
    after = ca.ca.store.db.execute("SELECT COUNT(*) FROM certs").fetchone()[0]
    assert after - before == 60
    n, problems = ca.ca.verify_audit(ca.auditor)
    assert problems == [] and n > 60


def _state(ca, out_dir):
    db = ca.ca.store.db
    return (
        db.execute("SELECT COUNT(*) FROM certs").fetchone()[0],
        db.execute("SELECT COUNT(*) FROM audit").fetchone()[0],
        sorted(p.name for p in out_dir.iterdir()),
    )


def _csr(key, names=(f"prov-db1.{DOMAIN}",), cn=f"prov-db1.{DOMAIN}"):
    b = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
    b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
    return b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def test_a_valid_csr_is_certified(ca):
    key = ec.generate_private_key(ec.SECP256R1())
    issued = ca.ca.issue(ca.officer, "server_tls", device="prov-db1", csr_pem=_csr(key))
    assert issued.key_pem is None
    assert issued.cert.public_key().public_numbers() == key.public_key().public_numbers()


BAD = {
    "malformed CSR": (
        dict(device="prov-db1", csr_pem=b"-----BEGIN CERTIFICATE REQUEST-----\nnot base64\n"),
        "malformed",
    ),
    "unknown device": (dict(device="prov-db9"), "no device 'prov-db9'"),
    "CSR asks for a foreign name": (
        dict(
            device="prov-db1",
            csr_pem=_csr(ec.generate_private_key(ec.SECP256R1()), names=(f"prov-db1.{DOMAIN}", "www.example.com")),
        ),
        "www.example.com",
    ),
    "weak RSA key": (dict(device="prov-db1", csr_pem=_csr(rsa.generate_private_key(65537, 2048))), "rsa-2048"),
    "too long": (dict(device="prov-db1", days=1000), "exceeds profile server_tls's maximum of 397"),
    "wrong role": (dict(device="chuzhou-wan1"), "not for a wan_router"),
    "disallowed key type": (dict(device="prov-db1", key_type="rsa-1024"), "does not allow key type rsa-1024"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_request_is_refused_and_leaves_no_state(ca, tmp_path, case):
    kwargs, says = BAD[case]
    before = _state(ca, tmp_path)
    with pytest.raises(PkiError, match=None) as e:
        ca.ca.issue(ca.officer, "server_tls", **kwargs)
    assert says in str(e.value), str(e.value)
    assert _state(ca, tmp_path) == before


def test_tampered_csr_signature_is_refused(ca, tmp_path):
    der = x509.load_pem_x509_csr(_csr(ec.generate_private_key(ec.SECP256R1()))).public_bytes(serialization.Encoding.DER)
    # flip a bit inside the subject's CN: the structure still parses, the signature no longer matches
    i = der.index(b"prov-db1")
    bad = der[:i] + bytes([der[i] ^ 0x01]) + der[i + 1 :]
    before = _state(ca, tmp_path)
    with pytest.raises(PkiError, match="signature does not verify"):
        ca.ca.issue(ca.officer, "server_tls", device="prov-db1", csr_pem=bad)
    assert _state(ca, tmp_path) == before


def test_cli_bad_input_exits_2_and_writes_nothing(ca, tmp_path):
    r = run_cli(
        "pki",
        "issue",
        "--ca-dir",
        str(ca.dir),
        "--as",
        str(ca.ops / "alice"),
        "--profile",
        "server_tls",
        "--device",
        "nosuch-host",
        "--out",
        str(tmp_path / "x"),
    )
    assert r.returncode == 2 and "no device 'nosuch-host'" in r.stderr
    assert list(tmp_path.iterdir()) == []
    r = run_cli("pki", "revoke", "--ca-dir", str(ca.dir), "--as", str(ca.ops / "alice"), "deadbeef00")
    assert r.returncode == 2 and "no certificate with serial deadbeef00" in r.stderr
    (tmp_path / "pass").write_text("not the root passphrase")
    before = _state(ca, tmp_path)
    r = run_cli(
        "pki",
        "crl",
        "--root",
        "--ca-dir",
        str(ca.dir),
        "--as",
        str(ca.ops / "admin"),
        "--root-pass-file",
        str(tmp_path / "pass"),
    )
    assert r.returncode == 2 and "wrong passphrase" in r.stderr
    assert _state(ca, tmp_path) == before
    r = run_cli(
        "pki",
        "issue",
        "--ca-dir",
        str(ca.dir),
        "--as",
        str(ca.ops / "alice"),
        "--profile",
        "nonsense",
        "--device",
        "prov-db1",
        "--out",
        str(tmp_path / "y"),
    )
    assert r.returncode == 2 and "no certificate profile 'nonsense'" in r.stderr


def test_roles_are_kept_apart_and_bound_to_held_keys(ca, tmp_path):
    with pytest.raises(NotAllowed, match="auditor.*may not issue"):
        ca.ca.issue(ca.auditor, "server_tls", device="prov-db1")
    with pytest.raises(NotAllowed, match="ca_admin.*may not issue"):
        ca.ca.issue(ca.admin, "server_tls", device="prov-db1")
    with pytest.raises(NotAllowed, match="officer.*may not operator_add"):
        ca.ca.add_operator(ca.officer, "mallory", "ca_admin", tmp_path / "m")
    with pytest.raises(NotAllowed, match="officer.*may not audit"):
        ca.ca.verify_audit(ca.officer)
    # someone else's certificate with your own key: possession fails
    (tmp_path / "fake.crt").write_bytes((ca.ops / "alice.crt").read_bytes())
    (tmp_path / "fake.key").write_bytes((ca.ops / "bob.key").read_bytes())
    (tmp_path / "fake.key").chmod(0o600)
    with pytest.raises(NotAllowed, match="does not match"):
        ca.ca.issue(Credential.from_prefix(tmp_path / "fake"), "server_tls", device="prov-db1")
    # a self-made certificate claiming to be alice
    key = ec.generate_private_key(ec.SECP256R1())
    alice = x509.load_pem_x509_certificate((ca.ops / "alice.crt").read_bytes())
    forged = (
        x509.CertificateBuilder()
        .subject_name(alice.subject)
        .issuer_name(alice.issuer)
        .public_key(key.public_key())
        .serial_number(alice.serial_number)
        .not_valid_before(alice.not_valid_before_utc)
        .not_valid_after(alice.not_valid_after_utc)
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "forged.crt").write_bytes(forged.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "forged.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    with pytest.raises(NotAllowed, match="not an operator certificate"):
        ca.ca.issue(Credential.from_prefix(tmp_path / "forged"), "server_tls", device="prov-db1")
    # a revoked operator can do nothing
    ca.ca.add_operator(ca.admin, "carol", "officer", tmp_path / "carol")
    carol = Credential.from_prefix(tmp_path / "carol")
    ca.ca.issue(carol, "server_tls", device="prov-db1")
    serial = format(x509.load_pem_x509_certificate((tmp_path / "carol.crt").read_bytes()).serial_number, "x")
    with pytest.raises(NotAllowed, match="officer.*may not revoke_operator"):  # separation of duties
        ca.ca.revoke(ca.officer, serial, "affiliation_changed")
    ca.ca.revoke(ca.admin, serial, "affiliation_changed")
    with pytest.raises(NotAllowed, match="revoked"):
        ca.ca.issue(carol, "server_tls", device="prov-db1")
    # and the log says who did what, including the refusals
    log = ca.ca.audit_log(ca.auditor)
    assert any(e["actor"] == "bob" and e["action"] == "denied" and '"issue"' in e["detail"] for e in log)
    assert any(e["actor"] == "carol" and e["action"] == "issue" for e in log)


def test_ocsp_signer_renewal_is_the_admins_job(ca):
    old = x509.load_pem_x509_certificate((ca.dir / "ocsp" / "ocsp.crt").read_bytes())
    with pytest.raises(NotAllowed):
        ca.ca.renew_ocsp_signer(ca.officer)
    new = ca.ca.renew_ocsp_signer(ca.admin)
    assert new.cert.serial_number != old.serial_number
    assert (ca.dir / "ocsp" / "ocsp.key").stat().st_mode & 0o777 == 0o600
    rc, text = _lint("lint_pkix_cert", str(ca.dir / "ocsp" / "ocsp.crt"))
    assert rc == 0 and text == "", text


def test_audit_log_tampering_is_detected(ca, tmp_path):
    import shutil

    copy = tmp_path / "ca"
    shutil.copytree(ca.dir, copy)
    other = Authority(copy)
    assert other.verify_audit(ca.auditor)[1] == []
    db = sqlite3.connect(copy / "ca.db")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE audit SET actor = 'nobody' WHERE seq = 3")
    seq = db.execute("SELECT MIN(seq) FROM audit WHERE detail LIKE '%prov-db1%'").fetchone()[0]
    db.execute("DROP TRIGGER audit_no_update")
    db.execute("UPDATE audit SET detail = replace(detail, 'prov-db1', 'prov-db2') WHERE seq = ?", (seq,))
    db.commit()
    _n, problems = Authority(copy).verify_audit(ca.auditor)
    assert [p for p in problems if p.startswith(f"entry {seq} ")] and all(
        "does not match its hash" in p for p in problems if "trigger" not in p
    ), problems
    assert any("trigger audit_no_update is missing" in p for p in problems), problems
    # removing an entry breaks the chain at that point
    db.execute("DROP TRIGGER audit_no_delete")
    db.execute("DELETE FROM audit WHERE seq = ?", (seq + 1,))
    db.commit()
    problems = Authority(copy).verify_audit(ca.auditor)[1]
    assert any("does not link" in p for p in problems), problems
    r = run_cli("pki", "audit", "verify", "--ca-dir", str(copy), "--as", str(ca.ops / "bob"))
    assert r.returncode == 1 and "tampered" in r.stdout


def _private_keys_handed_out(obj) -> list[str]:
    """The public attributes of obj that are a private key, or that return one when called without arguments."""
    private = (
        ec.EllipticCurvePrivateKey,
        rsa.RSAPrivateKey,
        ed25519.Ed25519PrivateKey,
        ed448.Ed448PrivateKey,
        dsa.DSAPrivateKey,
    )
    found = []
    for name in dir(obj):
        if name.startswith("_"):
            continue
        value = getattr(obj, name)
        if callable(value) and not isinstance(value, type):
            try:
                value = value()
            except TypeError:
                continue  # takes arguments: what it signs, never a key (sign, verify, sign_certificate, ...)
        if isinstance(value, private):
            found.append(name)
    return found


def test_the_signer_signs_and_hands_out_no_private_key(ca, tmp_path):
    from pki import signer
    from pki.ocsp import Responder

    issuing = ca.ca.issuer
    deferred = signer.FileSigner(ca.dir / "issuing" / "issuing.crt", ca.dir / "issuing" / "issuing.key", deferred=True)
    fresh = signer.NewKey("ecdsa-p256")
    for s in (issuing, deferred, fresh, Responder(ca.dir).signer, signer.Verifier(issuing.certificate)):
        assert _private_keys_handed_out(s) == [], type(s).__name__
    assert not any("private" in name for name in dir(signer.Signer)), dir(signer.Signer)
    assert not any("private" in name for name in dir(ca.ca) if not name.startswith("_"))
    # what it signs verifies with the certificate alone
    assert signer.verify(issuing.certificate, issuing.sign(b"data"), b"data")
    assert deferred.verify(issuing.sign(b"data"), b"data") and not deferred.verify(issuing.sign(b"data"), b"other")


def test_audit_verify_needs_no_private_key_and_still_finds_tampering(tmp_path):
    """An auditor verifies from public material: the issuing CA's key file moved away, verify works and still
    catches an edited entry and an edited table."""
    c = new_ca(tmp_path / "own")
    c.ca.issue(c.officer, "server_tls", device="prov-db1")
    key = c.dir / "issuing" / "issuing.key"
    away = tmp_path / "issuing.key.away"
    key.rename(away)
    try:
        with pytest.raises(PkiError, match="issuing.key"):
            Authority(c.dir)  # the key really is gone: whatever signs cannot open the CA
        assert Authority(c.dir, signing=False).verify_audit(c.auditor)[1] == []
        verify = ["pki", "audit", "verify", "--ca-dir", str(c.dir), "--as", str(c.ops / "bob")]
        r = run_cli(*verify)
        assert r.returncode == 0 and "audit log intact" in r.stdout, r.stdout + r.stderr
        db = sqlite3.connect(c.dir / "ca.db")
        seq = db.execute("SELECT MIN(seq) FROM audit WHERE detail LIKE '%prov-db1%'").fetchone()[0]
        db.execute("DROP TRIGGER audit_no_update")
        db.execute("UPDATE audit SET detail = replace(detail, 'prov-db1', 'prov-db2') WHERE seq = ?", (seq,))
        db.execute("UPDATE operators SET role = 'ca_admin' WHERE name = 'alice'")
        db.commit()
        db.close()
        problems = Authority(c.dir, signing=False).verify_audit(c.auditor)[1]
        assert any(p.startswith(f"entry {seq} ") and "does not match its hash" in p for p in problems), problems
        assert any("trigger audit_no_update is missing" in p for p in problems), problems
        assert any("operator alice" in p and "ca_admin" in p for p in problems), problems
        r = run_cli(*verify)
        assert r.returncode == 1 and "tampered" in r.stdout, r.stdout + r.stderr
        assert not key.exists()
    finally:
        away.rename(key)


def test_expiring_per_site_and_renewal(ca, tmp_path):
    short = ca.ca.issue(ca.officer, "network_device", device="chuzhou-wan1", days=10)
    per_site = ca.ca.expiring(ca.officer, 30)
    assert short.serial in [r["serial"] for r in per_site["chuzhou"]]
    assert all(r["days_left"] <= 30 for rows in per_site.values() for r in rows)
    new = ca.ca.renew(ca.officer, short.serial)
    assert new.serial != short.serial and new.key_pem
    assert ca.ca.show(ca.officer, new.serial)["renewed_from"] == short.serial
    assert new.serial not in [r["serial"] for r in ca.ca.expiring(ca.officer, 30).get("chuzhou", [])]
    r = run_cli("pki", "expiring", "--days", "30", "--json", "--ca-dir", str(ca.dir), "--as", str(ca.ops / "bob"))
    assert r.returncode == 0 and short.serial in r.stdout


def test_security_officer_story_on_the_lab(lab, tmp_path, request):
    """README story: init → issue a device certificate → deploy → revoke → OCSP says revoked."""

    def stop_tls_service():  # the shared lab goes back to what other tests expect of prov-db1
        remote = "test -f tls/server.pid && kill $(cat tls/server.pid); rm -rf tls"
        lab.in_node("ops", [*lab.ssh_args("prov-db1"), remote], check=False)

    request.addfinalizer(stop_tls_service)
    env = {"JINBAO_PKI_ROOT_PASS": "story root passphrase", "JINBAO_PKI_DIR": str(tmp_path / "ca")}
    ops = tmp_path / "ops"
    ops.mkdir()

    def pki(*args):
        r = run_cli("pki", *args, env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout

    pki("init", "--estate", "lab", "--admin-out", str(ops / "admin"))
    pki("operator", "add", "--as", str(ops / "admin"), "wang", "--role", "officer", "--out", str(ops / "wang"))
    env["JINBAO_PKI_OPERATOR"] = str(ops / "wang")
    info = json.loads(
        pki("issue", "--profile", "server_tls", "--device", "prov-db1", "--out", str(tmp_path / "db1"), "--json")
    )
    pki(
        "deploy",
        "--cert",
        str(tmp_path / "db1.crt"),
        "--key",
        str(tmp_path / "db1.key"),
        "--lab",
        lab.id,
        "--node",
        "prov-db1",
        "--serve-port",
        "8443",
    )
    ip = str(lab.plan.nodes["prov-db1"].device.mgmt_ip)
    (lab.dir / "root.crt").write_bytes((tmp_path / "ca" / "root" / "root.crt").read_bytes())
    for _ in range(20):
        r = lab.in_node(
            "ops",
            [
                "openssl",
                "s_client",
                "-connect",
                f"{ip}:8443",
                "-CAfile",
                str(lab.dir / "root.crt"),
                "-verify_return_error",
                "-verify_hostname",
                f"prov-db1.{DOMAIN}",
            ],
            check=False,
        )
        if "Verify return code: 0 (ok)" in r.stdout:
            break
        time.sleep(0.3)
    assert "Verify return code: 0 (ok)" in r.stdout, r.stdout + r.stderr
    assert f"CN=prov-db1.{DOMAIN}" in r.stdout.replace(" = ", "=")
    # the key landed 0600 in the node and nowhere in the lab's logs
    key_line = (tmp_path / "db1.key").read_text().splitlines()[1]
    mode = lab.in_node("ops", [*lab.ssh_args("prov-db1"), "stat -c %a tls/key.pem"]).stdout.strip()
    assert mode == "600"
    assert all(key_line not in p.read_text(errors="replace") for p in lab.dir.glob("nodes/*/*.log"))
    pki("revoke", info["serial"], "--reason", "key_compromise")
    port = _free_port()
    server = subprocess.Popen(
        [*JINBAO, "pki", "ocsp", "serve", "--port", str(port)],
        cwd=REPO,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **env},
    )
    try:
        server.stdout.readline()
        r = _openssl(
            "ocsp",
            "-issuer",
            str(tmp_path / "ca" / "issuing" / "issuing.crt"),
            "-cert",
            str(tmp_path / "db1.crt"),
            "-url",
            f"http://127.0.0.1:{port}",
            "-CAfile",
            str(tmp_path / "ca" / "root" / "root.crt"),
        )
    finally:
        server.kill()
        server.wait()
    assert f"{tmp_path / 'db1.crt'}: revoked" in r.stdout, r.stdout + r.stderr


def test_crl_on_schedule(ca):
    args = ["pki", "crl", "--ca-dir", str(ca.dir), "--as", str(ca.ops / "alice")]
    before = x509.load_der_x509_crl((ca.dir / "crl" / "issuing.crl").read_bytes())
    r = run_cli(*args, "--if-due", "1")  # a fresh CRL is valid for 24 h: not due within the hour
    assert r.returncode == 0 and "not due" in r.stdout
    r = run_cli(*args, "--if-due", "48")
    assert r.returncode == 0 and "CRL regenerated" in r.stdout
    after = x509.load_der_x509_crl((ca.dir / "crl" / "issuing.crl").read_bytes())
    number = lambda c: c.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number  # noqa: E731
    assert number(after) > number(before) and len(after) == len(before)
    r = run_cli(*args[:-2], "--as", str(ca.ops / "bob"))
    assert r.returncode == 2 and "may not crl" in r.stderr


def test_deploy_to_a_node_that_does_not_answer_is_a_failed_target_not_bad_input(lab, tmp_path):
    """Exit 1 naming the node when its sshd is down; exit 2 for a node the lab does not have."""
    from lab import health

    env = {"JINBAO_PKI_ROOT_PASS": "deploy root passphrase", "JINBAO_PKI_DIR": str(tmp_path / "ca")}
    ops = tmp_path / "ops"
    ops.mkdir()
    for args in (
        ("init", "--estate", "lab", "--admin-out", str(ops / "admin")),
        ("operator", "add", "--as", str(ops / "admin"), "li", "--role", "officer", "--out", str(ops / "li")),
        (
            "issue",
            "--as",
            str(ops / "li"),
            "--profile",
            "server_tls",
            "--device",
            "prov-app1",
            "--out",
            str(tmp_path / "a"),
        ),
    ):
        r = run_cli("pki", *args, env=env)
        assert r.returncode == 0, r.stdout + r.stderr
    deploy = ("deploy", "--as", str(ops / "li"), "--cert", str(tmp_path / "a.crt"), "--key", str(tmp_path / "a.key"))
    assert run_cli("lab", "node", "stop", "--id", lab.id, "prov-app1").returncode == 0
    try:
        r = run_cli("pki", *deploy, "--lab", lab.id, "--node", "prov-app1", env=env)
        assert r.returncode == 1 and "prov-app1" in r.stderr and "writing the certificate" in r.stderr, r.stderr
    finally:
        assert run_cli("lab", "node", "start", "--id", lab.id, "prov-app1").returncode == 0
        health.wait_converged(lab, timeout=120)
    r = run_cli("pki", *deploy, "--lab", lab.id, "--node", "no-such-node", env=env)
    assert r.returncode == 2 and "no device 'no-such-node'" in r.stderr, r.stderr
