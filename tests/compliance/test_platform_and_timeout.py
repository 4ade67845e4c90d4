"""`audit config --platform P` on a file that plainly is another platform's is bad input (exit 2,
naming the file, P and what the text looks like), never a clean result; and an idle timeout of 0,
however it is written, or longer than the clause's 10 minutes, is a finding."""

from __future__ import annotations

import json

import pytest

from compliance import configtext, devicecheck
from compliance.registry import registry
from tests.support import REPO, run_cli

CONFIGS = REPO / "tests" / "compliance" / "configs"
NFT = REPO / "tests" / "golden" / "netconfig" / "nftables" / "lab"

WRONG = [
    (CONFIGS / "weak-comware7.txt", "nftables", "h3c_comware"),
    (CONFIGS / "weak-comware7.txt", "linux", "h3c_comware"),
    (CONFIGS / "weak-comware7.txt", "huawei_vrp", "h3c_comware"),
    (CONFIGS / "weak-vrp.txt", "cisco_ios", "huawei_vrp"),
    (CONFIGS / "weak-vrp.txt", "frr", "huawei_vrp"),
    (CONFIGS / "weak-ios.txt", "huawei_vrp", "cisco_ios"),
    (CONFIGS / "weak-ios.txt", "frr", "cisco_ios"),
    (CONFIGS / "weak-frr.txt", "h3c_comware", "frr"),
    (CONFIGS / "weak-linux.txt", "cisco_ios", "linux"),
    (NFT / "prov-fw1.nftables.conf", "cisco_ios", "nftables"),
    (NFT / "prov-fw1.nftables.conf", "huawei_vrp", "nftables"),
    (NFT / "prov-fw1.frr.conf", "nftables", "frr"),
]


@pytest.mark.parametrize(("path", "given", "like"), WRONG, ids=[f"{p.name} as {g}" for p, g, _ in WRONG])
def test_a_file_of_another_platform_is_bad_input_naming_both(path, given, like):
    r = run_cli("audit", "config", str(path), "--platform", given)
    assert r.returncode == 2, r.stdout[-600:] + r.stderr
    err = " ".join(r.stderr.split())
    assert str(path) in err and f"--platform {given}" in err and f"looks like {like}" in err, err
    assert "finding" not in r.stdout and "conform" not in r.stdout


def test_lines_of_another_family_tell_a_fragment_without_marks():
    # No VRP or Comware mark in it, but half its lines are IOS's own.
    text = "interface Gi0/1\n no ip address\n shutdown\n!\ninterface Gi0/2\n no cdp enable\n!\n"
    for given in ("huawei_vrp", "h3c_comware", "nftables"):
        with pytest.raises(Exception, match=rf"frag\.txt: given as --platform {given}, but it looks like IOS/FRR"):
            configtext.classify("frag.txt", text, given, check=True)


def test_the_line_a_refusal_quotes_carries_no_secret():
    # The first foreign line is quoted; a hostile dump puts a secret there.
    text = "no username admin password 0 SEKRIT1 SEKRIT2\n no ip address\n shutdown\n!\ninterface Gi0/2\n!\n"
    with pytest.raises(Exception, match=r"line 1: `no username admin password 0 <redacted>`") as e:
        configtext.classify("frag.txt", text, "huawei_vrp", check=True)
    assert "SEKRIT" not in str(e.value)


@pytest.mark.parametrize(
    ("path", "platform"),
    [
        (CONFIGS / "weak-comware7.txt", "h3c_comware"),
        (CONFIGS / "weak-comware5-gbk.txt", "h3c_comware"),
        (CONFIGS / "weak-vrp.txt", "huawei_vrp"),
        (CONFIGS / "fragment-vrp.txt", "huawei_vrp"),
        (CONFIGS / "weak-ios.txt", "cisco_ios"),
        (CONFIGS / "weak-frr.txt", "frr"),
        (CONFIGS / "weak-frr.txt", "cisco_ios"),  # FRR's vtysh config is IOS-like; its rules read it
        (CONFIGS / "weak-linux.txt", "linux"),
        (NFT / "prov-fw1.nftables.conf", "nftables"),
        (NFT / "prov-fw1.frr.conf", "frr"),
    ],
)
def test_the_right_platform_is_accepted(path, platform):
    r = run_cli("audit", "config", str(path), "--platform", platform, "--json")
    assert r.returncode in (0, 1), r.stderr
    assert json.loads(r.stdout)["files"][0]["platform"] == platform


def test_every_rendered_config_is_plausibly_its_own_platform():
    rendered = sorted((REPO / "tests" / "golden" / "netconfig").rglob("*.conf"))
    assert len(rendered) > 20
    for p in rendered:
        configtext.classify(str(p), p.read_text(), p.name.split(".")[-2], check=True)


REG = registry()
RULE = next(r for r in REG.rules if r.id == "DEV-IDLE-TIMEOUT")
HEAD = {
    "cisco_ios": ("hostname r1\n!\nversion 15.2\nline vty 0 4\n", "!\nend\n"),
    "huawei_vrp": ("sysname r1\n#\nuser-interface vty 0 4\n", "#\nreturn\n"),
    "h3c_comware": ("#\n sysname r1\n#\nline vty 0 63\n", "#\nreturn\n"),
    "frr": ("frr version 8.4\nhostname r1\n!\nline vty\n", "exit\n!\nend\n"),
}
TIMEOUTS = [
    ("cisco_ios", " exec-timeout 0 0", "finding"),
    ("cisco_ios", " exec-timeout 0", "finding"),
    ("cisco_ios", " exec-timeout 00 00", "finding"),
    ("cisco_ios", " idle-timeout 0 0", "finding"),
    ("cisco_ios", " no exec-timeout", "finding"),
    ("cisco_ios", " exec-timeout 30 0", "finding"),
    ("cisco_ios", " exec-timeout 10 30", "finding"),
    ("cisco_ios", " exec-timeout 10 0", "conforms"),
    ("cisco_ios", " exec-timeout 0 30", "conforms"),
    ("cisco_ios", " exec-timeout 5", "conforms"),
    ("huawei_vrp", " idle-timeout 0 0", "finding"),
    ("huawei_vrp", " idle-timeout 0 00", "finding"),
    ("huawei_vrp", " idle-timeout 00", "finding"),
    ("huawei_vrp", " idle-timeout 120 0", "finding"),
    ("huawei_vrp", " idle-timeout 10 0", "conforms"),
    ("huawei_vrp", " idle-timeout 5 30", "conforms"),
    ("h3c_comware", " idle-timeout 0 0", "finding"),
    ("h3c_comware", " idle-timeout 0", "finding"),
    ("h3c_comware", " idle-timeout 15 0", "finding"),
    ("h3c_comware", " idle-timeout 9", "conforms"),
    ("frr", " exec-timeout 0 0", "finding"),
    ("frr", " exec-timeout 0 000", "finding"),
    ("frr", " exec-timeout 10", "conforms"),
]


@pytest.mark.parametrize(("platform", "line", "status"), TIMEOUTS)
def test_a_timeout_of_zero_means_never_and_is_a_finding(platform, line, status):
    head, tail = HEAD[platform]
    cfg = configtext.classify("t.txt", head + line + "\n" + tail, platform, check=True)
    [v] = devicecheck.evaluate(cfg, (RULE,))
    assert v.status == status, (line, v)
    if status == "finding":
        assert [f.text for f in v.findings] == [line]
