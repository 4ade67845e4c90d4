"""testinfra over the estate: each role's suite (roles/<role>/tests) against the hosts of a Seat.

Every run is kept in the state folder (verify/<source>/<time>.json, record()): the per-host,
per-check outcomes are the servers' evidence that `jinbao audit run` reads.

The suites are independent of the roles (each writes its policy out itself), and run from the
same seat as ansible-playbook: over SSH with the seat's ssh_config, then sudo. One pytest run
covers every suite and host; its JUnit report becomes one Result per host, failed when any check
failed on it, with each failed check named (`ssh_hardening: test_password_authentication_is_off`).
A host that cannot be reached fails every check with the SSH error, and the others carry on.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from .errors import JinbaoError
from .provision import REPO, ROLES, Seat, check_role, run_folder
from .result import AggregatedResult, Result
from .state import safe_name, state_dir, write_whole

# A testinfra case id: test[ssh://ADDR], or test[ssh://ADDR-PARAM] when parametrized. `addr` holds
# the address and, if any, the parameter: read_junit splits them against the known addresses, as
# a host name may itself hold "-".
CASE = re.compile(r"^(?P<test>[^\[]+)\[(?:[a-z]+://)?(?P<addr>.*)\]$")


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
    kept: Path  # the run as evidence for `jinbao audit run` (record())


def verify(s: Seat, role: str | None = None, *, book: Path | None = None, timeout: float = 3600) -> Checks:
    """Run the suites over the seat's hosts (one pytest process, one shared SSH connection per host)."""
    paths = suites(role, book)
    by_addr = {t.host: name for name, t in s.targets.items()}
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
        "--sudo",
    ]
    t0 = time.monotonic()
    with run_folder(s) as run:
        report = run / "testinfra.xml"
        cmd += [f"--ssh-config={s.ssh_config(run)}", f"--junitxml={report}"]
        r = s.run(cmd, s.env(), timeout)
        wall = time.monotonic() - t0
        log = s.log("verify", s.redact(r.stdout) + "\n--- stderr ---\n" + s.redact(r.stderr))
        if r.returncode not in (0, 1) or not report.is_file():
            raise JinbaoError(f"testinfra could not run (pytest rc {r.returncode}); its output: {log}")
        checks, why = read_junit(report, by_addr, s.redact)
    try:
        kept = record(s.source, s.estate.name, checks, why, paths)
    except OSError as e:
        raise JinbaoError(
            f"could not keep the verify run in {results_dir(s.source)}: {e}; pytest's output: {log}"
        ) from None
    agg = AggregatedResult("verify")
    for host in s.targets:
        checks.setdefault(host, {})
        passed = sum(o == "passed" for o in checks[host].values())
        missing = [] if checks[host] else ["no check ran on this host"]
        failed = [f"{label}{': ' + m if m else ''}" for label, m in why.get(host, {}).items()]
        agg.add(
            Result(
                host,
                "verify",
                failed=bool(failed or missing),
                data={"passed": passed, "checks": checks[host]},
                problems=tuple(failed + missing),
            )
        )
    return Checks(agg, checks, wall, log, kept)


def read_junit(
    report: Path, by_addr: dict[str, str], redact: Callable[[str], str] = str
) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    """pytest's JUnit report as host -> "role: test" -> outcome, and host -> label -> the first line
    of each failure's message (redacted). A parametrized check keeps its parameter in its label
    (`os_hardening: test_network_sysctl_is_in_force[net.ipv4.ip_forward]`): pytest puts testinfra's
    host first in the id (`[ssh://10.91.0.6-net.ipv4.ip_forward]`), so the address is matched as a
    prefix of the id, never the whole bracket."""
    checks: dict[str, dict[str, str]] = {name: {} for name in by_addr.values()}
    why: dict[str, dict[str, str]] = {name: {} for name in by_addr.values()}
    # longest first: 10.0.0.1 must not claim 10.0.0.10's cases
    addrs = sorted(by_addr, key=len, reverse=True)
    for case in ET.parse(report).getroot().iter("testcase"):
        m = CASE.match(case.get("name", ""))
        addr = next((a for a in addrs if m and (m["addr"] == a or m["addr"].startswith(a + "-"))), None)
        if m is None or addr is None:
            continue
        # A parameter may be a config line the check looked for (`rocommunity public`): kept
        # redacted, as the message is, since the label is stored and quoted in audit reports.
        host, param = by_addr[addr], redact(m["addr"][len(addr) + 1 :])
        suite = _role_of(case.get("classname", ""), case.get("file", ""))
        label = f"{suite}: {m['test']}{f'[{param}]' if param else ''}"
        outcome = "passed"
        for kind in ("failure", "error", "skipped"):
            el = case.find(kind)
            if el is not None:
                outcome = {"failure": "failed"}.get(kind, kind)
                if kind != "skipped":
                    first = (el.get("message") or "").strip().splitlines()
                    why[host][label] = redact(first[0])[:200] if first else ""
                break
        checks[host][label] = outcome
    return checks, why


def results_dir(source: str) -> Path:
    """Where verify keeps its runs for a source (`lab:ID`, `estate:NAME`): `jinbao audit run` reads them."""
    return state_dir("verify", safe_name(source))


def record(
    source: str,
    estate: str,
    checks: dict[str, dict[str, str]],
    why: dict[str, dict[str, str]],
    suites_run: list[Path],
    at: dt.datetime | None = None,
) -> Path:
    """One verify run kept as evidence: every host's every check with its outcome and, when it failed,
    the first line of why (already redacted). Written whole through a rename, so a reader never sees half."""
    at = at or dt.datetime.now(dt.UTC)
    body = {
        "format": 1,
        "at": at.isoformat(timespec="seconds"),
        "source": source,
        "estate": estate,
        "roles": sorted(p.parent.name for p in suites_run),
        "hosts": {
            h: {
                label: {"outcome": o, **({"message": why[h][label]} if label in why.get(h, {}) else {})}
                for label, o in c.items()
            }
            for h, c in checks.items()
        },
    }
    path = results_dir(source) / f"{at:%Y%m%dT%H%M%S%f}.json"
    write_whole(path, json.dumps(body, ensure_ascii=False, indent=1))
    return path


def _role_of(classname: str, file: str) -> str:
    # pytest's classname is the module path: roles.ssh_hardening.tests.test_ssh_hardening
    parts = (file or classname).replace("/", ".").split(".")
    return parts[parts.index("roles") + 1] if "roles" in parts[:-1] else classname
