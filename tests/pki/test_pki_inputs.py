"""Odd input to every `jinbao pki` subcommand ends in a clean message and exit 2, never a traceback,
and changes nothing: no certificate, no audit entry, no file."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa, x25519
from cryptography.x509.oid import NameOID

from pki.der import tlv
from tests.pki.test_pki import DOMAIN, new_ca
from tests.support import run_cli

SAN = "551d11"


def _raw_csr(exts: list[bytes], cn: str = "x") -> bytes:
    """A correctly signed CSR whose extensionRequest holds exactly `exts` (cryptography refuses to build odd ones)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]).public_bytes()
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    attr = tlv(0x30, tlv(0x06, bytes.fromhex("2a864886f70d01090e")) + tlv(0x31, tlv(0x30, b"".join(exts))))
    info = tlv(0x30, tlv(0x02, b"\x00") + name + spki + tlv(0xA0, attr))
    sig = key.sign(info, ec.ECDSA(hashes.SHA256()))
    return tlv(0x30, info + tlv(0x30, tlv(0x06, bytes.fromhex("2a8648ce3d040302"))) + tlv(0x03, b"\x00" + sig))


def _ext(oid_hex: str, value: bytes) -> bytes:
    return tlv(0x30, tlv(0x06, bytes.fromhex(oid_hex)) + tlv(0x04, value))


_SAN_OK = x509.SubjectAlternativeName([x509.DNSName(f"prov-db1.{DOMAIN}")]).public_bytes()
CSRS = {
    "dup.csr": _raw_csr([_ext(SAN, _SAN_OK), _ext(SAN, _SAN_OK)]),
    "malformed-ext.csr": _raw_csr([_ext(SAN, b"\x30\x05garb")]),
    "not-der-ext.csr": _raw_csr([_ext(SAN, b"zz")]),
    "empty.csr": b"",
    "rsa-e3.csr": x509.CertificateSigningRequestBuilder()
    .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")]))
    .sign(rsa.generate_private_key(3, 3072), hashes.SHA256())
    .public_bytes(serialization.Encoding.PEM),
    "escape.csr": _raw_csr([_ext(SAN, tlv(0x30, tlv(0x82, b"\x1b]0;owned\x07x." + DOMAIN.encode())))]),
    "ed25519.key": ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ),
    "x25519.key": x25519.X25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ),
    "inf.checkpoint": b'{"ca": "%s", "seq": 1e999, "hash": "%s"}' % (b"0" * 64, b"0" * 64),
    "deep.checkpoint": b"[" * 100_000 + b"]" * 100_000,
    "deep-small.checkpoint": b'{"seq": ' + b"[" * 2000 + b"]" * 2000 + b"}",
}

ISSUE = ["issue", "--as", "alice", "--profile", "server_tls", "--device", "prov-db1", "--out", "OUT"]
PERSON = ["issue", "--as", "alice", "--profile", "person_auth", "--out", "OUT"]
EMAIL = f"zhang.san@{DOMAIN}"
LONG = "x" * 300

# (arguments, what the message must name); "OUT" is a fresh output prefix, "TMP/" the test's folder,
# "--as NAME" an operator of the CA.
CASES = {
    "days 0": (ISSUE + ["--days", "0"], "--days"),
    "days negative": (ISSUE + ["--days", "-1"], "--days"),
    "days huge": (ISSUE + ["--days", "9" * 30], "--days"),
    "person too long": (PERSON + ["--person", LONG, "--email", EMAIL], "--person"),
    "person with newline": (PERSON + ["--person", "Zhang\nSan", "--email", EMAIL], "--person"),
    "person with control": (PERSON + ["--person", "Zhang\x7fSan", "--email", EMAIL], "--person"),
    "email without @": (PERSON + ["--person", "Zhang San", "--email", "zhang.san"], "--email"),
    "email blank": (PERSON + ["--person", "Zhang San", "--email", " "], "--email"),
    "email non-ascii": (PERSON + ["--person", "Zhang San", "--email", f"张三@{DOMAIN}"], "--email"),
    "email two @": (PERSON + ["--person", "Zhang San", "--email", f"a@b@{DOMAIN}"], "--email"),
    "email too long": (PERSON + ["--person", "Zhang San", "--email", f"{LONG}@{DOMAIN}"], "--email"),
    "csr with duplicate extensions": (ISSUE + ["--csr", "TMP/dup.csr"], "--csr"),
    "csr with a malformed extension": (ISSUE + ["--csr", "TMP/malformed-ext.csr"], "--csr"),
    "csr with an extension that is not DER": (ISSUE + ["--csr", "TMP/not-der-ext.csr"], "--csr"),
    "csr empty": (ISSUE + ["--csr", "TMP/empty.csr"], "malformed"),
    "csr missing": (ISSUE + ["--csr", "TMP/nonexistent.csr"], "nonexistent.csr"),
    "csr endless": (ISSUE + ["--csr", "/dev/zero"], "--csr"),
    "out name too long": (
        ["issue", "--as", "alice", "--profile", "server_tls", "--device", "prov-db1", "--out", "TMP/" + LONG],
        "--out",
    ),
    "crl if-due nan": (["crl", "--as", "alice", "--if-due", "nan"], "--if-due"),
    "crl if-due inf": (["crl", "--as", "alice", "--if-due", "inf"], "--if-due"),
    "crl if-due negative": (["crl", "--as", "alice", "--if-due", "-1"], "--if-due"),
    "crl if-due huge": (["crl", "--as", "alice", "--if-due", "9" * 30], "--if-due"),
    "crl root pass file missing": (["crl", "--as", "admin", "--root", "--root-pass-file", "TMP/none"], "TMP/none"),
    "expiring negative": (["expiring", "--as", "bob", "--days", "-1"], "--days"),
    "expiring huge": (["expiring", "--as", "bob", "--days", "9" * 30], "--days"),
    "operator name empty": (["operator", "add", "--as", "admin", "", "--role", "officer", "--out", "OUT"], "name"),
    "operator name newline": (
        ["operator", "add", "--as", "admin", "eve\nadmin", "--role", "officer", "--out", "OUT"],
        "name",
    ),
    "operator name case lookalike": (
        ["operator", "add", "--as", "admin", "Alice", "--role", "auditor", "--out", "OUT"],
        "alice",
    ),
    "operator name unicode lookalike": (
        [
            "operator",
            "add",
            "--as",
            "admin",
            "аlice",
            "--role",
            "auditor",  # Cyrillic а
            "--out",
            "OUT",
        ],
        "name",
    ),
    "operator name too long": (["operator", "add", "--as", "admin", LONG, "--role", "officer", "--out", "OUT"], "name"),
    "revoke a non-serial": (["revoke", "--as", "alice", "not-a-serial"], "serial"),
    "revoke an empty serial": (["revoke", "--as", "alice", ""], "serial"),
    "show a huge serial": (["show", "--as", "bob", "f" * 300], "serial"),
    "ocsp port out of range": (["ocsp", "serve", "--port", "70000"], "--port"),
    "ocsp port negative": (["ocsp", "serve", "--port", "-1"], "--port"),
    "ocsp host unknown": (["ocsp", "serve", "--host", "no.such.host.invalid", "--port", "0"], "--host"),
    "deploy port out of range": (
        [
            "deploy",
            "--as",
            "alice",
            "--cert",
            "TMP/dup.csr",
            "--key",
            "TMP/dup.csr",
            "--lab",
            "x",
            "--node",
            "x",
            "--serve-port",
            "70000",
        ],
        "--serve-port",
    ),
    # classes found by fuzzing the CLI
    "rich markup in a device name": (
        ["issue", "--as", "alice", "--profile", "server_tls", "--device", "[/]", "--out", "OUT"],
        "no device '[/]'",
    ),
    "rich markup in a profile name": (
        ["issue", "--as", "alice", "--profile", "[bold]x[/bold]", "--device", "prov-db1", "--out", "OUT"],
        "[bold]x[/bold]",
    ),
    "operator name the log uses for the CA": (
        ["operator", "add", "--as", "admin", "root", "--role", "ca_admin", "--out", "OUT"],
        "operator name 'root'",
    ),
    "recover an admin named like the CA": (
        ["operator", "recover-admin", "Init", "--out", "OUT", "--root-pass-file", "TMP/root.pass"],
        "operator name 'Init'",
    ),
    "csr with an rsa exponent of 3": (ISSUE + ["--csr", "TMP/rsa-e3.csr"], "rsa-3072-e3"),
    "csr with terminal escapes in a name": (ISSUE + ["--csr", "TMP/escape.csr"], "\\x1b]0;owned"),
    "certificate_hold": (["revoke", "--as", "alice", "SERIAL", "--reason", "certificate_hold"], "--reason"),
    "init over a file": (
        ["init", "--ca-dir", "TMP/dup.csr", "--estate", "lab", "--root-pass-file", "TMP/root.pass"],
        "dup.csr",
    ),
    "init with an estate name too long": (
        ["init", "--ca-dir", "TMP/newca", "--estate", LONG, "--root-pass-file", "TMP/root.pass"],
        "no estate named",
    ),
    "deploy cert missing": (
        ["deploy", "--as", "alice", "--cert", "TMP/none.crt", "--key", "TMP/none.key", "--lab", "x", "--node", "x"],
        "none.crt",
    ),
    # the second review: tracebacks, and input that was accepted
    "issue out /": (ISSUE[:-1] + ["/"], "--out '/'"),
    "issue out empty": (ISSUE[:-1] + [""], "--out ''"),
    "issue out DIR/.": (ISSUE[:-1] + ["TMP/."], "--out"),
    "issue out DIR/..": (ISSUE[:-1] + ["TMP/.."], "--out"),
    "issue out DIR/": (ISSUE[:-1] + ["TMP/"], "--out"),
    "renew out /": (["renew", "--as", "alice", "SERIAL", "--out", "/"], "--out '/'"),
    "renew out empty": (["renew", "--as", "alice", "SERIAL", "--out", ""], "--out ''"),
    "operator add out /": (["operator", "add", "--as", "admin", "erin", "--role", "officer", "--out", "/"], "--out"),
    "operator add out empty": (["operator", "add", "--as", "admin", "erin", "--role", "officer", "--out", ""], "--out"),
    "recover-admin out /": (
        ["operator", "recover-admin", "zhao", "--out", "/", "--root-pass-file", "TMP/root.pass"],
        "--out",
    ),
    "recover-admin out empty": (
        ["operator", "recover-admin", "zhao", "--out", "", "--root-pass-file", "TMP/root.pass"],
        "--out",
    ),
    "init admin-out /": (
        ["init", "--ca-dir", "TMP/newca", "--estate", "lab", "--root-pass-file", "TMP/root.pass", "--admin-out", "/"],
        "--admin-out",
    ),
    "init admin-out empty": (
        ["init", "--ca-dir", "TMP/newca", "--estate", "lab", "--root-pass-file", "TMP/root.pass", "--admin-out", ""],
        "--admin-out",
    ),
    "as /": (["list", "--as", "/"], "--as '/'"),
    "as empty": (["list", "--as", ""], "--as ''"),
    "deploy an ed25519 key": (
        [
            "deploy",
            "--as",
            "alice",
            "--cert",
            "TMP/device.crt",
            "--key",
            "TMP/ed25519.key",
            "--lab",
            "x",
            "--node",
            "x",
        ],
        "--key",
    ),
    "deploy an x25519 key": (
        ["deploy", "--as", "alice", "--cert", "TMP/device.crt", "--key", "TMP/x25519.key", "--lab", "x", "--node", "x"],
        "--key",
    ),
    "checkpoint seq 1e999": (["audit", "verify", "--as", "bob", "--checkpoint", "TMP/inf.checkpoint"], "--checkpoint"),
    "checkpoint nested 100k deep": (
        ["audit", "verify", "--as", "bob", "--checkpoint", "TMP/deep.checkpoint"],
        "--checkpoint",
    ),
    "checkpoint nested 2000 deep": (
        ["audit", "verify", "--as", "bob", "--checkpoint", "TMP/deep-small.checkpoint"],
        "--checkpoint",
    ),
    "ocsp timeout nan": (["ocsp", "serve", "--port", "0", "--timeout", "nan"], "--timeout"),
    "ocsp timeout inf": (["ocsp", "serve", "--port", "0", "--timeout", "inf"], "--timeout"),
    "ocsp host empty": (["ocsp", "serve", "--port", "0", "--host", ""], "--host"),
    "key type empty": (ISSUE + ["--key-type", ""], "--key-type"),
    "person profile with a device": (
        PERSON + ["--person", "Zhang San", "--email", EMAIL, "--device", "prov-db1"],
        "--device",
    ),
    "device profile with a person": (ISSUE + ["--person", "Zhang San", "--email", EMAIL], "--person"),
}


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    c = new_ca(tmp_path_factory.mktemp("inputs"))
    c.tmp = tmp_path_factory.mktemp("inputs-files")
    for name, data in CSRS.items():
        (c.tmp / name).write_bytes(data)
    (c.tmp / "root.pass").write_text("jinbao-test root passphrase")
    issued = c.ca.issue(c.officer, "server_tls", device="prov-db1")
    c.serial = issued.serial
    (c.tmp / "device.crt").write_bytes(issued.cert_pem)
    return c


def _snapshot(ca):
    db = sqlite3.connect(ca.dir / "ca.db")
    try:
        counts = tuple(db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("certs", "audit", "operators"))
    finally:
        db.close()
    crl = hashlib.sha256((ca.dir / "crl" / "issuing.crl").read_bytes()).hexdigest()
    return counts, crl, sorted(p.name for p in ca.tmp.iterdir())


def _args(ca, args, out):
    a = []
    for i, arg in enumerate(args):
        x = str(ca.ops / arg) if i and args[i - 1] == "--as" and arg not in ("", "/") else arg
        a.append(str(out) if x == "OUT" else ca.serial if x == "SERIAL" else x.replace("TMP/", f"{ca.tmp}/"))
    cmd = a[:2] if a[0] in ("operator", "ocsp", "audit") else a[:1]
    return ["pki", *cmd, *a[len(cmd) :], *(["--ca-dir", str(ca.dir)] if "--ca-dir" not in a else [])]


@pytest.mark.parametrize("case", sorted(CASES))
def test_odd_input_is_refused_cleanly_and_changes_nothing(ca, case):
    args, names = CASES[case]
    before = _snapshot(ca)
    r = run_cli(*_args(ca, args, ca.tmp / f"out-{sorted(CASES).index(case)}"), timeout=60)
    assert r.returncode == 2, f"exit {r.returncode}\n{r.stdout}{r.stderr}"
    assert "Traceback" not in r.stderr, r.stderr
    assert names.replace("TMP/", f"{ca.tmp}/") in r.stderr, r.stderr
    assert _snapshot(ca) == before


def test_names_that_look_like_markup_are_printed_as_they_are(ca, tmp_path):
    """A person may be called anything printable; the CLI must not read it as rich markup after issuing."""
    r = run_cli(
        "pki",
        "issue",
        "--ca-dir",
        str(ca.dir),
        "--as",
        str(ca.ops / "alice"),
        "--profile",
        "person_auth",
        "--person",
        "[/] [bold]Zhang",
        "--email",
        EMAIL,
        "--out",
        str(tmp_path / "p"),
    )
    assert r.returncode == 0 and "CN=[/] [bold]Zhang" in r.stdout, r.stdout + r.stderr
    r = run_cli("pki", "list", "--ca-dir", str(ca.dir), "--as", str(ca.ops / "bob"))
    assert r.returncode == 0 and "[/] [bold]Zhang" in r.stdout, r.stdout + r.stderr


def test_a_truncated_published_crl_is_reported_not_a_traceback(tmp_path):
    ca = new_ca(tmp_path)
    crl = ca.dir / "crl" / "issuing.crl"
    crl.write_bytes(crl.read_bytes()[:40])
    r = run_cli("pki", "crl", "--if-due", "1", "--ca-dir", str(ca.dir), "--as", str(ca.ops / "alice"))
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "issuing.crl" in r.stderr and "jinbao pki crl" in r.stderr
    r = run_cli("pki", "crl", "--ca-dir", str(ca.dir), "--as", str(ca.ops / "alice"))  # regenerating repairs it
    assert r.returncode == 0, r.stderr
    x509.load_der_x509_crl(crl.read_bytes())


def test_a_damaged_ca_folder_is_reported_not_a_traceback(tmp_path):
    ca = new_ca(tmp_path)
    empty_db = tmp_path / "empty.db"
    sqlite3.connect(empty_db).execute("CREATE TABLE t (x)").connection.commit()
    for i, (damage, data) in enumerate(
        [
            ("ca.yml", b"\x00garbage: ["),
            ("ca.yml", b"estate: lab\n"),
            ("ca.db", b"\x00garbage: ["),
            ("ca.db", empty_db.read_bytes()),
            ("issuing/issuing.crt", b"\x00garbage: ["),
        ]
    ):
        broken = tmp_path / f"broken-{i}"
        shutil.copytree(ca.dir, broken)
        (broken / damage).write_bytes(data)
        for wal in broken.glob("ca.db-*"):  # else SQLite reads the pages back from the write-ahead log
            wal.unlink()
        r = run_cli("pki", "list", "--ca-dir", str(broken), "--as", str(ca.ops / "bob"))
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert damage.split("/")[-1] in r.stderr, r.stderr
        if damage != "ca.db":  # the responder reads the configuration and certificates, not the database, at start
            r = run_cli("pki", "ocsp", "serve", "--ca-dir", str(broken), "--port", "0", timeout=30)
            assert r.returncode == 2 and "Traceback" not in r.stderr and damage.split("/")[-1] in r.stderr, r.stderr


@pytest.mark.parametrize(
    "setting",
    [
        "crl_validity_hours: abc",
        "crl_validity_hours: null",
        "crl_validity_hours: -5",
        "ocsp_validity_minutes: abc",
        "crl_validity_hours: true",
    ],
)
def test_every_value_in_ca_yml_is_checked_before_use(tmp_path, setting):
    ca = new_ca(tmp_path)
    key = setting.split(":")[0]
    cfg = "\n".join(
        line if not line.startswith(key + ":") else setting for line in (ca.dir / "ca.yml").read_text().splitlines()
    )
    (ca.dir / "ca.yml").write_text(cfg + "\n")
    before = hashlib.sha256((ca.dir / "crl" / "issuing.crl").read_bytes()).hexdigest()
    for args in (
        ["crl", "--as", str(ca.ops / "alice")],
        ["list", "--as", str(ca.ops / "bob")],
        ["ocsp", "serve", "--port", "0"],
    ):
        r = run_cli("pki", *args, "--ca-dir", str(ca.dir), timeout=30)
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stdout + r.stderr
        assert "ca.yml" in r.stderr and key in r.stderr, r.stderr
    assert hashlib.sha256((ca.dir / "crl" / "issuing.crl").read_bytes()).hexdigest() == before


@pytest.mark.parametrize(
    "head",
    [
        b'{"seq": 9223372036854775807, "hash": "%s", "sig": "00"}' % (b"0" * 64),
        b'{"seq": 1e999, "hash": "x", "sig": "00"}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"seq": ' + b"[" * 1500 + b"]" * 1500 + b"}",
    ],
    ids=["seq 2**63-1", "seq 1e999", "100k deep", "1500 deep"],
)
def test_a_planted_audit_head_is_not_believed(tmp_path, head):
    """A head is believed only once the CA's signature on it verifies; one that is not the CA's stops the CA."""
    ca = new_ca(tmp_path)
    (ca.dir / "audit.head").write_bytes(head)
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
        str(ca.ops / "alice"),
    )
    # not the CA's head: nothing vouches that ca.db is the newest, so nothing is done (nor logged)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "audit.head is damaged or not the CA's" in r.stderr, r.stderr
    assert not list(tmp_path.glob("x.*"))
    r = run_cli("pki", "audit", "verify", "--ca-dir", str(ca.dir), "--as", str(ca.ops / "bob"))
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stdout + r.stderr
    assert "audit.head" in r.stdout, r.stdout
