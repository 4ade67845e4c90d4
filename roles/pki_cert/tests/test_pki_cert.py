"""testinfra: each host holds its own certificate from the estate's CA, with its key kept private
(MLPS 2.0 level 3). An independent check of the role: the pair is read back and checked with
openssl against the host's system trust store (pki_trust), not against the role's files.

    pytest roles/pki_cert/tests --hosts=ssh://10.91.0.6 --ssh-config=FILE --sudo
"""

CERT = "/etc/ssl/jinbao/host.crt"
KEY = "/etc/ssl/jinbao/private/jinbao-host.key"
RENEW_DAYS = 30


def test_the_certificate_verifies_for_tls_servers_against_the_system_store(host):
    r = host.run(f"openssl verify -no-CAfile -CApath /etc/ssl/certs -purpose sslserver {CERT}")
    assert r.rc == 0, r.stdout + r.stderr


def test_the_certificate_names_the_host(host):
    san = host.check_output(f"openssl x509 -noout -ext subjectAltName -in {CERT}")
    assert f"DNS:{host.check_output('hostname')}." in san


def test_the_certificate_is_not_within_30_days_of_its_end(host):
    assert host.run(f"openssl x509 -noout -checkend {RENEW_DAYS * 86400} -in {CERT}").rc == 0


def test_the_key_is_the_certificates(host):
    cert = host.check_output(f"openssl x509 -noout -pubkey -in {CERT}")
    key = host.check_output(f"openssl pkey -pubout -in {KEY}")
    assert cert == key


def test_the_key_is_readable_by_root_and_its_group_only(host):
    f = host.file(KEY)
    assert f.user == "root" and f.mode & 0o037 == 0, oct(f.mode)
