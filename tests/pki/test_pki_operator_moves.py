"""More moves of a hostile operator: requests that ask for more than their profile gives, and a CA database put
back from an earlier copy. Each is refused with exit 2 and a message naming what and why, and changes nothing."""

from __future__ import annotations

import shutil
import sqlite3

import pytest

from pki import profiles
from pki.errors import PkiError
from tests.pki.test_pki import DOMAIN, _openssl, new_ca
from tests.pki.test_pki_review import _cli, _counts, _refused_cleanly, _serial_of


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return new_ca(tmp_path_factory.mktemp("pki"))


ASKS = {
    "CA:TRUE": (["basicConstraints=critical,CA:TRUE"], "basicConstraints CA:TRUE"),
    "signs certificates": (["keyUsage=critical,digitalSignature,keyCertSign"], "keyUsage keyCertSign/cRLSign"),
    "code signing too": (["extendedKeyUsage=serverAuth,codeSigning"], "extendedKeyUsage codeSigning"),
    "any usage": (["extendedKeyUsage=anyExtendedKeyUsage"], "extendedKeyUsage 2.5.29.37.0"),
}


@pytest.mark.parametrize("case", sorted(ASKS))
def test_a_request_for_more_than_the_profile_gives_is_refused(ca, tmp_path, case):
    """Made with openssl req -addext, as someone trying it would: refused, not quietly trimmed, nothing issued."""
    exts, says = ASKS[case]
    key, csr = tmp_path / "k.pem", tmp_path / "r.csr"
    assert _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key)).returncode == 0
    addext = [a for e in exts for a in ("-addext", e)]
    r = _openssl("req", "-new", "-key", str(key), "-subj", "/CN=prov-db1", *addext, "-out", str(csr))
    assert r.returncode == 0, r.stderr
    before = _counts(ca)
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
    _refused_cleanly(r, says, "profile server_tls does not give")
    assert _counts(ca) == before and not list(tmp_path.glob("x.*"))
    # the profile's own usages are fine
    r = _openssl(
        "req",
        "-new",
        "-key",
        str(key),
        "-subj",
        "/CN=prov-db1",
        "-addext",
        "extendedKeyUsage=serverAuth",
        "-addext",
        "basicConstraints=critical,CA:FALSE",
        "-out",
        str(csr),
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
        str(tmp_path / "ok"),
    )
    assert r.returncode == 0, r.stderr
    text = _openssl("x509", "-in", str(tmp_path / "ok.crt"), "-noout", "-text").stdout
    assert "CA:FALSE" in text and "Code Signing" not in text


PROFILE_EDITS = {
    "writable by anyone": (None, "writable by anyone"),
    "signs certificates": (
        ("key_usage: [digital_signature, key_encipherment]", "key_usage: [key_cert_sign]"),
        "CA's own",
    ),
    "a century": (("max_validity_days: 397", "max_validity_days: 36500"), "max_validity_days: from 1 to 825"),
    "an OCSP signer": (("extended_key_usage: [server_auth]", "extended_key_usage: [ocsp_signing]"), "OCSP signer only"),
    "not a mapping": (("", "- a list, not a profile\n"), "must map"),
    "not YAML": (("", "description: [unclosed\n"), "not YAML"),
}


@pytest.mark.parametrize("case", sorted(PROFILE_EDITS))
def test_a_profile_others_could_edit_or_that_grants_too_much_is_not_read(ca, tmp_path, monkeypatch, case):
    """A profile is policy: one anyone may write, or one edited to make a CA, a century-long certificate or a
    second OCSP signer, stops issuance with the file named; nothing is signed."""
    edit, says = PROFILE_EDITS[case]
    folder = tmp_path / "profiles"
    shutil.copytree(profiles.PROFILE_DIR, folder)
    f = folder / "server_tls.yml"
    if edit is None:
        f.chmod(0o666)
    else:
        text = f.read_text()
        assert edit[0] in text
        f.write_text(text.replace(edit[0], edit[1]) if edit[0] else edit[1])
    monkeypatch.setattr(profiles, "PROFILE_DIR", folder)
    profiles.load_profiles.cache_clear()
    try:
        before = _counts(ca)
        with pytest.raises(PkiError) as e:
            ca.ca.issue(ca.officer, "server_tls", device="prov-db1")
        assert str(f) in str(e.value) and says in str(e.value), str(e.value)
        assert _counts(ca) == before
    finally:
        profiles.load_profiles.cache_clear()


def test_a_crl_made_a_symlink_is_not_followed_and_the_revocation_is_published_once_it_goes(ca, tmp_path):
    """crl/issuing.crl replaced by a link to a file of someone else's: the revocation is recorded (it must be),
    the link is not written through, the command says so with exit 2, and once the link is gone the next command
    puts the CRL in place."""
    issued = ca.ca.issue(ca.officer, "server_tls", device="prov-db1")
    victim = tmp_path / "victim"
    victim.write_text("someone else's file")
    crl = ca.dir / "crl" / "issuing.crl"
    saved = crl.read_bytes()
    crl.unlink()
    crl.symlink_to(victim)
    try:
        r = _cli(ca, "alice", "revoke", issued.serial, "--reason", "superseded")
        _refused_cleanly(r, "the change is recorded", "is a symlink")
        assert victim.read_text() == "someone else's file"
        assert ca.ca.show(ca.officer, issued.serial)["revoke_reason"] == "superseded"
    finally:
        crl.unlink()
        crl.write_bytes(saved)
    assert _cli(ca, "alice", "list").returncode == 0
    text = _openssl("crl", "-inform", "DER", "-in", str(crl), "-noout", "-text").stdout
    assert f"Serial Number: {issued.serial.upper()}" in text.replace("Serial Number: 0", "Serial Number: ")
    assert ca.ca.verify_audit(ca.auditor)[1] == []


def test_an_edited_device_column_passes_no_key_to_another_device(ca, tmp_path):
    """prov-app1's certificate relabelled prov-db1 in ca.db (an unsealed column): renewing it would put prov-db1's
    names on prov-app1's key, and the one-key-per-subject check would take the key for prov-db1's own. Both read
    the subject the CA signed instead, and refuse; an auditor sees the edit against the log."""
    key, csr = tmp_path / "app1.key", tmp_path / "app1.csr"
    assert _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key)).returncode == 0
    assert _openssl("req", "-new", "-key", str(key), "-subj", "/CN=prov-app1", "-out", str(csr)).returncode == 0
    r = _cli(
        ca,
        "alice",
        "issue",
        "--profile",
        "server_tls",
        "--device",
        "prov-app1",
        "--csr",
        str(csr),
        "--out",
        str(tmp_path / "app1"),
    )
    assert r.returncode == 0, r.stderr
    serial = _serial_of(tmp_path / "app1.crt")
    db = sqlite3.connect(ca.dir / "ca.db")
    db.execute("UPDATE certs SET device = 'prov-db1' WHERE serial = ?", (serial,))
    db.commit()
    try:
        before = _counts(ca)
        r = _cli(ca, "alice", "renew", serial, "--csr", str(csr), "--out", str(tmp_path / "x1"))
        _refused_cleanly(r, f"names device prov-db1, but the CA signed it for prov-app1.{DOMAIN}")
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
            str(tmp_path / "x2"),
        )
        _refused_cleanly(r, "one key is certified for one subject")
        assert _counts(ca)[0] == before[0] and not list(tmp_path.glob("x*.crt"))
        r = _cli(ca, "bob", "audit", "verify")
        assert r.returncode == 1, r.stdout + r.stderr
        assert f"certificate {serial}: ca.db says subject" in " ".join(r.stdout.split()), r.stdout
        assert "device 'prov-db1', but the CA signed it for" in " ".join(r.stdout.split()), r.stdout
    finally:
        db.execute("UPDATE certs SET device = 'prov-app1' WHERE serial = ?", (serial,))
        db.commit()
        db.close()
    assert _cli(ca, "bob", "audit", "verify").returncode == 0
