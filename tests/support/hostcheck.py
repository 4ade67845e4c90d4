"""What a lab could leave on the machine, read from the system itself, not from the lab's records.

snapshot() covers the root namespace's links, routes, rules and nftables, the mount table,
sysctls, and the trees of /etc, /run and /var/tmp. Another lab that is up while the snapshot is
taken (the test session's shared lab) is left out by its id, so the comparison is about the labs
under test only.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import time
from pathlib import Path

from lab.host import HOST_DIRS
from lab.record import LAB_ROOT, Lab

# Counters the kernel changes by itself; anything else that changes is something a lab did.
VOLATILE_SYSCTL = re.compile(
    r"^(fs\.(dentry-state|file-nr|inode-nr|inode-state|aio-nr|quota\.)|kernel\.(random\.|ns_last_pid|pty\.nr"
    r"|sched_domain|perf_event)|net\.netfilter\.nf_conntrack_count|vm\.stat|net\.ipv6\.route\.gc)"
)


def _run(*args: str) -> str:
    return subprocess.run(args, capture_output=True, text=True).stdout


def _tree(top: str, skip) -> set[str]:
    out = set()
    for root, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if not skip(os.path.join(root, d))]
        for name in [*dirs, *files]:
            path = os.path.join(root, name)
            if not skip(path):
                out.add(path)
    return out


def _etc() -> dict[str, tuple]:
    """/etc with each file's mode, size and mtime: a lab must not change even a byte of it."""
    out = {}
    for path in _tree("/etc", lambda p: False):
        try:
            st = os.lstat(path)
        except OSError:
            continue
        out[path] = (
            st.st_mode,
            st.st_size if not os.path.isdir(path) else 0,
            st.st_mtime_ns if not os.path.isdir(path) else 0,
        )
    return out


def _sysctls() -> dict[str, str]:
    out = {}
    for line in _run("sysctl", "-a").splitlines():
        k, _, v = line.partition(" = ")
        if not VOLATILE_SYSCTL.match(k):
            out[k] = v
    return out


def _orphan_netns_processes() -> set[int]:
    """Processes in a network namespace that is neither the host's nor a named one (a lab's
    process that outlived its namespace's name), and still there a second later. Checks that run
    beside the suite (netconfig's `nft -c` and `sshd -t` under `unshare --net`, in the other
    worker of `make test`) live a few milliseconds in namespaces of their own; a leaked daemon
    stays."""
    seen = _unnamed_netns_processes()
    deadline = time.monotonic() + 1.0
    while seen and time.monotonic() < deadline:
        time.sleep(0.2)
        seen &= _unnamed_netns_processes()
    return seen


def _unnamed_netns_processes() -> set[int]:
    named = set()
    for p in Path("/run/netns").glob("*") if Path("/run/netns").is_dir() else []:
        with contextlib.suppress(OSError):
            named.add(os.stat(p).st_ino)
    host = os.stat("/proc/self/ns/net").st_ino
    out = set()
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ino = os.stat(d / "ns" / "net").st_ino
            except OSError:
                continue
            if ino != host and ino not in named:
                out.add(int(d.name))
    return out


def _sysv_ipc() -> list[str]:
    """The host IPC namespace's shared memory, semaphores and queues, by kind, key and owner."""
    out = []
    for kind in ("-m", "-s", "-q"):
        for line in _run("ipcs", kind).splitlines():
            f = line.split()
            if len(f) >= 3 and f[0].startswith("0x"):
                out.append(f"{kind} key={f[0]} owner={f[2]}")
    return sorted(out)


def _lab_processes() -> list[str]:
    """Processes, in any namespace, whose command line names a lab (its folder or a namespace
    '<id>-<node>'): a `tail` of a node's log, an `ip netns exec` that outlived its lab."""
    named = re.compile(rf"{re.escape(str(LAB_ROOT))}/|(?:^|[\s/=])jb[a-z0-9]{{2,12}}-")
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit() and int(d.name) != os.getpid():
            with contextlib.suppress(OSError):
                cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
                if named.search(cmd):
                    out.append(cmd)
    return sorted(out)


def _known_ids(path: str, column: int = 2) -> set[int]:
    return {int(f[column]) for f in (line.split(":") for line in Path(path).read_text().splitlines()) if len(f) > 2}


def _unknown_owner(tops: tuple[str, ...], skip) -> list[str]:
    """Files owned by a user or group the machine does not have: a lab account's (uid 2600 is
    only in the nodes' own /etc/passwd), left outside the lab's folder."""
    uids, gids = _known_ids("/etc/passwd"), _known_ids("/etc/group")
    out = []
    for top in tops:
        for path in _tree(top, skip):
            with contextlib.suppress(OSError):
                st = os.lstat(path)
                if st.st_uid not in uids or st.st_gid not in gids:
                    out.append(f"{path} {st.st_uid}:{st.st_gid}")
    return sorted(out)


class Foreign:
    """The labs not under test: every lab seen up at any snapshot, minus those the test made.

    Another checkout's tests or a developer's demo may bring a lab up or down at any moment on a
    shared machine; its resources carry its own id, so leaving them out by id keeps the check
    about the labs under test, and a leftover of those can never hide behind another lab."""

    def __init__(self) -> None:
        self.mine: set[str] = set()
        self.seen: set[str] = set(Lab.all_ids())

    def ids(self) -> set[str]:
        self.seen |= set(Lab.all_ids())
        return self.seen - self.mine


# What the check's own self-test leaves on purpose (a stray file, a process naming a lab) carries
# this made-up lab id: the other worker's hygiene tests, running at the same moment, must not see it.
SELF_TEST = "jbzz99"


def snapshot(exclude: set[str] | Foreign | None = None, self_test: bool = False) -> dict:
    """The machine as labs could change it, minus what belongs to labs in exclude (ids, or a
    Foreign; default: every lab up now, so labs started after the snapshot show as differences),
    and minus the self-test's strays unless self_test."""
    others = set(Lab.all_ids()) if exclude is None else exclude.ids() if isinstance(exclude, Foreign) else exclude
    others = set(others) if self_test else {*others, SELF_TEST}
    other = re.compile("|".join(map(re.escape, sorted(others)))) if others else None
    # The folders labs share (and their markers) come and go with whichever lab is first up and
    # last down; with another lab around, their presence says nothing about the labs under test.
    shared = {str(d) for d in HOST_DIRS} | {str(LAB_ROOT)}

    def theirs(text: str) -> bool:
        if other and (text in shared or any(text.startswith(f"{d}/.") for d in shared)):
            return True
        return bool(other and other.search(text))

    def lines(text: str) -> list[str]:
        return sorted(line for line in text.splitlines() if not theirs(line))

    mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    etc = {k: v for k, v in _etc().items() if not theirs(k)}
    return {
        "links": lines(_run("ip", "-o", "link")),
        "addrs": lines(_run("ip", "-o", "addr")),
        "routes": lines(
            _run("ip", "route", "show", "table", "all") + _run("ip", "-6", "route", "show", "table", "all")
        ),
        "rules": lines(_run("ip", "rule") + _run("ip", "-6", "rule")),
        "nft": _run("nft", "list", "ruleset"),
        "netns": lines(_run("ip", "netns", "list")),
        "mounts": sorted(m for m in mounts if not theirs(m)),
        "sysctl": _sysctls(),
        "etc": etc,
        "run": sorted(p for p in _tree("/run", lambda p: p.startswith(("/run/user", "/run/systemd"))) if not theirs(p)),
        "var_tmp": sorted(p for p in _tree("/var/tmp", theirs) if not theirs(p)),
        "orphan_netns_processes": _orphan_netns_processes(),
        # a postmaster killed with -9 leaves its System V segment and /dev/shm files behind
        # unless they lived in the node's own IPC namespace and data dir
        "sysv_ipc": _sysv_ipc(),
        # (sem.mp-*: Python multiprocessing's semaphores, the test runner's own; a lab runs no Python there)
        "dev_shm": sorted(p for p in _tree("/dev/shm", theirs) if not theirs(p) and "/sem.mp-" not in p),
        # tools run as root in a node keep histories in the host's home (vtysh: .history_frr)
        "root_histories": {p.name: p.stat().st_mtime_ns for p in Path("/root").glob(".history*")},
        # ssh and Ansible run as root keep known_hosts, control sockets and temp files in home
        "root_ssh_ansible": sorted(p for d in ("/root/.ssh", "/root/.ansible") for p in _tree(d, lambda p: False)),
        "lab_processes": [cmd for cmd in _lab_processes() if not theirs(cmd)],
        "unknown_owner": _unknown_owner(
            ("/tmp", "/var/tmp", "/run", "/dev/shm", "/home", "/root/.ssh", "/root/.ansible"),
            lambda p: theirs(p) or p.startswith(f"{LAB_ROOT}/"),
        ),
    }


def settled_snapshot(exclude: set[str] | Foreign | None = None) -> dict:
    """A baseline: two snapshots a moment apart, keeping only what held still in both."""
    a = snapshot(exclude)
    time.sleep(0.5)
    b = snapshot(exclude)
    b["sysctl"] = {k: v for k, v in b["sysctl"].items() if a["sysctl"].get(k) == v}
    return b


def diff(before: dict, after: dict) -> dict:
    """What differs, per aspect (sysctls compared on the baseline's keys only)."""
    out = {}
    for key, was in before.items():
        now = after[key]
        if key == "sysctl":
            changed = {k: (v, now.get(k)) for k, v in was.items() if now.get(k) != v}
            if changed:
                out[key] = changed
        elif isinstance(was, dict):
            changed = {k for k in set(was) | set(now) if was.get(k) != now.get(k)}
            if changed:
                out[key] = sorted(changed)
        elif isinstance(was, (list, set)):
            gone, new = sorted(set(was) - set(now)), sorted(set(now) - set(was))
            if key == "orphan_netns_processes":
                gone = []  # a process that ended is no leak
            if gone or new:
                out[key] = {"gone": gone, "new": new}
        elif was != now:
            out[key] = {"before": was, "after": now}
    return out
