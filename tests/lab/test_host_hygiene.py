"""After labs come and go, the machine is exactly as it was.

Checked against the system itself (tests/support/hostcheck.py): links, addresses, routes, rules,
nftables, namespaces, mounts, sysctls, /etc (every file's mode, size and mtime), /run and
/var/tmp. This module sorts before test_lab.py, so in a full run no other lab is up yet and the
labs here are the ones that create and remove the shared host folders (/etc/netns, /var/tmp/frr).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab import runtime
from lab.host import HOST_DIRS
from tests.support import JINBAO, REPO, run_cli
from tests.support.hostcheck import SELF_TEST, Foreign, diff, settled_snapshot, snapshot

pytestmark = pytest.mark.lab


@pytest.fixture
def others():
    """Labs not under test (a developer's demo, another checkout's tests), up before or during
    the test: left out of every snapshot by id (hostcheck.Foreign)."""
    if os.geteuid() != 0:
        pytest.skip("the lab needs root (network namespaces)")
    return Foreign()


def _up(others: Foreign):
    lab_id = runtime.new_id()
    others.mine.add(lab_id)
    return runtime.up("lab", lab_id, wait=False)


@pytest.mark.slow
def test_five_up_down_cycles_leave_the_host_as_it_was(others):
    before = settled_snapshot(others)
    for i in range(5):
        lab = _up(others)
        try:
            # the daemons really ran: FRR wrote its per-daemon folders (into the node's tmpfs)
            r = lab.in_node("prov-wan1", ["bash", "-c", "ls /var/tmp/frr | wc -l"])
            assert int(r.stdout) >= 5, r.stdout
            assert all(d.is_dir() for d in HOST_DIRS)
        finally:
            runtime.down(lab)
        assert diff(before, snapshot(others)) == {}, f"after cycle {i + 1}"


@pytest.mark.slow
def test_two_overlapping_labs_leave_the_host_as_it_was(others):
    """The lab that made the shared host folders goes down first; the last one out removes them."""
    before = settled_snapshot(others)
    first = _up(others)
    try:
        second = _up(others)
        try:
            # with several labs up, a bare 'down' removes none of them
            r = run_cli("lab", "down", env={"JINBAO_LAB_ID": ""})
            assert r.returncode == 2 and "several labs are up" in r.stderr, r.stdout + r.stderr
            assert first.running("prov-wan1") and second.running("prov-wan1")
            runtime.down(first)
            # the second lab still needs the folders the first one made, and still works
            assert all(d.is_dir() for d in HOST_DIRS)
            assert second.in_node("prov-wan1", ["true"]).returncode == 0
            assert Path("/etc/netns", f"{second.id}-prov-wan1").is_symlink()
        finally:
            runtime.down(second)
    finally:
        if first.traces():
            runtime.down(first)
    assert diff(before, snapshot(others)) == {}


def test_down_of_an_unknown_lab_changes_nothing(others):
    before = snapshot(others)
    r = run_cli("lab", "down", "--id", "jbnotalab")
    assert r.returncode == 2 and "no lab jbnotalab" in r.stderr
    assert diff(before, snapshot(others)) == {}


def _lab_namespaces(lab_id):
    return [
        line
        for line in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.splitlines()
        if line.startswith(f"{lab_id}-")
    ]


@pytest.mark.slow
def test_down_after_a_killed_up_leaves_nothing_and_up_works_again(others):
    lab_id = runtime.new_id()
    others.mine.add(lab_id)
    before = settled_snapshot(others)
    # an 'up' killed part-way: after some namespaces and nodes exist
    proc = subprocess.Popen(
        [*JINBAO, "lab", "up", "--id", lab_id], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.time() + 60
        while len(_lab_namespaces(lab_id)) < 10 and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        time.sleep(0.5)  # let it get further, into starting nodes
    finally:
        proc.kill()
        proc.wait()
    assert _lab_namespaces(lab_id), "the kill should have left a half-built lab"
    r = run_cli("lab", "down", "--id", lab_id)
    assert r.returncode == 0, r.stderr
    assert diff(before, snapshot(others)) == {}
    # a second down finds nothing left, and says so
    r = run_cli("lab", "down", "--id", lab_id)
    assert r.returncode == 2 and f"no lab {lab_id}" in r.stderr
    # and a full up/down cycle works after it
    r = run_cli("lab", "up", "--id", lab_id, timeout=300)
    assert r.returncode == 0, r.stderr
    assert len(_lab_namespaces(lab_id)) == 17
    assert run_cli("lab", "down", "--id", lab_id).returncode == 0
    assert diff(before, snapshot(others)) == {}


@pytest.mark.slow
def test_a_database_killed_with_sigkill_leaves_nothing_after_down(others):
    """PostgreSQL is the lab's heaviest tenant: shared memory, semaphores, sockets, a postmaster
    per node. Killed with -9 (as a failover drill does), nothing of it may outlive `lab down`."""
    from lab import db

    before = settled_snapshot(others)
    lab_id = runtime.new_id()
    others.mine.add(lab_id)
    lab = runtime.up("lab", lab_id)  # waits for routing: the standby replicates over the WAN
    try:
        db.prepare(lab)
        pair = db.status(lab)[0]
        primary = pair["primary"]
        assert primary["role"] == "primary" and pair["standby"]["role"] == "standby", pair
        os.kill(int(primary["pid"]), 9)
        deadline = time.time() + 30
        while db.running(lab, primary["node"]) and time.time() < deadline:
            time.sleep(0.1)
        assert not db.running(lab, primary["node"]), "the killed postmaster is still there"
    finally:
        runtime.down(lab)
    assert diff(before, snapshot(others)) == {}


def test_the_snapshot_sees_a_lab_users_file_and_a_process_naming_a_lab(others, tmp_path):
    """The check itself can fail: a file of the lab's operator account (uid 2600, unknown to the
    machine) and a process naming a lab namespace, both left outside any lab folder."""
    from lab import render

    before = snapshot(others, self_test=True)
    stray = tmp_path / f"{SELF_TEST}-left-by-a-node"
    stray.touch()
    os.chown(stray, render.OPERATOR_UID, render.OPERATOR_UID)
    argv = [sys.executable, "-c", "import time; time.sleep(30)", f"{SELF_TEST}-prov-app1"]
    proc = subprocess.Popen(argv)
    try:
        cmdline = Path(f"/proc/{proc.pid}/cmdline")
        deadline = time.time() + 10
        while SELF_TEST.encode() not in cmdline.read_bytes() and time.time() < deadline:  # until it has exec'd
            time.sleep(0.01)
        d = diff(before, snapshot(others, self_test=True))
    finally:
        proc.kill()
        proc.wait()
        stray.unlink()  # pytest keeps tmp_path: a uid-2600 file there would itself be a leftover
    assert d["unknown_owner"]["new"] == [f"{stray} {render.OPERATOR_UID}:{render.OPERATOR_UID}"], d
    assert d["lab_processes"]["new"] == [" ".join(argv)], d
