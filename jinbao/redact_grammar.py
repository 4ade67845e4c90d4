"""Which word of a secret-bearing line is the secret, construct by construct.

A line is not redacted by "the word after `password`": vendors put keywords, levels, key ids,
encryption types and option flags between the keyword and the value (`enable password level 15
X`, `ospf authentication-mode simple plain X`, `rocommunity -V view X`), and masking the first
word after the keyword masks a keyword and shows the secret. Each construct below states its
grammar up to the secret: what may stand between the keyword and the value. Those skipped words
are matched atomically, so a value already masked (a `<secret REF>` marker, `<redacted>`) is never
answered by masking the word before it.

The words a value can never be (the keywords the grammars skip) are refused as values, so a line
that only names a mode (`authentication-mode sha` answered interactively on VRP) loses nothing.

Text from testinfra or pytest often quotes a config inside a Python repr, where a line starts
after a literal backslash-n: a construct starts after a word boundary or after such an escape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

REDACTED = "<redacted>"

_ = r"[ \t]+"
# A construct's first word: not inside another word or after a hyphen (`wrong-password`,
# `key-string` are their own constructs), but may follow an escaped newline in a repr.
B = r"(?:(?<![<\w-])|(?<=\\[nrt]))"
# A line's start (indented or not), in text or in a repr.
BOL = r"(?:^|(?<=\\n))[ \t]*"
# An indented line (a block's), in text or in a repr.
BOL_INDENTED = r"(?:^|(?<=\\n))[ \t]+"
# Words a value never is: the mode keywords skipped before it, and what is already masked.
_NOT_VALUE = (
    r'(?!"?<secret )(?!"?<redacted>)'
    r"(?!(?:cipher|irreversible-cipher|simple|plain|hash|level|role|encrypted|"
    r"authentication-mode|privacy-mode)(?!\S))"
)
S = rf'(?P<s>{_NOT_VALUE}(?>"[^"\n]*"|\S+))'
# IOS's encryption type (0 clear, 5/8/9 hashed, 6/7 reversible) before a value that follows it.
ENC = rf"(?:\d{_}(?=\S))?"
# VRP/Comware: how the value is given (clear as `simple`/`plain`, or the device's own ciphertext).
MODE = rf"(?:(?:cipher|irreversible-cipher|simple|plain|hash|encrypted){_}(?=\S))?"
_PAM_CONTROL = r"(?!(?:required|requisite|sufficient|optional|include|substack)\b|\[)"


@dataclass(frozen=True)
class Construct:
    """One secret-bearing construct: `hints` (lower-case words one of which the text must hold
    for the pattern to be tried at all: most text holds none) and the pattern, whose group `s` is
    the secret."""

    name: str
    hints: tuple[str, ...]
    pattern: re.Pattern


def _c(name: str, hints: str, head: str, skips: str = "", value: str = S, flags: int = re.I) -> Construct:
    # The head and its skipped words are one atomic group: no backtracking into them to offer a
    # keyword or a key id as the value.
    return Construct(name, tuple(hints.split()), re.compile(rf"(?P<p>(?>{head}{skips})){value}", flags | re.M))


CONSTRUCTS = (
    # --- keyed digests: FRR/IOS OSPF, IOS NTP, FRR OSPFv3 -------------------------------------
    # ip ospf message-digest-key 1 md5 [0|7] K / ntp authentication-key 1 md5 K [7]
    _c(
        "md5 key",
        "digest-key authentication-key",
        rf"{B}(?:message-digest-key|authentication-key){_}\d+{_}"
        rf"(?:md5|sha\S*|hmac-\S+){_}",
        ENC,
    ),
    # ip ospf authentication-key [0|7] K (FRR, IOS)
    _c("authentication-key", "authentication-key", rf"{B}authentication-key{_}(?!\d+{_}(?:md5|sha|hmac)\b)", ENC),
    # ipv6 ospf6 authentication key-id 1 hash-algo hmac-sha-256 key K (FRR)
    _c("ospf6 key", "hash-algo", rf"{B}hash-algo{_}\S+{_}key{_}"),
    # key chain: key-string [0|7] K (IOS, FRR); standby 1 authentication md5 key-string K
    _c("key-string", "key-string", rf"{B}key-string{_}", ENC),
    # ip rip authentication string K (FRR)
    _c("rip string", "string", rf"{B}authentication{_}string{_}"),
    # FRR IS-IS: area-password [clear|md5] K [authenticate snp …], domain-password …
    _c("isis area password", "-password", rf"{B}(?:area|domain)-password{_}", rf"(?:(?:clear|md5){_}(?=\S))?"),
    # --- VRP / Comware authentication modes ------------------------------------------------------
    # ospf authentication-mode md5 1 cipher K / simple plain K / hmac-sha256 1 K; area-authentication-mode
    # md5 cipher K (IS-IS); ntp-service … authentication-mode md5 cipher K; vrrp … authentication-mode
    # simple cipher K; snmp-agent usm-user v3 U authentication-mode sha2-256 cipher K (VRP) / sha256 K (Comware)
    _c(
        "authentication-mode",
        "authentication-mode",
        rf"{B}(?:(?:area|domain)-)?authentication-mode{_}"
        rf"(?:md5|hmac-\S+|sha\S*|sm3|simple){_}",
        rf"(?:\d+{_}(?=\S))?{MODE}",
    ),
    # snmp-agent usm-user v3 U … privacy-mode aes128 [cipher] K
    _c("privacy-mode", "privacy-mode", rf"{B}privacy-mode{_}(?:aes\S*|des\S*|3des\S*|sm4){_}", MODE),
    # --- IOS SNMPv3 users: snmp-server user U G v3 [encrypted] auth sha-2 256 K priv aes 128 K --
    _c("ios snmp auth", "auth", rf"{B}auth{_}(?:md5|sha(?:-2{_}(?:256|384|512)|\S*)){_}"),
    _c("ios snmp priv", "priv", rf"{B}priv{_}(?:3des|des|aes(?:{_}(?:128|192|256)|\S*)){_}"),
    # --- communities -----------------------------------------------------------------------------
    # snmp-server community C [view V] [RO|RW] [acl] (IOS)
    _c("ios community", "community", rf"{B}snmp-server{_}community{_}"),
    # snmp-server host A [vrf V] [traps|informs] [version 1|2c] C … (with version 3 the word is a
    # user name)
    _c(
        "ios trap host",
        "snmp-server",
        rf"{B}snmp-server{_}host{_}\S+{_}(?:vrf{_}\S+{_})?(?:(?:traps|informs){_})?"
        rf"(?:version{_}(?:1|2c){_})?(?:encrypted{_})?(?!version\b|traps\b|informs\b|vrf\b)",
    ),
    # snmp-agent community read|write [cipher|simple] C [mib-view V] [acl N] (VRP, Comware);
    # Comware 7 RBAC: snmp-agent community [simple|cipher] C user-role R
    _c(
        "vrp community",
        "community",
        rf"{B}snmp-agent{_}community{_}(?!complexity-check\b)",
        rf"(?:(?:read|write){_})?(?:(?:cipher|simple){_}(?=\S))?",
    ),
    # snmp-agent target-host trap address udp-domain A … params securityname [cipher] C [v1|v2c]
    # (VRP, Comware): v1/v2c community; a v3 user name (`… securityname U v3 privacy`) is kept.
    _c(
        "target-host securityname",
        "securityname",
        rf"{B}(?<!v3 )securityname{_}(?!\S+[^\n]*[ \t]v3\b)",
        rf"(?:cipher{_}(?=\S))?",
    ),
    # net-snmp: rocommunity [-Cn CONTEXT] [-V VIEW] C [SOURCE [OID | -V VIEW [CONTEXT]]]
    _c(
        "net-snmp community",
        "community",
        rf"{B}r[ow]community6?{_}",
        rf"(?:-(?:Cn|C|V)(?:{_}(?=\S+{_}(?!\\[nrt])\S)\S+|\S*){_})*(?!-)",
        flags=0,
    ),
    # net-snmp: com2sec [-Cn CONTEXT] NAME SOURCE C (and com2sec6, com2secunix NAME SOCKPATH C)
    _c("com2sec", "com2sec", rf"{B}com2sec(?:6|unix)?{_}", rf"(?:-Cn{_}\S+{_})?(?!-)\S+{_}\S+{_}", flags=0),
    # net-snmp notifications: trapcommunity C; trapsink|trap2sink|informsink HOST [C [PORT]]
    _c("net-snmp trapcommunity", "trapcommunity", rf"{B}trapcommunity{_}", flags=0),
    _c("net-snmp sink", "sink", rf"{B}(?:trapsink|trap2sink|informsink){_}\S+{_}", flags=0),
    # --- net-snmp USM ----------------------------------------------------------------------------
    # createUser [-e ENGINEID] U (MD5|SHA|SHA-256…) [-m|-l] AUTHPASS [(DES|AES…) [-m|-l] PRIVPASS]
    _c(
        "createUser auth",
        "createuser",
        rf"{B}createUser{_}(?:-e{_}\S+{_})?\S+{_}(?:MD5|SHA\S*){_}",
        rf"(?:-[ml]{_})?",
        flags=0,
    ),
    _c(
        "createUser priv",
        "createuser",
        rf"{B}createUser{_}(?:-e{_}\S+{_})?\S+{_}(?:MD5|SHA\S*){_}\S+{_}"
        rf"(?:DES|AES\S*){_}",
        rf"(?:-[ml]{_})?",
        flags=0,
    ),
    # usmUser 1 3 ENGINE NAME SECNAME NULL AUTHPROTO-OID AUTHKEY PRIVPROTO-OID PRIVKEY "" (persistent file)
    _c("usmUser auth", "usmuser", rf"{B}usmUser\b[^\n]*?{_}\.?1\.3\.6\.1\.6\.3\.10\.1\.1\.\d+{_}", flags=0),
    _c("usmUser priv", "usmuser", rf"{B}usmUser\b[^\n]*?{_}\.?1\.3\.6\.1\.6\.3\.10\.1\.2\.\d+{_}", flags=0),
    # --- AAA servers, IKE ------------------------------------------------------------------------
    # tacacs-server key [0|7] K; tacacs-server host A [port N] key [0|7] K; radius-server … key K (IOS)
    _c("ios aaa server key", "tacacs-server radius-server", rf"{B}(?:tacacs|radius)-server\b[^\n]*?{_}key{_}", ENC),
    # hwtacacs-server shared-key cipher K; radius-server shared-key cipher K (VRP)
    _c("shared-key", "shared-key", rf"{B}shared-key{_}", MODE),
    # Comware radius/hwtacacs scheme: primary authentication A [P] key cipher K
    _c(
        "comware scheme server key",
        "primary secondary",
        rf"{B}(?:primary|secondary){_}"
        rf"(?:authentication|accounting|authorization)\b[^\n]*?{_}key{_}",
        MODE,
    ),
    # a `key` line in a server block: IOS `tacacs server X` / ` key 7 K`; Comware ` key authentication
    # cipher K`. Not `key chain NAME` nor a key chain's bare `key 1`; indented, as block lines are
    # (prose starting "key file: …" is not one).
    _c(
        "server block key",
        "key",
        rf"{BOL_INDENTED}key{_}(?!chain\b)",
        rf"(?:(?:authentication|accounting|authorization){_})?{ENC}{MODE}(?!\d+[ \t]*$)",
    ),
    # crypto isakmp key [0|6] K address A (IOS); pre-shared-key [cipher|simple] K (VRP, Comware);
    # pre-shared-key address A [MASK] key K (IOS keyring)
    _c("isakmp key", "isakmp", rf"{B}isakmp{_}key{_}", ENC),
    _c(
        "pre-shared-key",
        "pre-shared-key",
        rf"{B}pre-shared-key{_}",
        rf"(?:(?:address|hostname){_}\S+{_}(?:\d+\.\d+\.\d+\.\d+{_})?key{_})?(?:(?:local|remote){_})?{ENC}{MODE}",
    ),
    # standby 1 authentication [text] K (IOS HSRP, plain text)
    _c("hsrp", "standby", rf"{B}standby{_}\d+{_}authentication{_}(?!md5\b)", rf"(?:text{_})?"),
    # --- passwords: IOS, FRR, VRP, Comware -------------------------------------------------------
    # enable secret [level N] [5|8|9] K; enable password level 15 K; username U [privilege N]
    # [algorithm-type T] secret [9] K; neighbor A password K; local-user U password irreversible-cipher K;
    # super password level 3 cipher K (VRP); super password role R simple K (Comware 7); ` password
    # hash K` (Comware); set authentication password cipher K; isis password [clear|md5] K (FRR).
    # A PAM stack line (`password requisite pam_pwquality.so`) has no value. Lower case only, as every
    # vendor shows its config: prose and upper-case values (`-A SECRET -x AES`) are not keywords.
    # IOS takes a clear (type 0) or reversible (type 7) password with blanks in it, to the end of
    # the line or to the next `secret`/`password` (a C9800's `mgmtuser username U password 0 A B
    # secret 0 C D`), and so does a `username`/`enable` line or a line's own ` password A B` (a
    # `line con 0` block) with no type: masking the first word showed the rest of it.
    _c(
        "ios password with blanks",
        "password secret",
        rf"(?:{B}(?:password|secret){_}(?:level{_}\d+{_})?[07]{_}(?=\S)"
        rf"|{BOL}(?:username{_}\S+{_}(?:privilege{_}\d+{_})?|enable{_})?(?:password|secret){_}"
        rf"(?:level{_}\d+{_})?(?![0-9]{_}){_PAM_CONTROL})",
        value=rf"(?P<s>{_NOT_VALUE}\S+(?:[ \t]+(?!(?:secret|password)(?!\S))\S+)*)",
        flags=0,
    ),
    _c(
        "password/secret",
        "password secret",
        rf"{B}(?:password|secret){_}{_PAM_CONTROL}",
        rf"(?:level{_}\d+{_})?(?:role{_}\S+{_})?(?:(?:clear|md5){_}(?=\S))?{ENC}{MODE}",
        flags=0,
    ),
    # What is left after `cipher`: VRP and Comware give only ciphertext after it.
    _c("cipher", "cipher", rf"{B}(?:irreversible-)?cipher{_}(?!aes|des|3des|sm4)", flags=0),
    # --- servers: PAM / LDAP / SSSD, URLs and environment assignments in logs --------------------
    # A PEM private key quoted whole (a check that read a key file): its body, to the END line.
    _c(
        "pem private key",
        "private key",
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
        value=r"(?P<s>(?!<redacted>)[^-]+?)(?=-----END [A-Z ]*PRIVATE KEY-----)",
        flags=0,
    ),
    _c("ldap bindpw", "bindpw", rf"{B}(?:root)?bindpw{_}"),
    _c("sssd authtok", "authtok", rf"{B}ldap_default_authtok[ \t]*=[ \t]*"),
    _c("url userinfo", "://", r"://[^\s:/@]+:", value=rf"(?P<s>{_NOT_VALUE}[^\s@/]+)(?=@)"),
    # the same in lower case, as assertion messages and shell traces print them (`password=X`)
    _c(
        "lower-case assignment",
        "password passwd secret token authtok",
        r"(?<![\w-])(?:password|passwd|secret|token|authtok)=",
        flags=0,
    ),
    _c(
        "env assignment",
        "password passwd secret token key authtok",
        r"(?<![\w-])[A-Z0-9_]*"
        r"(?:PASSWORD|PASSWD|SECRET|TOKEN|_KEY|AUTHTOK)=",
        flags=0,
    ),
)

# net-snmp command lines (trapsess in snmpd.conf, snmpget/snmpwalk/snmptrap in logs): every
# secret is an option's argument, and a line may hold several.
_SNMP_CMD = re.compile(
    rf"{B}(?:trapsess|snmp(?:get|getnext|bulkget|walk|bulkwalk|set|trap|inform|table|status|delta|df|usm|vacm))\b[^\n]*"
)
_SNMP_FLAG = re.compile(rf"(?P<p>(?<!\S)-(?:[AXc]|3[mMkKxX])(?:{_})?){S}")


def _mask(m: re.Match) -> str:
    value = m.group("s")
    quoted = len(value) > 1 and value[0] == value[-1] == '"'
    return m.group("p") + (f'"{REDACTED}"' if quoted else REDACTED) + m.group(0)[m.end("s") - m.start() :]


def mask(text: str) -> str:
    """Every secret the text's own syntax reveals, as `<redacted>`."""
    low = text.lower()
    for c in CONSTRUCTS:
        if any(h in low for h in c.hints):
            text = c.pattern.sub(_mask, text)
    if "snmp" in low or "trapsess" in low:
        text = _SNMP_CMD.sub(lambda m: _SNMP_FLAG.sub(_mask, m.group(0)), text)
    return text
