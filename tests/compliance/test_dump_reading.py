"""How `jinbao audit config` reads the files it is handed (issue 14's probe, items 4, 8, 9, 11-13).

An empty or binary file, or one holding two devices' configs, is refused (exit 2, naming the file
and the fix) whatever --platform says; a UTF-16 export or a terminal capture is read with the
file's own line numbers. Every bad file is named at once; the same file given twice counts once.
"""

from __future__ import annotations

import json
import os

import pytest

from compliance import configtext, devicecheck
from compliance.registry import registry
from tests.support import REPO, run_cli

CONFIGS = REPO / "tests/compliance/configs"
WEAK_IOS = CONFIGS / "weak-ios.txt"
RULES = registry().of("device_config")


def _findings(path, platform=None):
    cfg = configtext.read(path, platform)
    return cfg, {(v.rule, f.line) for v in devicecheck.evaluate(cfg, RULES) for f in v.findings}


@pytest.mark.parametrize("platform", [None, "cisco_ios"])
@pytest.mark.parametrize(
    "content, said",
    [
        (b"", "is empty"),
        (b"\n \r\n\t\n", "is empty"),
        (b"\x00" * 512, "is empty"),
        (bytes(range(256)) * 8, "is not text"),
        (b"hostname a\n" + b"\x00\x01\x02\x03\x00\x00\x10\x00" * 64, "is not text"),
    ],
    ids=["empty", "blanks", "nuls", "bytes", "nuls-inside"],
)
def test_an_empty_or_binary_file_is_exit_2_whatever_the_platform(tmp_path, content, said, platform):
    f = tmp_path / "dump.bin"
    f.write_bytes(content)
    r = run_cli("audit", "config", str(f), *(["--platform", platform] if platform else []))
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"{f}: {said}" in r.stderr and "pass --platform" not in r.stderr


@pytest.mark.parametrize("codec, bom", [("utf-16-le", True), ("utf-16-le", False), ("utf-16-be", False)])
def test_a_utf16_dump_is_decoded_with_its_own_line_numbers(tmp_path, codec, bom):
    text = WEAK_IOS.read_text().replace("hostname", "! 上海 营业厅\nhostname", 1)  # 上 is 0x4E0A: a 0x0A byte
    plain = tmp_path / "utf8.txt"
    plain.write_text(text)
    f = tmp_path / "utf16.txt"
    f.write_bytes(("\ufeff" if bom else "").encode(codec) + text.encode(codec) + b"\x00" * 3)
    cfg, found = _findings(f)
    assert cfg.encoding.startswith("utf-16") and "! 上海 营业厅" in cfg.lines
    assert found and found == _findings(plain)[1]


def test_the_province_s_configs_and_published_dumps_are_not_taken_for_two():
    files = sorted(CONFIGS.glob("*.txt")) + sorted(p for p in (CONFIGS / "published").iterdir() if p.suffix != ".md")
    for p in files:
        if p.name == "fragment-vrp.txt":
            continue
        configtext.read(p)  # raises on two configs, empty, binary


@pytest.mark.parametrize(
    "first, second, lines",
    [("weak-ios.txt", "weak-ios.txt", "hostname/sysname at lines"), ("weak-ios.txt", "weak-vrp.txt", None)],
)
def test_two_configs_in_one_file_are_exit_2_naming_the_lines(tmp_path, first, second, lines):
    a, b = (CONFIGS / first).read_text(), (CONFIGS / second).read_text()
    f = tmp_path / "two.txt"
    f.write_text(a + b)
    r = run_cli("audit", "config", "--json", str(f))
    assert r.returncode == 2, r.stdout
    name_a = next(i for i, x in enumerate(a.splitlines(), 1) if x.startswith(("hostname", "sysname")))
    name_b = len(a.splitlines()) + next(
        i for i, x in enumerate(b.splitlines(), 1) if x.startswith(("hostname", "sysname"))
    )
    assert f"holds 2 configs (hostname/sysname at lines {name_a}, {name_b})" in r.stderr
    assert "split it" in r.stderr


def test_every_bad_file_is_named_at_once_and_nothing_is_judged(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    binary = tmp_path / "binary.bin"
    binary.write_bytes(bytes(range(256)) * 4)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    r = run_cli("audit", "config", str(WEAK_IOS), str(empty), str(binary), str(fifo))
    assert r.returncode == 2 and r.stdout == ""
    for f in (empty, binary, fifo):
        assert str(f) in r.stderr


def test_the_same_file_twice_is_judged_once(tmp_path):
    link = tmp_path / "link.txt"
    link.symlink_to(WEAK_IOS)
    r = run_cli("audit", "config", "--json", str(WEAK_IOS), str(link))
    assert r.returncode == 1, r.stderr
    body = json.loads(r.stdout)
    assert [f["file"] for f in body["files"]] == [str(WEAK_IOS)]
    assert len(body["verdicts"]) == len(RULES)


@pytest.mark.parametrize(
    "dump, before, after",
    [
        ("weak-ios.txt", "branch-rtr9#show running-config", "branch-rtr9#"),
        ("weak-vrp.txt", "<city-ar9>display current-configuration", "<city-ar9>"),
        ("weak-comware7.txt", "<cw7>display current-configuration", "[cw7]"),
    ],
)
def test_a_terminal_capture_is_judged_whole_with_the_file_s_line_numbers(tmp_path, dump, before, after):
    f = tmp_path / "session.txt"
    f.write_text(f"{before}\n{(CONFIGS / dump).read_text()}{after}\n")
    cfg, found = _findings(f)
    plain_cfg, plain = _findings(CONFIGS / dump)
    assert cfg.complete == plain_cfg.complete is True
    assert found == {(rule, line + 1 if line else line) for rule, line in plain}


@pytest.mark.parametrize(
    "dump, given, like",
    [("weak-comware5-gbk.txt", "huawei_vrp", "h3c_comware"), ("weak-frr.txt", "h3c_comware", "frr")],
)
def test_a_platform_showing_one_shared_mark_is_not_taken_for_the_dump_s_own(dump, given, like):
    r = run_cli("audit", "config", "--platform", given, str(CONFIGS / dump))
    assert r.returncode == 2, r.stdout
    err = " ".join(r.stderr.split())
    assert f"given as --platform {given}, but it looks like {like}" in err and f"pass --platform {like}" in err


def test_each_neighbour_without_its_password_is_found_and_no_other():
    """The one-pass `each` step (probe item 6; its speed is in bench/compliance_scaling.py) finds
    the same neighbours as one search per neighbour did: those with no password line of their own."""
    ios = (CONFIGS / "weak-ios.txt").read_text()
    many = "".join(f" neighbor 10.0.0.{i} remote-as 65020\n" for i in range(100))
    pw = "".join(f" neighbor 10.0.0.{i} password x\n" for i in range(0, 100, 10))
    cfg = configtext.classify("t.txt", ios.replace(" neighbor 198.51.100.1 remote-as 65020\n", many + pw), "cisco_ios")
    [v] = [v for v in devicecheck.evaluate(cfg, registry().of("device_config")) if v.rule == "DEV-ROUTING-AUTH"]
    lacking = {f.text.split()[1] for f in v.findings if f.text.strip().startswith("neighbor")}
    assert lacking == {f"10.0.0.{i}" for i in range(100) if i % 10}
