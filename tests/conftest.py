"""Fixtures and hooks only; helpers the tests import are in tests/support."""

import glob
import os
import shutil
import tempfile

import pytest

# How `make test` splits the suite between its two workers.
pytest_plugins = ["tests.support.groups"]

_PREFIX = "jinbao-test-state-"
_STATE: list[str] = []  # the folder made for this run, if any
_SET: list[str] = []  # the environment variables this run set
_HELD: list[str | None] = []  # the lab holder this run replaced


_HOLDER_FILE = ".held-by"  # in the run's folder: the process that removes it at its end


def _run_dir() -> str:
    if not _STATE:
        from lab.record import holder

        _STATE.append(tempfile.mkdtemp(prefix=_PREFIX))
        with open(os.path.join(_STATE[0], _HOLDER_FILE), "w") as f:
            f.write(holder())
    return _STATE[0]


def _sweep_run_dirs() -> list[str]:
    """The state folders of test runs killed with -9 (their unconfigure never ran): each names
    its holder, and a folder whose holder is gone is removed. One that names no holder (being
    made this instant) or a living one is left."""
    from lab.record import holder_alive

    removed = []
    for d in glob.glob(os.path.join(tempfile.gettempdir(), _PREFIX + "*")):
        try:
            with open(os.path.join(d, _HOLDER_FILE)) as f:
                held_by = f.read().strip()
        except OSError:
            continue
        if held_by and not holder_alive(held_by):
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed


def pytest_configure(config):
    """Whatever a test runs through the CLI without naming a state folder (a bad-input check, a
    helper's `provision`) writes there, not into the home of the account running the suite: the
    machine keeps nothing of a test run. A test or module that names its own folder still wins.
    So do the tools the tests run for real that keep files in home: matplotlib (`monitor history
    --png`) its font cache in ~/.cache/matplotlib and ~/.config/matplotlib, Ansible
    (ansible-inventory) ~/.ansible/tmp."""
    for var, sub in (("JINBAO_STATE_DIR", ""), ("MPLCONFIGDIR", "matplotlib"), ("ANSIBLE_HOME", "ansible")):
        if var not in os.environ:
            os.environ[var] = os.path.join(_run_dir(), sub) if sub else _run_dir()
            _SET.append(var)
    # A worker of `make test` (tests/support/groups.py) inherits the folder its controller made
    # (and removes); each worker keeps its state apart in it, as two runs would.
    worker, state = os.environ.get("PYTEST_XDIST_WORKER"), os.environ["JINBAO_STATE_DIR"]
    if worker and os.path.basename(state).startswith(_PREFIX):
        os.environ["JINBAO_STATE_DIR"] = os.path.join(state, worker)
        os.makedirs(os.environ["JINBAO_STATE_DIR"], exist_ok=True)
    # Every lab this process brings up, in-process or through the CLI, names it as its holder, so
    # that the next run removes the labs of a run killed with -9 (its finalizers never ran).
    from lab.record import HOLDER_ENV, holder

    _HELD.append(os.environ.get(HOLDER_ENV))
    os.environ[HOLDER_ENV] = holder()


def pytest_sessionstart(session):
    """Sweep the labs of killed test runs (only those: a lab brought up by hand has no holder,
    and a run still going holds its own). Once per run, by the controller."""
    if os.geteuid() != 0 or hasattr(session.config, "workerinput"):
        return
    from lab import runtime

    for lab_id in runtime.down_orphans():
        print(f"jinbao: removed lab {lab_id}, left by a test run that was killed")
    for d in _sweep_run_dirs():
        print(f"jinbao: removed {d}, left by a test run that was killed")


def pytest_unconfigure(config):
    from lab.record import HOLDER_ENV

    for var in _SET:
        os.environ.pop(var, None)
    if _HELD and _HELD[0] is not None:
        os.environ[HOLDER_ENV] = _HELD[0]
    else:
        os.environ.pop(HOLDER_ENV, None)
    for d in _STATE:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def province():
    from jinbao.estate import load_estate

    return load_estate("province")


@pytest.fixture(scope="session")
def lab_estate():
    from jinbao.estate import load_estate

    return load_estate("lab")


# tryfirst: `-m "not lab"` deselects in pytest's own hook of this name, which must see the marker.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Every test that uses the live lab carries the `lab` marker, whether or not it says so."""
    for item in items:
        if "lab" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.lab)


def _root_or_skip():
    if os.geteuid() != 0:
        pytest.skip("the lab needs root (network namespaces); CI and `make test` run as root")


@pytest.fixture(scope="session")
def lab():
    """One live lab for the whole session, always torn down, even when tests fail."""
    _root_or_skip()
    from lab import runtime

    reuse = os.environ.get("JINBAO_TEST_LAB")
    if reuse:  # a lab you brought up yourself, for a quick loop on one test: left up afterwards
        from lab.record import Lab

        yield Lab.find(reuse)
        return
    lab = runtime.up("lab", runtime.new_id(), wait=True, timeout=180)
    try:
        yield lab
    finally:
        runtime.down(lab)
