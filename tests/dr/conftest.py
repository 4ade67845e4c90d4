"""One lab for every lab test of tests/dr, always torn down (JINBAO_TEST_LAB=<id> reuses one you
brought up): bringing up a lab and its PostgreSQL pair costs more than most drills."""

import os

import pytest

from tests.support import run_cli


@pytest.fixture(scope="session")
def drlab():
    if os.geteuid() != 0:
        pytest.skip("the lab needs root (network namespaces)")
    reuse = os.environ.get("JINBAO_TEST_LAB")
    if reuse:
        run_cli("lab", "db", "up", "--id", reuse, check=True)
        yield reuse
        return
    from lab import runtime

    lab = runtime.up("lab", runtime.new_id(), wait=True, timeout=180)
    try:
        r = run_cli("lab", "db", "up", "--id", lab.id)
        assert r.returncode == 0, r.stderr
        yield lab.id
    finally:
        runtime.down(lab)
