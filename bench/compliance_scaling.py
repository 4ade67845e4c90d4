"""Reading and judging stay linear in the dump's size (issue 14's probe, item 6): each input is
timed at n and 4n lines, about 4x the time when linear, 16x when quadratic. A benchmark, not a
test (the suite has no timed tests); `make bench-compliance` prints it after the province.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from compliance import configtext, devicecheck  # noqa: E402
from compliance.registry import registry  # noqa: E402

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


def _linear(what: str, make, n: int, platform: str) -> None:
    small, big = _seconds(make, n, platform), _seconds(make, 4 * n, platform)
    verdict = "linear" if big / small < 8 else "WORSE THAN LINEAR"
    print(f"  {what}: n={n} {small:.3f} s, 4n {big:.3f} s, ratio {big / small:.1f} ({verdict})")


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


def main() -> None:
    print("audit config scaling (least of 3 runs each):")
    _linear("a run of blanks and dashes (pager residue)", _pager, 10_000, "cisco_ios")
    _linear("BGP neighbours, one in ten with a password", _neighbours, 2_000, "cisco_ios")
    _linear("security-policy rules inside policies", _policies, 2_000, "h3c_comware")


if __name__ == "__main__":
    main()
