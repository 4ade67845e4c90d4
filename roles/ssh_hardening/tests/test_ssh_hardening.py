"""testinfra: the OpenSSH server of each host meets the estate's SSH policy (MLPS 2.0 level 3).

An independent check of the role: the policy is written out here, not read from the role's
defaults, and each setting is read from `sshd -T` (the configuration sshd itself would run with,
first value wins), so a setting the role missed or a later hand edit fails exactly its own test.

Run against hosts over SSH with sudo, e.g. from a lab's operator seat (lab/automation.py):
    pytest roles/ssh_hardening/tests --hosts=ssh://10.91.0.6 --ssh-config=FILE --sudo
"""

import pytest

CIPHERS = {
    "chacha20-poly1305@openssh.com",
    "aes256-gcm@openssh.com",
    "aes128-gcm@openssh.com",
    "aes256-ctr",
    "aes192-ctr",
    "aes128-ctr",
}
KEX = {
    "sntrup761x25519-sha512@openssh.com",
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512",
    "diffie-hellman-group-exchange-sha256",
}
MACS = {"hmac-sha2-512-etm@openssh.com", "hmac-sha2-256-etm@openssh.com", "umac-128-etm@openssh.com"}


@pytest.fixture(scope="module")
def sshd(host) -> dict[str, str]:
    out = host.check_output("/usr/sbin/sshd -T")
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


def test_password_authentication_is_off(sshd):
    assert sshd["passwordauthentication"] == "no"


def test_keyboard_interactive_authentication_is_off(sshd):
    assert sshd["kbdinteractiveauthentication"] == "no"


def test_empty_passwords_are_refused(sshd):
    assert sshd["permitemptypasswords"] == "no"


def test_root_cannot_log_in(sshd):
    assert sshd["permitrootlogin"] == "no"


def test_failed_authentications_per_connection_are_at_most_3(sshd):
    assert 0 < int(sshd["maxauthtries"]) <= 3


def test_idle_sessions_are_closed_within_15_minutes(sshd):
    interval, count = int(sshd["clientaliveinterval"]), int(sshd["clientalivecountmax"])
    assert interval > 0 and count > 0 and interval * count <= 900


def test_x11_forwarding_is_off(sshd):
    assert sshd["x11forwarding"] == "no"


def test_only_approved_ciphers(sshd):
    assert set(sshd["ciphers"].split(",")) <= CIPHERS


def test_only_approved_key_exchanges(sshd):
    assert set(sshd["kexalgorithms"].split(",")) <= KEX


def test_only_approved_macs(sshd):
    assert set(sshd["macs"].split(",")) <= MACS
