"""One lab for every role's lab test: bringing a lab up costs minutes, and the modules converge
one role each, so they share it and run in an order where each sees what it expects.
(test_provision_lab converges them all on a lab of its own.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.roles import labtools

HERE = Path(__file__).parent

# The lab modules' order: harden.yml's roles first, in the playbook's own order (each asserts its
# first converge changes every server it targets, so it must come before anything that converges
# it); pki before firewall_host, because pki's check connects to PostgreSQL on the management
# address, which the host firewall rightly drops; dr_prepare after pki (it deploys certificates
# again, readable by postgres) and before firewall_host (its lab cluster replicates on the
# management network, which the host firewall rightly closes to PostgreSQL); provision last, since
# it converges everything.
LAB_ORDER = [
    "common",
    "ssh_hardening",
    "os_hardening",
    "auditd",
    "snmpd",
    "pki",
    "dr_prepare",
    "firewall_host",
    "provision",
]


@pytest.fixture(scope="package")
def roles_lab():
    yield from labtools.own_lab()


def _rank(item) -> int:
    stem = Path(str(item.fspath)).stem
    role = stem.removeprefix("test_").removesuffix("_lab")
    if not stem.endswith("_lab"):
        return -1  # argument-spec and variable tests need no lab: they keep their place, first
    assert role in LAB_ORDER, f"{stem}.py: add {role!r} to LAB_ORDER in {__file__}"
    return LAB_ORDER.index(role)


def pytest_collection_modifyitems(items):
    mine = [i for i, item in enumerate(items) if Path(str(item.fspath)).parent == HERE]
    if mine:
        block = sorted((items[i] for i in mine), key=_rank)  # stable: a module's tests keep their order
        for i, item in zip(mine, block, strict=True):
            items[i] = item
