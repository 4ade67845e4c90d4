"""testinfra over the estate: each role's suite (roles/<role>/tests) against the hosts of a Seat.

The suites are independent of the roles (each writes its policy out itself), and run from the
same seat as ansible-playbook: over SSH with the seat's ssh_config, then sudo. One pytest run
covers every suite and host; its JUnit report becomes one Result per host, failed when any check
failed on it, with each failed check named (`ssh_hardening: test_password_authentication_is_off`).
A host that cannot be reached fails every check with the SSH error, and the others carry on.
"""

from __future__ import annotations

import re
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import yaml

from .errors import JinbaoError
from .provision import REPO, ROLES, Seat, check_role
from .result import AggregatedResult, Result

CASE = re.compile(r"^(?P<test>[^\[]+)\[(?:ssh://)?(?P<addr>[^\]]+)\]$")


def roles_of(book: Path) -> set[str]:
    """The roles a playbook applies, through its import_playbook lines."""
    found: set[str] = set()
    for play in yaml.safe_load(book.read_text()) or []:
        if "ansible.builtin.import_playbook" in play or "import_playbook" in play:
            inner = play.get("ansible.builtin.import_playbook") or play["import_playbook"]
            found |= roles_of(book.parent / inner)
        for r in play.get("roles", []):
            found.add(r["role"] if isinstance(r, dict) else r)
    return found


def suites(role: str | None = None, book: Path | None = None) -> list[Path]:
    """roles/<role>/tests for every role of the playbook that has one (or the one role named):
    a role the playbook never applied has nothing to verify."""
    if role:
        check_role(role)
    wanted = {role} if role else (roles_of(book) if book else None)
    found = sorted(
        d / "tests" for d in ROLES.iterdir() if (d / "tests").is_dir() and (wanted is None or d.name in wanted)
    )
    if not found:
        raise JinbaoError(f"no testinfra suite in roles/{role or '*'}/tests")
    return found


@dataclass(frozen=True)
class Checks:
    """One verify run: per-host results, every check's outcome, the pytest report."""

    results: AggregatedResult
    checks: dict[str, dict[str, str]]  # host -> "role: test" -> passed / failed / error / skipped
    seconds: float
    log: Path


def verify(s: Seat, role: str | None = None, *, book: Path | None = None, timeout: float = 3600) -> Checks:
    """Run the suites over the seat's hosts (one pytest process; testinfra keeps one SSH link per host)."""
    paths = suites(role, book)
    by_addr = {t.host: name for name, t in s.targets.items()}
    report = s.workdir / "testinfra.xml"
    report.unlink(missing_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        *map(str, paths),
        "-p",
        "no:cacheprovider",
        "-q",
        "--rootdir",
        str(REPO),
        f"--hosts={','.join(f'ssh://{t.host}' for t in s.targets.values())}",
        f"--ssh-config={s.ssh_config()}",
        "--sudo",
        f"--junitxml={report}",
    ]
    t0 = time.monotonic()
    r = s.run(cmd, s.env(), timeout)
    wall = time.monotonic() - t0
    log = s.log("verify", s.redact(r.stdout) + "\n--- stderr ---\n" + s.redact(r.stderr))
    if r.returncode not in (0, 1) or not report.is_file():
        raise JinbaoError(f"testinfra could not run (pytest rc {r.returncode}); its output: {log}")
    checks: dict[str, dict[str, str]] = {name: {} for name in s.targets}
    why: dict[str, list[str]] = {name: [] for name in s.targets}
    for case in ET.parse(report).getroot().iter("testcase"):
        m = CASE.match(case.get("name", ""))
        if not m or m["addr"] not in by_addr:
            continue
        host = by_addr[m["addr"]]
        suite = _role_of(case.get("classname", ""), case.get("file", ""))
        label = f"{suite}: {m['test']}"
        outcome = "passed"
        for kind in ("failure", "error", "skipped"):
            el = case.find(kind)
            if el is not None:
                outcome = {"failure": "failed"}.get(kind, kind)
                if kind != "skipped":
                    first = (el.get("message") or "").strip().splitlines()
                    why[host].append(f"{label}{': ' + s.redact(first[0])[:200] if first else ''}")
                break
        checks[host][label] = outcome
    agg = AggregatedResult("verify")
    for host in s.targets:
        passed = sum(o == "passed" for o in checks[host].values())
        missing = [] if checks[host] else ["no check ran on this host"]
        agg.add(
            Result(
                host,
                "verify",
                failed=bool(why[host] or missing),
                data={"passed": passed, "checks": checks[host]},
                problems=tuple(why[host] + missing),
            )
        )
    return Checks(agg, checks, wall, log)


def _role_of(classname: str, file: str) -> str:
    # pytest's classname is the module path: roles.ssh_hardening.tests.test_ssh_hardening
    parts = (file or classname).replace("/", ".").split(".")
    return parts[parts.index("roles") + 1] if "roles" in parts[:-1] else classname
