"""A compromised key revoked everywhere at once, a CA database made by the previous schema, and a CA killed
between recording a revocation and publishing its CRL. Each judged from outside: openssl and sqlite3 read the
files the CA leaves."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pki.authority import Authority
from pki.store.records import WITH_KEY
from tests.pki.test_pki import _openssl, new_ca
from tests.pki.test_pki_review import _cli, _last_audit, _refused_cleanly, _serial_of
from tests.support import run_cli


@pytest.fixture
def ca(tmp_path):
    return new_ca(tmp_path / "pki")


def _key_and_csr(tmp_path, name, cn):
    """A key and request made with openssl, as on the device."""
    key = tmp_path / f"{name}.key"
    r = _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key))
    assert r.returncode == 0, r.stderr
    csr = tmp_path / f"{name}.csr"
    r = _openssl("req", "-new", "-key", str(key), "-subj", f"/CN={cn}", "-out", str(csr))
    assert r.returncode == 0, r.stderr
    return key, csr


def _issue(ca, tmp_path, name, *args):
    r = _cli(ca, "alice", "issue", *args, "--out", str(tmp_path / name))
    assert r.returncode == 0, r.stderr
    return _serial_of(tmp_path / f"{name}.crt"), tmp_path / f"{name}.crt"


def _crl_serials(ca) -> dict[str, str]:
    """serial -> reason as `openssl crl -text` reads the CRL in place (DER), and the .pem beside it says the same."""
    der = _openssl("crl", "-inform", "DER", "-in", str(ca.dir / "crl" / "issuing.crl"), "-noout", "-text")
    pem = _openssl("crl", "-in", str(ca.dir / "crl" / "issuing.crl.pem"), "-noout", "-text")
    assert der.returncode == 0 and pem.returncode == 0, der.stderr + pem.stderr
    assert der.stdout == pem.stdout
    out, serial = {}, None
    for line in der.stdout.splitlines():
        if m := re.match(r"\s+Serial Number: ([0-9A-F]+)", line):
            serial = m.group(1).lower().lstrip("0")
            out[serial] = "unspecified"
        elif serial and line.strip() in ("Key Compromise", "Superseded", "CA Compromise"):
            out[serial] = line.strip()
    return out


def _db_revoked(ca) -> dict[str, str]:
    db = sqlite3.connect(ca.dir / "ca.db")
    try:
        return dict(db.execute("SELECT serial, revoke_reason FROM certs WHERE revoked_at IS NOT NULL"))
    finally:
        db.close()


def _verify(ca, crt, tmp_path):
    """openssl verify with both CRLs: what a relying party that fetches CRLs concludes."""
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


# -- 1. a compromised key is revoked in every certificate of it -----------------------------------------------


def test_a_compromise_revokes_every_certificate_of_the_key(ca, tmp_path):
    """prov-db1's key serves three certificates (two profiles and a renewal from the same request), one already
    revoked as superseded. Revoking one of them for key_compromise revokes the others in the same transaction,
    raises the superseded one, logs each, and says which; a certificate of another key is left alone."""
    _, csr = _key_and_csr(tmp_path, "db1", "prov-db1")
    first, first_crt = _issue(ca, tmp_path, "tls", "--profile", "server_tls", "--device", "prov-db1", "--csr", str(csr))
    client, client_crt = _issue(
        ca, tmp_path, "cli", "--profile", "client_tls", "--device", "prov-db1", "--csr", str(csr)
    )
    r = _cli(ca, "alice", "renew", first, "--csr", str(csr), "--out", str(tmp_path / "tls2"))
    assert r.returncode == 0, r.stderr
    renewed = _serial_of(tmp_path / "tls2.crt")
    old, _ = _issue(ca, tmp_path, "old", "--profile", "server_tls", "--device", "prov-db1", "--csr", str(csr))
    assert _cli(ca, "alice", "revoke", old, "--reason", "superseded").returncode == 0
    other, other_crt = _issue(ca, tmp_path, "other", "--profile", "server_tls", "--device", "prov-db1")
    for crt in (client_crt, tmp_path / "tls2.crt", other_crt):
        assert _verify(ca, crt, tmp_path).returncode == 0

    r = _cli(ca, "alice", "revoke", client, "--reason", "key_compromise")
    assert r.returncode == 0, r.stderr
    for serial in (first, renewed, old):
        assert re.search(rf"also revoked {serial} \(prov-db1\), a certificate of the same key", r.stdout), r.stdout
    assert other not in r.stdout

    revoked = _db_revoked(ca)
    assert {s: revoked.get(s) for s in (client, first, renewed, old)} == dict.fromkeys(
        (client, first, renewed, old), "key_compromise"
    )
    assert other not in revoked
    crl = _crl_serials(ca)
    assert {s: crl.get(s) for s in (client, first, renewed, old)} == dict.fromkeys(
        (client, first, renewed, old), "Key Compromise"
    )
    for crt in (first_crt, client_crt, tmp_path / "tls2.crt"):
        v = _verify(ca, crt, tmp_path)
        assert v.returncode != 0 and "certificate revoked" in v.stdout + v.stderr, v.stdout + v.stderr
    assert _verify(ca, other_crt, tmp_path).returncode == 0

    db = sqlite3.connect(ca.dir / "ca.db")
    entries = [json.loads(d) for (d,) in db.execute("SELECT detail FROM audit WHERE action = 'revoke' ORDER BY seq")]
    db.close()
    by_serial = {e["serial"]: e for e in entries}
    assert by_serial[client]["reason"] == "key_compromise" and "same_key_as" not in by_serial[client]
    for s in (first, renewed):
        assert (by_serial[s]["reason"], by_serial[s]["same_key_as"]) == ("key_compromise", client)
    assert by_serial[old]["was"] == "superseded" and by_serial[old]["same_key_as"] == client
    assert ca.ca.verify_audit(ca.auditor)[1] == []


def test_a_routine_revocation_leaves_the_other_certificates_of_the_key(ca, tmp_path):
    _, csr = _key_and_csr(tmp_path, "db1", "prov-db1")
    a, _ = _issue(ca, tmp_path, "a", "--profile", "server_tls", "--device", "prov-db1", "--csr", str(csr))
    b, _ = _issue(ca, tmp_path, "b", "--profile", "client_tls", "--device", "prov-db1", "--csr", str(csr))
    r = _cli(ca, "alice", "revoke", a, "--reason", "superseded")
    assert r.returncode == 0 and "also revoked" not in r.stdout, r.stdout
    assert b not in _db_revoked(ca) and b not in _crl_serials(ca)


def test_an_operator_credentials_key_compromise_revokes_its_whole_line(ca, tmp_path):
    """An operator renewed with the same key (step-ca's renew): the administrator revokes the older credential for
    key_compromise, and the current one, of the same key, goes with it: the operator acts no more."""
    csr = tmp_path / "alice.csr"
    assert (
        _openssl("req", "-new", "-key", str(ca.ops / "alice.key"), "-subj", "/CN=alice", "-out", str(csr)).returncode
        == 0
    )
    old = _serial_of(ca.ops / "alice.crt")
    r = _cli(ca, "alice", "renew", old, "--csr", str(csr), "--out", str(tmp_path / "alice2"))
    assert r.returncode == 0, r.stderr
    new = _serial_of(tmp_path / "alice2.crt")
    r = _cli(ca, "admin", "revoke", old, "--reason", "key_compromise")
    assert r.returncode == 0, r.stderr
    assert f"also revoked {new} (alice)" in r.stdout, r.stdout
    (tmp_path / "alice2.key").write_bytes((ca.ops / "alice.key").read_bytes())
    (tmp_path / "alice2.key").chmod(0o600)
    r = run_cli("pki", "list", "--ca-dir", str(ca.dir), "--as", str(tmp_path / "alice2"))
    _refused_cleanly(r, f"operator certificate {new} is revoked")


# -- 2. the key index, and a CA database made before it ---------------------------------------------------------

# The previous code's schema (jinbao b6a09bf, pki/store/schema.py), verbatim: the CA database it made.
OLD_SCHEMA = """
CREATE TABLE IF NOT EXISTS certs (
  serial TEXT PRIMARY KEY,            -- hex, lower case
  profile TEXT NOT NULL,
  subject TEXT NOT NULL,
  device TEXT, site TEXT,
  not_before REAL NOT NULL, not_after REAL NOT NULL,
  fingerprint TEXT NOT NULL UNIQUE,   -- sha256 of the DER
  pem TEXT NOT NULL,
  issued_by TEXT NOT NULL,
  revoked_at REAL, revoke_reason TEXT,
  renewed_from TEXT
);
CREATE INDEX IF NOT EXISTS certs_not_after ON certs(not_after);
-- what seal.py digests, in its order, without a pass over every certificate
CREATE INDEX IF NOT EXISTS certs_revoked ON certs(serial) WHERE revoked_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS certs_own ON certs(serial) WHERE profile IN ('operator', 'ocsp_signer');
CREATE TABLE IF NOT EXISTS operators (
  name TEXT PRIMARY KEY,
  role TEXT NOT NULL CHECK (role IN ('ca_admin', 'officer', 'auditor')),
  serial TEXT NOT NULL REFERENCES certs(serial)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY,
  ts REAL NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  detail TEXT NOT NULL,
  prev TEXT NOT NULL,
  hash TEXT NOT NULL,
  sig BLOB NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""
OLD_COLUMNS = (
    "serial, profile, subject, device, site, not_before, not_after, fingerprint, pem, issued_by, revoked_at, "
    "revoke_reason, renewed_from"
)
# The previous code's seal (pki/store/seal.py at b6a09bf): these groups, this body, signed by the issuing key.
OLD_FACTS = {
    "operators": "SELECT name, role, serial FROM operators ORDER BY name",
    "own": "SELECT serial, profile, fingerprint, revoked_at, revoke_reason, renewed_from FROM certs "
    "WHERE profile IN ('operator', 'ocsp_signer') ORDER BY serial",
    "revoked": "SELECT serial, revoked_at, revoke_reason FROM certs WHERE revoked_at IS NOT NULL ORDER BY serial",
    "counters": "SELECT key, value FROM meta WHERE key != 'seal' ORDER BY key",
}


def _as_previous_code_left_it(ca_dir):
    """Rebuild ca.db as the previous code made it: its schema (no key column), the same rows, and its seal."""
    old = ca_dir / "old.db"
    db = sqlite3.connect(old)
    db.executescript(OLD_SCHEMA)
    db.execute("ATTACH DATABASE ? AS cur", (str(ca_dir / "ca.db"),))
    db.execute(f"INSERT INTO certs ({OLD_COLUMNS}) SELECT {OLD_COLUMNS} FROM cur.certs")
    db.execute("INSERT INTO operators SELECT name, role, serial FROM cur.operators")
    db.execute("INSERT INTO meta SELECT key, value FROM cur.meta WHERE key != 'seal'")
    db.execute("INSERT INTO audit SELECT * FROM cur.audit")
    db.commit()
    db.execute("DETACH DATABASE cur")
    digests = {}
    for name, sql in OLD_FACTS.items():
        text = "".join("\x1f".join(map(str, row)) + "\n" for row in db.execute(sql))
        digests[name] = hashlib.sha256(text.encode()).hexdigest()
    seq, h = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    body = f"jinbao seal {seq} {h} {json.dumps(digests, sort_keys=True, separators=(',', ':'))}".encode()
    key = serialization.load_pem_private_key((ca_dir / "issuing" / "issuing.key").read_bytes(), None)
    sig = key.sign(body, ec.ECDSA(hashes.SHA384()))
    db.execute(
        "INSERT INTO meta VALUES ('seal', ?)",
        (json.dumps({"seq": seq, "hash": h, "digests": digests, "sig": sig.hex()}),),
    )
    db.commit()
    db.close()
    for suffix in ("", "-wal", "-shm"):
        (ca_dir / f"ca.db{suffix}").unlink(missing_ok=True)
    old.rename(ca_dir / "ca.db")
    (ca_dir / "ca.db").chmod(0o600)


def _columns(ca_dir):
    db = sqlite3.connect(ca_dir / "ca.db")
    try:
        return [r[1] for r in db.execute("PRAGMA table_info(certs)")]
    finally:
        db.close()


def test_a_ca_made_by_the_previous_schema_keeps_working_and_gains_the_key_index(ca, tmp_path):
    """A CA with certificates, a compromised key and a shared key, as the previous code left its database: it
    opens, reads, gains key_sha256 (filled from every PEM) at its first write, and then refuses and cascades by
    the index exactly as a new CA does."""
    _, csr = _key_and_csr(tmp_path, "db1", "prov-db1")
    _, bad_csr = _key_and_csr(tmp_path, "bad", "prov-app1")
    a, a_crt = _issue(ca, tmp_path, "a", "--profile", "server_tls", "--device", "prov-db1", "--csr", str(csr))
    b, b_crt = _issue(ca, tmp_path, "b", "--profile", "client_tls", "--device", "prov-db1", "--csr", str(csr))
    bad, _ = _issue(ca, tmp_path, "bad", "--profile", "server_tls", "--device", "prov-app1", "--csr", str(bad_csr))
    # a compromise the old code recorded: only that one certificate, as it did
    assert _cli(ca, "alice", "revoke", bad, "--reason", "key_compromise").returncode == 0
    _as_previous_code_left_it(ca.dir)
    assert "key_sha256" not in _columns(ca.dir)

    r = _cli(ca, "bob", "audit", "verify")  # an auditor reads it as it is, and finds it intact
    assert r.returncode == 0, r.stdout + r.stderr
    assert "key_sha256" not in _columns(ca.dir)  # reading migrates nothing
    r = _cli(ca, "alice", "list", "--json")
    assert r.returncode == 0, r.stderr
    listed = {c["serial"]: c["key_sha256"] for c in json.loads(r.stdout)}
    assert listed[a] == listed[b] != listed[bad]

    # the first write migrates; refusals and the cascade then work from the index
    _refused_cleanly(
        _cli(
            ca,
            "alice",
            "issue",
            "--profile",
            "server_tls",
            "--device",
            "prov-app1",
            "--csr",
            str(bad_csr),
            "--out",
            str(tmp_path / "x1"),
        ),
        f"the key of certificate {bad}, revoked for key_compromise",
    )
    assert "key_sha256" in _columns(ca.dir)
    _refused_cleanly(
        _cli(
            ca,
            "alice",
            "issue",
            "--profile",
            "server_tls",
            "--device",
            "prov-mon1",
            "--csr",
            str(csr),
            "--out",
            str(tmp_path / "x2"),
        ),
        "one key is certified for one subject",
    )
    r = _cli(ca, "alice", "revoke", a, "--reason", "key_compromise")
    assert r.returncode == 0 and f"also revoked {b}" in r.stdout, r.stdout + r.stderr
    v = _verify(ca, b_crt, tmp_path)
    assert v.returncode != 0 and "certificate revoked" in v.stdout + v.stderr
    new, new_crt = _issue(ca, tmp_path, "new", "--profile", "server_tls", "--device", "prov-db1")
    assert _verify(ca, new_crt, tmp_path).returncode == 0

    db = sqlite3.connect(ca.dir / "ca.db")
    try:
        keys = dict(db.execute("SELECT serial, key_sha256 FROM certs"))
        plan = " ".join(str(r) for r in db.execute(f"EXPLAIN QUERY PLAN {WITH_KEY}", ("x",)))
        seal = json.loads(db.execute("SELECT value FROM meta WHERE key = 'seal'").fetchone()[0])
    finally:
        db.close()
    # filled from each PEM: what openssl says the certificate's key is
    for serial, crt in ((a, a_crt), (b, b_crt), (new, new_crt)):
        der = _openssl("x509", "-in", str(crt), "-noout", "-pubkey").stdout
        spki = serialization.load_pem_public_key(der.encode()).public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        assert keys[serial] == hashlib.sha256(spki).hexdigest(), serial
    assert all(keys.values())
    assert "SEARCH c USING INDEX certs_key" in plan and "SCAN c" not in plan, plan
    assert seal.get("v") == 2  # the keys the refusals look up are sealed from now on
    assert Authority(ca.dir).verify_audit(ca.auditor)[1] == []


def test_an_edited_key_column_stops_the_ca(ca, tmp_path):
    """Whoever edits ca.db to hide a compromised key from the index (its key_sha256 changed) gets a CA that does
    nothing, not one that certifies the key again."""
    _, csr = _key_and_csr(tmp_path, "db1", "prov-db1")
    a, _ = _issue(ca, tmp_path, "a", "--profile", "server_tls", "--device", "prov-db1", "--csr", str(csr))
    assert _cli(ca, "alice", "revoke", a, "--reason", "key_compromise").returncode == 0
    for value in ("'0000'", "NULL"):
        db = sqlite3.connect(ca.dir / "ca.db")
        saved = db.execute("SELECT key_sha256 FROM certs WHERE serial = ?", (a,)).fetchone()[0]
        db.execute(f"UPDATE certs SET key_sha256 = {value} WHERE serial = ?", (a,))
        db.commit()
        db.close()
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
        _refused_cleanly(r, "revocations in ca.db are not what the CA sealed")
        assert not list(tmp_path.glob("x.*"))
        db = sqlite3.connect(ca.dir / "ca.db")
        db.execute("UPDATE certs SET key_sha256 = ? WHERE serial = ?", (saved, a))
        db.commit()
        db.close()
    assert _last_audit(ca)[1] == "denied"


# -- 4. killed between the commit and the CRL ----------------------------------------------------------------


@pytest.mark.parametrize("fault", ["before_commit", "after_commit", "crl_staged"])
def test_a_revocation_killed_at_any_point_leaves_crl_and_database_consistent(ca, tmp_path, fault):
    """`kill -9` (SIGKILL from inside, at a fault point only tests set) before the commit, between the commit and
    the CRL, and between the CRL's .pem and its DER: the CRL in place never lists what ca.db does not, and the
    next command of any operator leaves them equal."""
    serial, crt = _issue(ca, tmp_path, "a", "--profile", "server_tls", "--device", "prov-db1")
    number_before = _crl_number(ca)
    r = _cli(ca, "alice", "revoke", serial, "--reason", "key_compromise", env={"JINBAO_PKI_FAULT": fault})
    assert r.returncode == -9, (r.returncode, r.stdout, r.stderr)

    in_db, in_crl = _db_revoked(ca), _crl_serials_der(ca)
    assert set(in_crl) <= set(in_db), (in_crl, in_db)  # never a revocation the database lacks
    committed = fault != "before_commit"
    assert (serial in in_db) == committed
    assert serial not in in_crl and _crl_number(ca) == number_before  # nothing in place yet, whatever the point

    r = _cli(ca, "alice", "list")  # any operator's next command finishes or undoes what was staged
    assert r.returncode == 0, r.stderr
    assert not list((ca.dir / "crl").glob(".*.staged"))
    assert _crl_serials(ca).keys() == _db_revoked(ca).keys()
    v = _verify(ca, crt, tmp_path)
    assert (v.returncode != 0) == committed, v.stdout + v.stderr
    # the head written just before a commit that never came still agrees with ca.db: a killed CA is not a rollback
    assert ca.ca.verify_audit(ca.auditor)[1] == []
    ca.ca.issue(ca.officer, "server_tls", device="prov-app1")  # and the CA carries on
    assert ca.ca.verify_audit(ca.auditor)[1] == []


def _crl_number(ca) -> int:
    crl = x509.load_der_x509_crl((ca.dir / "crl" / "issuing.crl").read_bytes())
    return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number


def _crl_serials_der(ca) -> set[str]:
    r = _openssl("crl", "-inform", "DER", "-in", str(ca.dir / "crl" / "issuing.crl"), "-noout", "-text")
    return {m.lower().lstrip("0") for m in re.findall(r"Serial Number: ([0-9A-F]+)", r.stdout)}
