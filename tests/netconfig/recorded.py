"""The vendor platforms' cases for the conformance suite: a driver over a recorded session.

Each case replays `recordings/<platform>/sessions/<scenario>.txt` (the test's name) on top of the
read-only `reads.txt`; a test without a dialogue file of its own only reads.
"""

from __future__ import annotations

from pathlib import Path

from jinbao.target import Target
from netconfig.drivers import registry
from netconfig.drivers.replay import Replay

MARK = "jinbao-conformance"

RECORDINGS = Path(__file__).parent / "recordings"
# platform: (device, management address, management port, route probe, the line it refuses, why)
RECORDED = {
    "huawei_vrp": (
        "chuzhou-wan1",
        "10.35.10.2",
        "GigabitEthernet0/0/0",
        "10.34.0.1",
        " portswitch",
        "Error: Unrecognized command found at '^' position.",
    ),
    "h3c_comware": (
        "prov-fw-dec",
        "10.35.0.11",
        "GigabitEthernet1/0/0",
        "10.34.68.1",
        " port link-mode bridge",
        "% Unrecognized command found at '^' position.",
    ),
    "cisco_ios": (
        "prov-core1",
        "10.35.0.2",
        "GigabitEthernet0/0",
        "10.34.68.1",
        " switchport",
        "% Invalid input detected at '^' marker.",
    ),
}


def recorded_case(case: type, platform: str, scenario: str):
    name, host, mgmt, probe, bad, says = RECORDED[platform]
    sessions = RECORDINGS / platform / "sessions"
    make_driver = registry()[platform].make
    prompt = make_driver.PROMPT  # type: ignore[attr-defined]
    replay = Replay(platform, prompt, sessions, scenario if (sessions / f"{scenario}.txt").exists() else None)
    target = Target(name, platform, host, "jinbao")

    def make():
        d = make_driver(target)
        d._make = lambda t: replay  # type: ignore[attr-defined]
        return d

    def mark(cfg: str) -> str:  # the loopback's description, in every platform's syntax
        return cfg.replace(" description router-id", f" description {MARK}")

    return case(
        id=platform,
        make=make,
        expect_hostname=name,
        expect_ospf=True,
        route_probe=probe,
        with_marker=mark,
        has_marker=lambda cfg: MARK in cfg,
        out_of_band=lambda: replay.running,  # the device's state, as the recording has it
        mgmt_interface=mgmt,
        all_full=False,
        replay=replay,
        with_error=lambda cfg: mark(cfg).replace(f" description {MARK}", f" description {MARK}\n{bad}"),
        device_error=says,
    )
