"""DEV-LOGIN-LOCKOUT and DEV-ZONE-DEFAULT-DENY on each platform that can say them.

Each case starts from a config that conforms (a recorded vendor dump, or what the estate renders
for the lab's firewall and servers), then removes the feature or sets it permissive: exactly one
finding, on the line that says so, or without a line when the config has none left to name.
"""

from __future__ import annotations

import pytest

from compliance import configtext, devicecheck
from compliance.registry import registry
from jinbao.errors import JinbaoError
from jinbao.estate import load_estate
from jinbao.rendering import rendered
from tests.support import REPO

REC = REPO / "tests/netconfig/recordings"
RULES = registry().of("device_config")
LOCKOUT, ZONE = "DEV-LOGIN-LOCKOUT", "DEV-ZONE-DEFAULT-DENY"


def _read(path) -> str:
    return configtext.decode(path.read_bytes())[0]


def _verdict(text: str, rule: str, platform: str | None = None):
    cfg = configtext.classify("dump.txt", text, platform)
    [v] = [v for v in devicecheck.evaluate(cfg, RULES) if v.rule == rule]
    return v


def _findings(text: str, rule: str, platform: str | None = None) -> list[tuple[int | None, str | None]]:
    v = _verdict(text, rule, platform)
    assert v.status in ("finding", "conforms"), (v.status, v.note)
    return [(f.line, f.text) for f in v.findings]


def _line_of(text: str, line: str) -> int:
    return text.split("\n").index(line) + 1


def _swap(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


@pytest.fixture(scope="module")
def lab_files():
    estate = load_estate("lab")
    return {name: rendered(estate, estate.devices[name]) for name in ("prov-fw1", "prov-db1")}


# --- login-failure lockout ---------------------------------------------------------------------


def test_ios_lockout_is_a_login_block_or_an_aaa_account_lock():
    text = _read(REC / "cisco_ios/show_running-config.txt")
    block = "login block-for 900 attempts 3 within 120"
    assert _findings(text, LOCKOUT) == []
    # IOS has no lockout until configured: gone, it is one finding with no line to name
    assert _findings(_swap(text, block + "\n", ""), LOCKOUT) == [(None, None)]
    assert _findings(_swap(text, block, "aaa local authentication attempts max-fail 5"), LOCKOUT) == []


def test_vrp_lockout_is_on_by_default_and_its_undo_is_the_finding():
    text = _read(REC / "huawei_vrp/display_current-configuration.txt")
    line = " local-aaa-user wrong-password retry-interval 5 retry-time 3 block-time 15"
    assert _findings(text, LOCKOUT) == []
    off = _swap(text, line, " undo local-aaa-user wrong-password")
    assert _findings(off, LOCKOUT) == [(_line_of(text, line), " undo local-aaa-user wrong-password")]
    # the line left out is VRP's default (3 failures, locked 5 minutes), not a weakness
    assert _findings(_swap(text, line + "\n", ""), LOCKOUT) == []
    usg = _swap(text, line, " undo lock-authentication enable")
    assert _findings(usg, LOCKOUT) == [(_line_of(text, line), " undo lock-authentication enable")]


def test_comware7_lockout_needs_password_control_on_and_a_lock():
    text = _read(REC / "h3c_comware/display_current-configuration.txt")
    attempt = " password-control login-attempt 3 exceed lock-time 15"
    at = _line_of(text, attempt)
    assert _findings(text, LOCKOUT) == []
    unlock = _swap(text, attempt, " password-control login-attempt 3 exceed unlock")
    assert _findings(unlock, LOCKOUT) == [(at, " password-control login-attempt 3 exceed unlock")]
    # configured but never switched on: named on the login-attempt line that does nothing
    off = _swap(text, " password-control enable\n", "")
    assert _findings(off, LOCKOUT) == [(at - 1, attempt)]
    # neither line: no line to name
    assert _findings(_swap(off, attempt + "\n", ""), LOCKOUT) == [(None, None)]


def test_comware5_lockout_reads_the_same_lines_in_its_dialect():
    text = _read(REC.parent.parent / "compliance/configs/weak-comware5-gbk.txt")
    text = text.replace("\r\n", "\n").rstrip("\x00")
    first = next(x for x in text.split("\n") if x.startswith(" sysname "))
    lock = f"{first}\n#\n password-control enable\n password-control login-attempt 3 exceed lock-time 15"
    good = _swap(text, first, lock)
    assert configtext.classify("d", good).dialect == "comware5"
    assert _findings(good, LOCKOUT) == []
    bad = _swap(good, "exceed lock-time 15", "exceed unlock")
    line = " password-control login-attempt 3 exceed unlock"
    assert _findings(bad, LOCKOUT) == [(_line_of(bad, line), line)]


def test_linux_lockout_is_pam_faillock(lab_files):
    text = lab_files["prov-db1"]["linux"]
    assert "# ==> /etc/security/faillock.conf" in text
    assert _findings(text, LOCKOUT, "linux") == []
    deny = next(x for x in text.split("\n") if x.startswith("deny = "))
    assert _findings(_swap(text, deny, "deny = 0"), LOCKOUT, "linux") == [(_line_of(text, deny), "deny = 0")]
    section = text[text.index("# ==> /etc/security/faillock.conf") :]
    section = section[: section.index("# ==> ", 1)]
    assert _findings(_swap(text, section, ""), LOCKOUT, "linux") == [(None, None)]


def test_frr_has_no_lockout_to_judge():
    text = _read(REPO / "tests/compliance/configs/weak-frr.txt")
    v = _verdict(text, LOCKOUT)
    assert v.status == "not_applicable" and "frr" in (v.note or "")


def test_lockout_rule_says_what_the_clause_asks_in_both_languages():
    rule = registry().rule(LOCKOUT)
    assert rule is not None and rule.clause == "8.1.4.1" and rule.severity == "high"
    assert "登录失败" in rule.title_zh and "lock" in rule.title_en.lower()
    for command in ("login block-for", "local-aaa-user wrong-password", "password-control login-attempt", "deny ="):
        assert command in rule.fix
    assert set(rule.platforms) == {"cisco_ios", "huawei_vrp", "h3c_comware", "linux"}


# --- zone default deny -------------------------------------------------------------------------


def test_comware_intra_zone_default_permit_is_a_finding():
    text = _read(REC / "h3c_comware/display_current-configuration.txt")
    assert _findings(text, ZONE) == []
    anchor = " ssh server acl 2000"
    permit = " security-zone intra-zone default permit"
    bad = _swap(text, anchor, f"{anchor}\n#\n{permit}")
    assert _findings(bad, ZONE) == [(_line_of(bad, permit), permit)]


def test_comware_object_policy_passing_anything_is_a_finding():
    text = _read(REC / "h3c_comware/display_current-configuration.txt")

    def with_policy(rule: str) -> str:
        policy = (
            f"object-policy ip trust-dec\n rule 0 pass source-ip core destination-ip dec service https\n{rule}\n#\n"
            "zone-pair security source Trust destination decision\n object-policy apply ip trust-dec\n#\nreturn"
        )
        return _swap(text, "return", policy)

    assert _findings(with_policy(" rule 5 drop"), ZONE) == []
    for rule in (" rule 5 pass", " rule 5 pass source-ip any destination-ip any service any logging", " rule pass"):
        bad = with_policy(rule)
        assert _findings(bad, ZONE) == [(_line_of(bad, rule), rule)], rule


def test_zone_rule_does_not_apply_to_a_comware_switch():
    v = _verdict(_read(REPO / "tests/compliance/configs/weak-comware7.txt"), ZONE)
    assert v.status == "not_applicable"


def test_nftables_forward_chain_must_drop_by_default(lab_files):
    text = lab_files["prov-fw1"]["nftables"]
    cfg = configtext.classify("fw.nft", text)
    assert cfg.platform == "nftables" and cfg.complete
    hook = next(x for x in text.split("\n") if "hook forward" in x)
    assert "policy drop;" in hook and _findings(text, ZONE) == []
    at = _line_of(text, hook)
    for permissive in (hook.replace("policy drop;", "policy accept;"), hook.replace(" policy drop;", "")):
        assert _findings(_swap(text, hook, permissive), ZONE) == [(at, permissive)]
    start = text.index("  chain forward {")
    end = text.index("\n  }\n", start) + len("\n  }\n")
    assert _findings(text[:start] + text[end:], ZONE) == [(None, None)]


LIST_RULESET = """\
table inet jinbao_zones {
\tchain input {
\t\ttype filter hook input priority filter; policy drop;
\t\tct state established,related accept
\t}

\tchain forward {
\t\ttype filter hook forward priority filter; policy drop;
\t\tct state established,related accept
\t\tiifname "eth2" oifname "eth1" tcp dport 5432 accept
\t}
}
table netdev jinbao_fault {
\tchain drop_eth1 {
\t\ttype filter hook ingress device "eth1" priority filter; policy accept;
\t}
}
"""


def test_nftables_as_nft_list_ruleset_prints_it():
    assert configtext.classify("running", LIST_RULESET).platform == "nftables"
    assert _findings(LIST_RULESET, ZONE) == []
    bad = LIST_RULESET.replace("forward priority filter; policy drop;", "forward priority filter; policy accept;")
    assert _findings(bad, ZONE) == [(8, "\t\ttype filter hook forward priority filter; policy accept;")]


def test_the_lab_intent_conforms_to_both_rules(lab_files):
    estate = load_estate("lab")
    judged = 0
    for d in estate.devices.values():
        try:
            files = rendered(estate, d)
        except JinbaoError:  # nothing renders a config for it (an appliance)
            continue
        for syntax, text in files.items():
            cfg = configtext.classify(f"{d.name}.{syntax}", text, syntax)
            for v in devicecheck.evaluate(cfg, RULES):
                if v.rule in (LOCKOUT, ZONE) and v.status != "not_applicable":
                    assert v.status == "conforms", (d.name, syntax, v)
                    judged += 1
    assert judged >= 6  # every server's lockout and every firewall's forward chain


def test_ios_zone_firewall_class_default_pass_is_a_finding():
    text = _read(REC / "cisco_ios/show_running-config.txt")
    assert _verdict(text, ZONE).status == "not_applicable"  # a switch without a zone firewall

    def with_zbf(default_action: str) -> str:
        zbf = (
            "class-map type inspect match-any MGMT\n match protocol ssh\n"
            "policy-map type inspect MGMT-TO-CORE\n class type inspect MGMT\n  inspect\n"
            f" class class-default\n  {default_action}\n"
            "zone security MGMT\nzone security CORE\n"
            "zone-pair security MGMT-CORE source MGMT destination CORE\n service-policy type inspect MGMT-TO-CORE\n!\nend"
        )
        return _swap(text, "\nend", "\n" + zbf)

    assert _findings(with_zbf("drop log"), ZONE) == []
    bad = with_zbf("pass")
    assert _findings(bad, ZONE) == [(_line_of(bad, "  pass"), "  pass")]


# A Comware 7 firewall's security policy, as `display current-configuration` prints the section
# (H3C's security-policy configuration examples): a fragment handed over on its own.
SECURITY_POLICY = """\
#
security-zone name Trust
 import interface GigabitEthernet1/0/1
#
security-zone name Untrust
 import interface GigabitEthernet1/0/2
#
security-policy ip
 rule 0 name trust-untrust
  action pass
  source-zone trust
  destination-zone untrust
  source-ip-subnet 192.168.1.0 255.255.255.0
  service https
 rule 5 name permit-all
  action pass
 rule 10 name deny-all
  action drop
#
"""


def test_comware7_security_policy_pass_rule_matching_anything_is_a_finding_on_its_line():
    v = _verdict(SECURITY_POLICY, ZONE, "h3c_comware")
    assert v.status == "finding"
    assert [(f.line, f.text) for f in v.findings] == [
        (_line_of(SECURITY_POLICY, " rule 5 name permit-all"), " rule 5 name permit-all")
    ]


def test_comware7_security_policy_without_a_pass_anything_rule_conforms():
    clean = _swap(SECURITY_POLICY, " rule 5 name permit-all\n  action pass\n", "")
    # the fragment holds the section the rule reads, so it is judged: conforms, not "no evidence"
    assert _verdict(clean, ZONE, "h3c_comware").status == "conforms"
    # a pass rule narrowed by one condition, a disabled one, and a drop rule that matches
    # everything pass nothing beyond what they name
    for narrowed in ("  source-zone trust", "  service http", "  destination-ip-host 10.0.0.5", "  disable"):
        text = _swap(SECURITY_POLICY, "  action pass\n rule 10", f"  action pass\n{narrowed}\n rule 10")
        assert _verdict(text, ZONE, "h3c_comware").status == "conforms", narrowed
    # the same pass rule in an IPv6 policy passes every IPv6 flow
    v6 = clean + "security-policy ipv6\n rule 0 name any6\n  action pass\n#\n"
    assert _findings(v6, ZONE, "h3c_comware") == [(_line_of(v6, " rule 0 name any6"), " rule 0 name any6")]


def test_a_fragment_without_the_zone_policy_is_no_evidence_on_comware():
    assert _verdict("#\nvlan 10\n#\n", ZONE, "h3c_comware").status == "no_evidence"
