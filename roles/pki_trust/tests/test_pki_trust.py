"""testinfra: each host trusts the estate's CA chain from its system store (MLPS 2.0 level 3).
An independent check of the role: each installed CA certificate is read back and verified with
openssl against the system store alone, as any TLS client on the host would.

    pytest roles/pki_trust/tests --hosts=ssh://10.91.0.6 --ssh-config=FILE --sudo
"""

import pytest

LOCAL = "/usr/local/share/ca-certificates/jinbao"


@pytest.fixture(scope="module")
def cas(host) -> list[str]:
    return [f"{LOCAL}/{n}" for n in host.file(LOCAL).listdir() if n.endswith(".crt")] if host.file(LOCAL).exists else []


def test_the_estate_root_and_issuing_ca_are_installed(host, cas):
    subjects = [host.check_output(f"openssl x509 -noout -subject -issuer -in {c}") for c in cas]
    roots = [s for s in subjects if s.splitlines()[0].split("=", 1)[1] == s.splitlines()[1].split("=", 1)[1]]
    assert len(cas) >= 2 and len(roots) == 1, subjects


def test_each_is_a_ca_certificate(host, cas):
    for c in cas:
        assert "CA:TRUE" in host.check_output(f"openssl x509 -noout -ext basicConstraints -in {c}"), c


def test_the_system_store_trusts_each(host, cas):
    for c in cas:
        r = host.run(f"openssl verify -no-CAfile -CApath /etc/ssl/certs {c}")
        assert r.rc == 0, r.stdout + r.stderr
