"""testinfra: each host has the estate's common baseline (MLPS 2.0 level 3).

An independent check of the role: what each host should have is read from the estate itself (the
device whose management address the host answers on, the estate's management plane), not from
the role's variables, and each setting is read from the host.

    JINBAO_ESTATE=lab pytest roles/common/tests --hosts=ssh://10.91.0.6 --ssh-config=FILE --sudo

Administrator passwords are checked against the referenced secret (env:/file:/vault:, resolved
here); no value is ever printed, only whether the host's hash matches it.
"""

from __future__ import annotations

import os
import re

import pytest
from passlib.hash import sha512_crypt

from jinbao.estate import load_estate
from jinbao.secrets import resolve

ROLE_GROUP = {"system": "jinbao-system", "security": "jinbao-security", "audit": "jinbao-audit"}


@pytest.fixture(scope="module")
def estate():
    return load_estate(os.environ.get("JINBAO_ESTATE", "lab"))


@pytest.fixture(scope="module")
def device(host, estate):
    addr = host.backend.hostname
    found = [d for d in estate.devices.values() if str(d.mgmt_ip) == addr]
    assert found, f"no device of the estate has management address {addr}"
    return found[0]


@pytest.fixture(scope="module")
def mp(estate):
    assert estate.management_plane is not None, "the estate has no management plane"
    return estate.management_plane


def _last_setting(text: str, key: str) -> str | None:
    values = re.findall(rf"^\s*{key}=(.*)$", text, re.M)
    return values[-1].strip() if values else None


def test_hostname_is_the_device_name(host, device):
    assert host.check_output("hostname") == device.name
    assert host.file("/etc/hostname").content_string.strip() == device.name


def test_own_names_resolve_locally(host, device):
    assert re.search(
        rf"^127\.0\.1\.1\s+{re.escape(device.fqdn)}\s+{device.name}\s*$", host.file("/etc/hosts").content_string, re.M
    )


def test_time_sync_follows_only_the_management_ntp_servers(host, estate, mp):
    conf = host.run("cat /etc/systemd/timesyncd.conf /etc/systemd/timesyncd.conf.d/*.conf").stdout
    wanted = {str(estate.devices[n].mgmt_ip) for n in mp.ntp}
    assert set((_last_setting(conf, "NTP") or "").split()) == wanted
    assert _last_setting(conf, "FallbackNTP") == ""


def test_rsyslog_configuration_is_valid(host):
    assert host.package("rsyslog").is_installed
    r = host.run("/usr/sbin/rsyslogd -N1")
    assert r.rc == 0, r.stderr


def test_logs_are_forwarded_to_every_collector(host, estate, mp):
    conf = host.run("cat /etc/rsyslog.conf /etc/rsyslog.d/*.conf").stdout
    targets = set(re.findall(r'^\s*\*\.\*\s+action\(type="omfwd"\s+target="([^"]+)"', conf, re.M))
    assert targets >= {str(estate.devices[n].mgmt_ip) for n in mp.syslog}


def test_each_administrator_is_in_the_group_of_its_role(host, mp):
    for u in mp.users:
        user = host.user(u.name)
        assert user.exists, u.name
        assert user.group == ROLE_GROUP[u.role], u.name


def test_each_administrator_password_is_the_referenced_secret(host, mp):
    for u in mp.users:
        fields = host.check_output(f"getent shadow {u.name}").split(":")
        hashed = fields[1]
        assert hashed.startswith("$6$"), f"{u.name}: not a SHA-512 crypt hash"
        assert sha512_crypt.verify(resolve(u.password.ref), hashed), f"{u.name}: the hash is not of {u.password.ref}"


def test_sudo_rules_follow_the_administrator_role(host, mp):
    for u in mp.users:
        rules = host.check_output(f"sudo -l -U {u.name}")
        allowed = rules.split("may run the following commands", 1)[-1]
        if u.role == "system":
            assert re.search(r"\(root\) ALL\s*$", allowed, re.M), (u.name, allowed)
        else:
            assert not re.search(r"\bALL\s*$", allowed, re.M), (u.name, allowed)
            assert "NOPASSWD" not in allowed, (u.name, allowed)
    audit = [u for u in mp.users if u.role == "audit"]
    for u in audit:
        assert "/usr/sbin/ausearch" in host.check_output(f"sudo -l -U {u.name}")


def test_banner_is_shown_before_login_over_ssh(host, mp):
    sshd = dict(line.split(" ", 1) for line in host.check_output("/usr/sbin/sshd -T").splitlines() if " " in line)
    assert sshd["banner"] == "/etc/issue.net"
    assert host.file("/etc/issue.net").content_string.strip() == mp.banner


def test_banner_is_shown_after_login(host, mp):
    for path in ("/etc/issue", "/etc/motd"):
        assert host.file(path).content_string.strip() == mp.banner, path
