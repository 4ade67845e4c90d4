"""How `make test` splits the suite between its workers (pytest-xdist, `--dist loadgroup
--no-loadscope-reorder`: the groups keep the order FIRST gives them).

Most of the suite's time is spent waiting on labs (routing to converge, Ansible, drills), not on
the CPU (a two-worker run kept the 2-core machine 37 % busy), so three workers beat two. A worker takes a whole group at a
time, so tests that share a lab share a worker: a module's tests (a module-scoped lab), every
role's lab test (one lab for the package, converged in LAB_ORDER; provisioning has its own),
every DR test (one lab with PostgreSQL for the session). A test using the session-wide `lab`
gets one lab per worker.
"""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent.parent
WHOLE_PACKAGES = ("roles", "dr")
# Modules of those packages with a lab of their own, which need not wait for the package's.
OWN_LAB = ("roles/test_provision_lab.py",)
# The roles' lab tests that need none of harden.yml's roles converged before them: on a worker
# of their own they bring up a package lab of their own (the fixture is per process), so the
# roles' 25 minutes are split in two; on the same worker they follow the others on one lab, in
# LAB_ORDER, as in one process.
SECOND_ROLES_LAB = ("roles/test_pki_lab.py", "roles/test_dr_prepare_lab.py", "roles/test_firewall_host_lab.py")
# The longest groups go first, so that no worker is left alone with one at the end.
FIRST = (
    "roles",
    "roles/test_provision_lab.py",
    "roles-tls-dr-firewall",
    "dr",
    "netconfig/test_rollback.py",
    "netconfig/test_apply.py",
)


def group(item) -> str:
    path = Path(str(item.fspath)).resolve().relative_to(TESTS)
    if path.as_posix() in SECOND_ROLES_LAB:
        return "roles-tls-dr-firewall"
    whole = path.parts[0] in WHOLE_PACKAGES and path.as_posix() not in OWN_LAB
    return path.parts[0] if whole else path.as_posix()


# A wrapper: the marks must be on before xdist's own hook names each test after its group (added
# after it, they were ignored and every group was split between the workers), and the sort must
# come after tests/roles has put its modules in LAB_ORDER.
@pytest.hookimpl(hookwrapper=True)
def pytest_collection_modifyitems(config, items):
    groups = {}
    for item in items:
        groups[id(item)] = g = group(item)  # by id: xdist renames each item (its hash) in between
        item.add_marker(pytest.mark.xdist_group(g))
    yield
    # The scheduler takes the groups in the order the workers collected them (a worker's own
    # config has no numprocesses: sorting on that, nothing was ever sorted).
    if hasattr(config, "workerinput"):

        def rank(item) -> int:
            g = groups.get(id(item), "")
            return FIRST.index(g) if g in FIRST else len(FIRST)

        items.sort(key=rank)  # stable: every group keeps its own order
