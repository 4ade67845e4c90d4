"""Golden files of the core: the resolved estates and the IP allocator's results.

A changed golden file is a changed estate: every address a device gets is in
tests/golden/estate/*.json, so an allocator or resolver change that moves one shows here as a diff.
Mismatch: the test fails with a unified diff. `JINBAO_UPDATE_GOLDEN=1 pytest tests/core/test_golden.py`
rewrites the golden files and fails naming them (so an update run never passes as a green run);
review the rewrite with `git diff tests/golden` and commit it with the change that caused it.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest

from jinbao.ipalloc import Hosts, Pool
from tests.support import run_cli
from tests.support.golden import GOLDEN, check

# Set while the estate is shown: the JSON must carry the references, never what they resolve to.
SENTINEL_SECRETS = {
    "JINBAO_SNMP_AUTH_KEY": "sentinel-auth-value-must-not-show",
    "JINBAO_SNMP_PRIV_KEY": "sentinel-priv-value-must-not-show",
}


@pytest.mark.parametrize("estate", ["province", "lab"])
def test_resolved_estate_matches_golden(estate):
    r = run_cli("--estate", estate, "inventory", "show", "--json", env=SENTINEL_SECRETS)
    assert r.returncode == 0, r.stderr
    assert not [v for v in SENTINEL_SECRETS.values() if v in r.stdout], "a secret value reached the JSON"
    check(GOLDEN / "estate" / f"{estate}.json", r.stdout)


# Pool cases: (network, blocks reserved first, prefix lengths asked for in order).
POOL_CASES = {
    # aligned first fit; the cursor only moves forward, so a small block leaves a gap behind it
    "pool_first_fit": ("10.0.0.0/24", [], [26, 28, 26, 30, 25, 28]),
    # explicit blocks are stepped over; one outside the pool is not the pool's to reserve
    "pool_around_reserved": ("10.0.0.0/24", ["10.0.0.0/26", "10.0.0.96/27", "10.9.0.0/24"], [27, 27, 26, 28, 24]),
    # a block larger than the pool, then the pool exactly, then nothing left
    "pool_exhausted": ("10.0.0.0/28", [], [24, 28, 29]),
}

# Hosts cases: (subnet, skip_first, addresses already taken, how many times next() is called).
HOSTS_CASES = {
    "hosts_skip_and_taken": ("192.168.1.0/29", 1, ["192.168.1.3"], 6),
    "hosts_point_to_point_31": ("192.168.1.0/31", 0, [], 3),
    "hosts_30": ("192.168.1.4/30", 0, ["192.168.1.5"], 3),
}


def _pool_log(network: str, reserved: list[str], asks: list[int]) -> str:
    pool = Pool(IPv4Network(network))
    out = [f"pool {network}"]
    for net in reserved:
        pool.reserve(IPv4Network(net))
        out.append(f"reserve {net}")
    for prefixlen in asks:
        out.append(f"allocate /{prefixlen} -> {pool.allocate(prefixlen)}")
    return "\n".join(out) + "\n"


def _hosts_log(net: str, skip_first: int, taken: list[str], calls: int) -> str:
    hosts = Hosts(IPv4Network(net), skip_first=skip_first)
    out = [f"hosts {net} skip_first={skip_first}"]
    for addr in taken:
        hosts.take(IPv4Address(addr))
        out.append(f"take {addr}")
    out += [f"next -> {hosts.next()}" for _ in range(calls)]
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("case", sorted(POOL_CASES))
def test_pool_allocation_matches_golden(case):
    check(GOLDEN / "ipalloc" / f"{case}.txt", _pool_log(*POOL_CASES[case]))


@pytest.mark.parametrize("case", sorted(HOSTS_CASES))
def test_hosts_allocation_matches_golden(case):
    check(GOLDEN / "ipalloc" / f"{case}.txt", _hosts_log(*HOSTS_CASES[case]))


def test_every_ipalloc_golden_file_has_a_case():
    """A golden file whose case was renamed or dropped would otherwise sit there unchecked."""
    files = {p.stem for p in (GOLDEN / "ipalloc").glob("*.txt")}
    assert files == set(POOL_CASES) | set(HOSTS_CASES)
