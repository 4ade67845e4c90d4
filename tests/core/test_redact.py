"""Secret values in device and server text are redacted, and only they: one case per secret-bearing
construct of FRR, IOS, VRP, Comware, net-snmp and the servers' files, each checked with many
random secrets (the line must come out exactly as its template with `<redacted>` in the secret's
place: the secret is gone, every keyword, user, view and address is kept)."""

from __future__ import annotations

import random
import string
import subprocess
from urllib.parse import quote

import pytest

from jinbao.redact import REDACTED, Redactor, redact

# (platform, template): {k} and {k2} are the secrets; every other word must survive as it is.
CONSTRUCTS = [
    # FRR
    ("frr", " ip ospf authentication-key {k}"),
    ("frr", " ip ospf message-digest-key 1 md5 {k}"),
    ("frr", " ipv6 ospf6 authentication key-id 1 hash-algo hmac-sha-256 key {k}"),
    ("frr", " neighbor 10.0.0.2 password {k}"),
    ("frr", " isis password md5 {k}"),
    ("frr", " area-password md5 {k} authenticate snp validate"),
    ("frr", " domain-password clear {k}"),
    ("frr", " ip rip authentication string {k}"),
    ("frr", "  key-string {k}"),
    ("frr", "password {k}"),
    ("frr", "enable password {k}"),
    # Cisco IOS / IOS-XE
    ("cisco_ios", "enable secret 9 {k}"),
    ("cisco_ios", "enable secret level 15 5 {k}"),
    ("cisco_ios", "enable password level 15 {k}"),
    ("cisco_ios", "enable password 7 {k}"),
    ("cisco_ios", "username netadmin privilege 15 algorithm-type scrypt secret {k}"),
    ("cisco_ios", "username bob privilege 1 password 0 {k}"),
    ("cisco_ios", "username carol secret 9 {k}"),
    ("cisco_ios", " password 7 {k}"),
    ("cisco_ios", " ip ospf authentication-key 7 {k}"),
    ("cisco_ios", " ip ospf message-digest-key 1 md5 7 {k}"),
    ("cisco_ios", "  key-string 7 {k}"),
    ("cisco_ios", "ntp authentication-key 1 md5 {k} 7"),
    ("cisco_ios", "snmp-server community {k} RO 10"),
    ("cisco_ios", "snmp-server community {k} view iso-view RW"),
    ("cisco_ios", "snmp-server host 10.1.1.1 {k}"),
    ("cisco_ios", "snmp-server host 10.1.1.1 traps {k}"),
    ("cisco_ios", "snmp-server host 10.1.1.1 version 2c {k} udp-port 162"),
    ("cisco_ios", "snmp-server host 10.1.1.1 informs version 2c {k}"),
    ("cisco_ios", "snmp-server host 10.1.1.1 version 1 {k}"),
    # IOS-XE names the VRF before the community (oxidized's recorded C9200L): the VRF is no secret
    ("cisco_ios", "snmp-server host 10.42.0.35 vrf Mgmt-vrf informs version 2c {k}  tty vtp"),
    ("cisco_ios", "snmp-server user jinbao-mon jinbao-mon v3 auth sha {k} priv aes 128 {k2} access VTY-MGMT"),
    ("cisco_ios", "snmp-server user jinbao-mon jinbao-mon v3 auth sha-2 256 {k} priv aes 256 {k2} access VTY-MGMT"),
    ("cisco_ios", "snmp-server user u g v3 encrypted auth md5 {k} priv 3des {k2}"),
    ("cisco_ios", "tacacs-server key 7 {k}"),
    ("cisco_ios", "tacacs-server host 10.0.0.5 key {k}"),
    ("cisco_ios", "radius-server host 10.0.0.6 auth-port 1812 acct-port 1813 key 7 {k}"),
    ("cisco_ios", "radius-server key {k}"),
    ("cisco_ios", " key 7 {k}"),
    ("cisco_ios", "crypto isakmp key {k} address 10.0.0.9"),
    ("cisco_ios", " pre-shared-key address 10.0.0.9 key {k}"),
    ("cisco_ios", " standby 1 authentication {k}"),
    ("cisco_ios", " standby 1 authentication md5 key-string {k}"),
    # Huawei VRP
    ("huawei_vrp", " local-user netadmin password irreversible-cipher {k}"),
    ("huawei_vrp", " local-user bob password cipher {k}"),
    ("huawei_vrp", "snmp-agent community read cipher {k} mib-view iso-view acl 2000"),
    ("huawei_vrp", "snmp-agent community write {k}"),
    ("huawei_vrp", "snmp-agent usm-user v3 jinbao-mon authentication-mode sha2-256 cipher {k}"),
    ("huawei_vrp", "snmp-agent usm-user v3 jinbao-mon privacy-mode aes128 cipher {k}"),
    ("huawei_vrp", "snmp-agent usm-user v3 u authentication-mode sha {k} privacy-mode aes128 {k2}"),
    ("huawei_vrp", "snmp-agent target-host trap address udp-domain 10.0.0.1 params securityname {k} v2c"),
    ("huawei_vrp", "snmp-agent target-host trap address udp-domain 10.0.0.1 params securityname {k}"),
    (
        "huawei_vrp",
        "snmp-agent target-host trap address udp-domain 10.0.0.1 udp-port 162 params securityname cipher {k} "
        "v2c private-netmanager",
    ),
    ("huawei_vrp", " ospf authentication-mode md5 1 cipher {k}"),
    ("huawei_vrp", " ospf authentication-mode simple plain {k}"),
    ("huawei_vrp", " ospf authentication-mode simple {k}"),
    ("huawei_vrp", " ospf authentication-mode hmac-sha256 1 cipher {k}"),
    ("huawei_vrp", "  authentication-mode simple cipher {k}"),
    ("huawei_vrp", " isis authentication-mode md5 cipher {k}"),
    ("huawei_vrp", " area-authentication-mode md5 cipher {k}"),
    ("huawei_vrp", "ntp-service authentication-keyid 1 authentication-mode md5 cipher {k}"),
    ("huawei_vrp", "super password level 15 cipher {k}"),
    ("huawei_vrp", " set authentication password cipher {k}"),
    ("huawei_vrp", " hwtacacs-server shared-key cipher {k}"),
    ("huawei_vrp", " radius-server shared-key cipher {k}"),
    ("huawei_vrp", " peer 10.0.0.2 password cipher {k}"),
    ("huawei_vrp", " pre-shared-key cipher {k}"),
    ("huawei_vrp", " vrrp vrid 1 authentication-mode md5 {k}"),
    # H3C Comware
    ("h3c_comware", " password simple {k}"),
    ("h3c_comware", " password hash {k}"),
    ("h3c_comware", " password cipher {k}"),
    ("h3c_comware", " snmp-agent community read simple {k} mib-view iso-view acl 2000"),
    ("h3c_comware", " snmp-agent community simple {k} user-role network-operator"),
    (
        "h3c_comware",
        " snmp-agent usm-user v3 jinbao-mon jinbao-mon simple authentication-mode sha256 {k} privacy-mode aes128 {k2}"
        " acl 2000",
    ),
    ("h3c_comware", " snmp-agent usm-user v3 u g cipher authentication-mode sha {k} privacy-mode aes128 {k2}"),
    (
        "h3c_comware",
        " snmp-agent target-host trap address udp-domain 10.0.0.1 vpn-instance vpn1 params securityname {k} v2c",
    ),
    ("h3c_comware", " ospf authentication-mode md5 1 plain {k}"),
    ("h3c_comware", " ospf authentication-mode md5 1 cipher {k}"),
    ("h3c_comware", " super password role network-admin simple {k}"),
    ("h3c_comware", " key authentication cipher {k}"),
    ("h3c_comware", " key accounting simple {k}"),
    ("h3c_comware", " primary authentication 10.0.0.5 1812 key cipher {k}"),
    ("h3c_comware", " pre-shared-key simple {k}"),
    # net-snmp snmpd.conf (and the persistent /var/lib/snmp/snmpd.conf), snmp commands in logs
    ("linux", "com2sec readonly default {k}"),
    ("linux", "com2sec NAME 10.0.0.0/8 {k}"),
    ("linux", "com2sec6 -Cn ctx local6 fd00::/8 {k}"),
    ("linux", "com2secunix local /var/run/snmp.sock {k}"),
    ("linux", "rocommunity {k}"),
    ("linux", "rocommunity {k} 10.0.0.0/8 .1.3.6.1.2.1"),
    ("linux", "rocommunity -V view {k}"),
    ("linux", "rocommunity -V view {k} 10.0.0.0/8"),
    ("linux", "rwcommunity -Cn ctx {k} default"),
    ("linux", "rocommunity -Cn ctx -V view {k} 10.0.0.0/8"),
    ("linux", "rocommunity6 {k} fd00::/8"),
    ("linux", "rwcommunity -C {k}"),
    ("linux", "trapcommunity {k}"),
    ("linux", "trap2sink 10.0.0.7 {k} 162"),
    ("linux", "informsink 10.0.0.7 {k}"),
    ("linux", "createUser jinbao-mon SHA {k} AES {k2}"),
    ("linux", 'createUser -e 0x80001f88 jinbao-mon SHA-256 "{k}" AES "{k2}"'),
    ("linux", "createUser u MD5 {k} DES"),
    (
        "linux",
        'usmUser 1 3 0x80001f8880 0x6a696e62616f "jinbao" NULL .1.3.6.1.6.3.10.1.1.3 {k} .1.3.6.1.6.3.10.1.2.4 {k2} ""',
    ),
    ("linux", 'trapsess -v 3 -u jinbao-mon -l authPriv -a SHA -A "{k}" -x AES -X "{k2}" udp:10.91.0.7:162'),
    ("linux", "trapsess -v 2c -c {k} 10.0.0.7"),
    ("linux", "snmpget -v2c -c {k} 127.0.0.1 sysName.0"),
    ("linux", "snmpwalk -v3 -l authPriv -u jinbao-mon -a SHA -A {k} -x AES -X {k2} udp:10.0.0.1:161"),
    # servers: PAM/LDAP/SSSD, and what logs carry
    ("linux", "bindpw {k}"),
    ("linux", "ldap_default_authtok = {k}"),
    ("linux", "PGPASSWORD={k} psql -h 10.0.0.3"),
    ("linux", "postgresql://jinbao:{k}@10.0.0.3/jinbao"),
]

# The probe's exact lines: each leaked its secret, or masked a keyword in its place.
PROBE = [
    ("snmp-agent target-host trap address udp-domain 10.0.0.1 params securityname SECRET v2c", "SECRET"),
    ("com2sec NAME SOURCE COMMUNITY", "COMMUNITY"),
    ("com2sec6 NAME SOURCE COMMUNITY", "COMMUNITY"),
    ("rocommunity -V view X", "X"),
    ("rwcommunity -C ctx X", "X"),
    ("ospf authentication-mode simple plain X", "X"),
    ("enable password level 15 X", "X"),
]

# Lines that hold no secret: they come out unchanged.
CLEAN = [
    "password requisite pam_pwquality.so retry=3",
    "password [success=1 default=ignore] pam_unix.so obscure sha512",
    "PasswordAuthentication no",
    "PermitEmptyPasswords no",
    " authentication-mode local",
    "  authentication-mode password",
    " ospf authentication-mode keychain KC",
    "createUser jinbao-iquery",
    "key chain RIP",
    " key 1",
    "snmp-server host 10.1.1.1 version 3 priv jinbao-mon",
    "snmp-server host 10.42.0.36 vrf Mgmt-vrf informs version 3 auth oxidized  bfd bridge transceiver",
    "snmp-server group jinbao-mon v3 priv read iso-view access VTY-MGMT",
    "snmp-agent target-host trap address udp-domain 10.0.0.1 params securityname jinbao-mon v3 privacy",
    "snmp-agent community complexity-check disable",
    "snmp-agent mib-view included iso-view iso",
    "service password-encryption",
    " local-aaa-user wrong-password retry-interval 10 retry-time 5 block-time 10",
    " password-control login-attempt 5 exceed lock-time 10",
    "rouser jinbao-mon priv",
    "ssh2 algorithm cipher aes128-ctr aes256-ctr",
    " ip ospf authentication message-digest",
    "http://prov-mon1:9090/api/v1/query",
    "key file: /etc/ssl/private/prov-web1.key",
    "-----BEGIN CERTIFICATE-----",
    "username netadmin privilege 15 algorithm-type scrypt secret <secret env:JINBAO_NETADMIN_PW>",
    'createUser jinbao-mon SHA "<secret env:JINBAO_SNMP_AUTH_KEY>" AES "<secret env:JINBAO_SNMP_PRIV_KEY>"',
]

_FIRST = string.ascii_letters + string.digits
# What device ciphertexts and typed keys hold (VRP `%^%#…`, Comware `$c$3$…`, IOS `$9$…`): no blank,
# no double quote, no backslash.
_REST = _FIRST + "!#$%&'()*+,./:;=?@[]^_{|}~-"


def _secret(rng: random.Random, template: str) -> str:
    k = rng.choice(string.ascii_letters) + "".join(rng.choice(_REST) for _ in range(rng.randint(5, 30)))
    # In a URL the password is percent-encoded (RFC 3986): no raw @ or / in it.
    return quote(k, safe="") if "://" in template else k


@pytest.mark.parametrize(("platform", "template"), CONSTRUCTS, ids=[f"{p}:{t.strip()[:50]}" for p, t in CONSTRUCTS])
def test_each_construct_loses_its_secret_and_nothing_else(platform, template):
    rng = random.Random(template)
    want = template.format(k=REDACTED, k2=REDACTED)
    for _ in range(40):
        k, k2 = _secret(rng, template), _secret(rng, template)
        out = redact(template.format(k=k, k2=k2))
        assert k not in out and k2 not in out, out
        assert out == want, f"secrets {k!r} {k2!r}"
        assert redact(out) == out  # a second pass (the audit re-redacts) changes nothing


@pytest.mark.parametrize(("platform", "template"), [c for c in CONSTRUCTS if "{k2}" in c[1] or "community" in c[1]])
def test_a_construct_inside_a_python_repr_is_redacted(platform, template):
    """pytest/testinfra messages quote configs as reprs: a line starts after a literal backslash-n."""
    k, k2 = "Zq8-secret-x", "Yp7-secret-y"
    text = repr("hostname x\n" + template.format(k=k, k2=k2).strip() + " \nend\n")
    out = redact(f"AssertionError: assert {text} == ''")
    assert k not in out and k2 not in out, out


@pytest.mark.parametrize(("line", "secret"), PROBE)
def test_the_probe_lines_lose_their_secret_not_a_keyword(line, secret):
    out = redact(line)
    assert out == line.replace(f" {secret}", f" {REDACTED}"), out


@pytest.mark.parametrize("line", CLEAN)
def test_a_line_without_a_secret_is_left_as_it_is(line):
    assert redact(line) == line


def test_a_pem_private_key_loses_its_body_in_text_and_in_a_repr():
    key = subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519"], capture_output=True, text=True, check=True)
    body = "".join(key.stdout.splitlines()[1:-1])
    assert len(body) > 40
    for text in (f"read /etc/ssl/private/x.key:\n{key.stdout}", repr(key.stdout)):
        out = redact(text)
        assert body[:20] not in out and "-----BEGIN PRIVATE KEY-----<redacted>-----END PRIVATE KEY-----" in out, out


def test_a_v3_trap_target_keeps_its_user_name():
    line = "snmp-server host 10.1.1.1 version 3 priv jinbao-mon"
    assert Redactor({})(line) == line


def test_a_known_value_becomes_its_marker_before_the_grammar_runs():
    r = Redactor({"k3y-Value": "<secret env:JINBAO_OSPF_KEY>"})
    out = r(" ip ospf message-digest-key 1 md5 k3y-Value\n description k3y-Value\n")
    assert out == (
        " ip ospf message-digest-key 1 md5 <secret env:JINBAO_OSPF_KEY>\n description <secret env:JINBAO_OSPF_KEY>\n"
    )


@pytest.mark.parametrize(
    ("line", "want"),
    [
        # oxidized's recorded C9800 (tests/compliance/configs/published): values with blanks
        (
            " mgmtuser username username password 0 MGMT PASSW0RD secret 0 MGMT SECR3T",
            " mgmtuser username username password 0 <redacted> secret 0 <redacted>",
        ),
        (
            " dot1x username dot1x-username password 0 DOT1X PASSW0RD",
            " dot1x username dot1x-username password 0 <redacted>",
        ),
        ("username admin password my pass word", "username admin password <redacted>"),
        ("enable password level 15 two words", "enable password level 15 <redacted>"),
        (" password 7 0822455D0A16 2", " password 7 <redacted>"),
    ],
)
def test_an_ios_password_with_blanks_loses_all_of_it(line, want):
    assert redact(line) == want
    assert redact(want) == want


@pytest.mark.parametrize(
    ("line", "want"),
    [
        # a `line con 0` / `line vty` block's own password, no type (the probe's ios-secrets.txt)
        (" password SEKRITM1 SEKRITM2 SEKRITM3", " password <redacted>"),
        (
            "snmp-server host 10.1.1.12 version 2c encrypted SEKRITI",
            "snmp-server host 10.1.1.12 version 2c encrypted <redacted>",
        ),
        (
            "assert 'x' ... password=SEKRITC and MYSQL_PASSWORD=SEKRITD",
            "assert 'x' ... password=<redacted> and MYSQL_PASSWORD=<redacted>",
        ),
        # and what must stay: PAM stacks, sshd's keyword, a mode word
        ("password requisite pam_pwquality.so retry=3", "password requisite pam_pwquality.so retry=3"),
        (
            "password   [success=1 default=ignore]  pam_unix.so obscure sha512",
            "password   [success=1 default=ignore]  pam_unix.so obscure sha512",
        ),
        ("PasswordAuthentication no", "PasswordAuthentication no"),
    ],
)
def test_what_a_hostile_probe_hid_secrets_in(line, want):
    assert redact(line) == want
