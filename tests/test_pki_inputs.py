"""Odd input to every `jinbao pki` subcommand ends in a clean message and exit 2, never a traceback,
and changes nothing: no certificate, no audit entry, no file."""
from __future__ import annotations

import hashlib
import shutil
import sqlite3

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from conftest import run_cli
from pki.der import tlv
from test_pki import DOMAIN
from test_pki import new_ca

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
    .sign(rsa.generate_private_key(3, 3072), hashes.SHA256()).public_bytes(serialization.Encoding.PEM),
    "escape.csr": _raw_csr([_ext(SAN, tlv(0x30, tlv(0x82, b"\x1b]0;owned\x07x." + DOMAIN.encode())))]),
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
    "out name too long": (["issue", "--as", "alice", "--profile", "server_tls", "--device", "prov-db1",
                           "--out", "TMP/" + LONG], "--out"),
    "crl if-due nan": (["crl", "--as", "alice", "--if-due", "nan"], "--if-due"),
    "crl if-due inf": (["crl", "--as", "alice", "--if-due", "inf"], "--if-due"),
    "crl if-due negative": (["crl", "--as", "alice", "--if-due", "-1"], "--if-due"),
    "crl if-due huge": (["crl", "--as", "alice", "--if-due", "9" * 30], "--if-due"),
    "crl root pass file missing": (["crl", "--as", "admin", "--root", "--root-pass-file", "TMP/none"], "TMP/none"),
    "expiring negative": (["expiring", "--as", "bob", "--days", "-1"], "--days"),
    "expiring huge": (["expiring", "--as", "bob", "--days", "9" * 30], "--days"),
    "operator name empty": (["operator", "add", "--as", "admin", "", "--role", "officer", "--out", "OUT"], "name"),
    "operator name newline": (["operator", "add", "--as", "admin", "eve\nadmin", "--role", "officer", "--out", "OUT"],
                              "name"),
    "operator name case lookalike": (["operator", "add", "--as", "admin", "Alice", "--role", "auditor", "--out", "OUT"],
                                     "alice"),
    "operator name unicode lookalike": (["operator", "add", "--as", "admin", "аlice", "--role", "auditor",  # Cyrillic а
                                         "--out", "OUT"], "name"),
    "operator name too long": (["operator", "add", "--as", "admin", LONG, "--role", "officer", "--out", "OUT"], "name"),
    "revoke a non-serial": (["revoke", "--as", "alice", "not-a-serial"], "serial"),
    "revoke an empty serial": (["revoke", "--as", "alice", ""], "serial"),
    "show a huge serial": (["show", "--as", "bob", "f" * 300], "serial"),
    "ocsp port out of range": (["ocsp", "serve", "--port", "70000"], "--port"),
    "ocsp port negative": (["ocsp", "serve", "--port", "-1"], "--port"),
    "ocsp host unknown": (["ocsp", "serve", "--host", "no.such.host.invalid", "--port", "0"], "--host"),
    "deploy port out of range": (["deploy", "--as", "alice", "--cert", "TMP/dup.csr", "--key", "TMP/dup.csr",
                                  "--lab", "x", "--node", "x", "--serve-port", "70000"], "--serve-port"),
    # classes found by fuzzing the CLI
    "rich markup in a device name": (["issue", "--as", "alice", "--profile", "server_tls", "--device", "[/]", "--out",
                                      "OUT"], "no device '[/]'"),
    "rich markup in a profile name": (["issue", "--as", "alice", "--profile", "[bold]x[/bold]", "--device", "prov-db1",
                                       "--out", "OUT"], "[bold]x[/bold]"),
    "operator name the log uses for the CA": (["operator", "add", "--as", "admin", "root", "--role", "ca_admin",
                                               "--out", "OUT"], "operator name 'root'"),
    "recover an admin named like the CA": (["operator", "recover-admin", "Init", "--out", "OUT", "--root-pass-file",
                                            "TMP/root.pass"], "operator name 'Init'"),
    "csr with an rsa exponent of 3": (ISSUE + ["--csr", "TMP/rsa-e3.csr"], "rsa-3072-e3"),
    "csr with terminal escapes in a name": (ISSUE + ["--csr", "TMP/escape.csr"], "\\x1b]0;owned"),
    "certificate_hold": (["revoke", "--as", "alice", "SERIAL", "--reason", "certificate_hold"], "--reason"),
    "init over a file": (["init", "--ca-dir", "TMP/dup.csr", "--estate", "lab", "--root-pass-file", "TMP/root.pass"],
                         "dup.csr"),
    "init with an estate name too long": (["init", "--ca-dir", "TMP/newca", "--estate", LONG, "--root-pass-file",
                                           "TMP/root.pass"], "no estate named"),
    "deploy cert missing": (["deploy", "--as", "alice", "--cert", "TMP/none.crt", "--key", "TMP/none.key", "--lab", "x",
                             "--node", "x"], "none.crt"),
}


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    c = new_ca(tmp_path_factory.mktemp("inputs"))
    c.tmp = tmp_path_factory.mktemp("inputs-files")
    for name, data in CSRS.items():
        (c.tmp / name).write_bytes(data)
    (c.tmp / "root.pass").write_text("jinbao-test root passphrase")
    c.serial = c.ca.issue(c.officer, "server_tls", device="prov-db1").serial
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
    for i, x in enumerate(args):
        if i and args[i - 1] == "--as":
            x = str(ca.ops / x)
        a.append(str(out) if x == "OUT" else ca.serial if x == "SERIAL" else x.replace("TMP/", f"{ca.tmp}/"))
    cmd = a[:2] if a[0] in ("operator", "ocsp", "audit") else a[:1]
    return ["pki", *cmd, *a[len(cmd):], *(["--ca-dir", str(ca.dir)] if "--ca-dir" not in a else [])]


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
    r = run_cli("pki", "issue", "--ca-dir", str(ca.dir), "--as", str(ca.ops / "alice"), "--profile", "person_auth",
                "--person", "[/] [bold]Zhang", "--email", EMAIL, "--out", str(tmp_path / "p"))
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
    for i, (damage, data) in enumerate([("ca.yml", b"\x00garbage: ["), ("ca.yml", b"estate: lab\n"),
                                        ("ca.db", b"\x00garbage: ["), ("ca.db", empty_db.read_bytes()),
                                        ("issuing/issuing.crt", b"\x00garbage: [")]):
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
