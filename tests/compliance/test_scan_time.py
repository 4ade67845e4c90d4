"""Reading and judging stay linear in the dump's size (issue 14's probe, item 6).

Each check times a dump and one 4x its size: about 4x the time when linear, 16x when quadratic.
Relative to a baseline measured here, so a slow or busy box does not flake.
"""

from __future__ import annotations

import time

from compliance import configtext, devicecheck
from compliance.registry import registry
from tests.support import REPO

CONFIGS = REPO / "tests/compliance/configs"
RULES = registry().of("device_config")


def _seconds(make, n: int, platform: str) -> float:
    text = make(n)
    best = float("inf")
    for _ in range(3):  # the least of three: a busy box only ever adds time
        t0 = time.perf_counter()
        devicecheck.evaluate(configtext.classify("t.txt", text, platform), RULES)
        best = min(best, time.perf_counter() - t0)
    return best


def _linear(make, n: int, platform: str) -> None:
    small, big = _seconds(make, n, platform), _seconds(make, 4 * n, platform)
    assert big / small < 8, (small, big)


def _pager(n: int) -> str:
    ios = (CONFIGS / "weak-ios.txt").read_text()
    return ios.replace("ip http server\n", "ip http server\n" + " " * n + "x --- More\n" + "-" * n + "\n")


def _neighbours(n: int) -> str:
    ios = (CONFIGS / "weak-ios.txt").read_text()
    many = "".join(f" neighbor 10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256} remote-as 65020\n" for i in range(n))
    # one in ten has its password, after all the neighbours
    pw = "".join(f" neighbor 10.0.{i // 256 % 256}.{i % 256} password x\n" for i in range(0, n, 10))
    return ios.replace(" neighbor 198.51.100.1 remote-as 65020\n", many + pw)


def _policies(n: int) -> str:
    cw = (CONFIGS / "weak-comware7.txt").read_text()
    blocks = "".join(
        f"security-policy ip\n rule {i} name r{i}\n  action pass\n  source-zone trust\n#\n" for i in range(n)
    )
    return cw.replace("\nreturn", "\n" + blocks + "return")


def test_a_long_run_of_blanks_or_dashes_is_cleaned_in_linear_time():
    _linear(_pager, 10_000, "cisco_ios")


def test_each_neighbour_is_checked_in_linear_time_and_the_same_as_before():
    _linear(_neighbours, 2_000, "cisco_ios")
    cfg = configtext.classify("t.txt", _neighbours(100), "cisco_ios")
    [v] = [v for v in devicecheck.evaluate(cfg, RULES) if v.rule == "DEV-ROUTING-AUTH"]
    lacking = {f.text.split()[1] for f in v.findings if f.text.strip().startswith("neighbor")}
    assert lacking == {f"10.0.0.{i}" for i in range(100) if i % 10}


def test_policy_rules_inside_policies_are_found_in_linear_time():
    _linear(_policies, 2_000, "h3c_comware")
