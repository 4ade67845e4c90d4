"""A Linux server's bundle, split into its files and each checked by the program that reads it
where this machine has one, else by `linux_rules`.

The bundle is the `linux` rendering: comment lines, then files each introduced by a `# ==> PATH`
line. A path the checker does not know, a path given twice or content before the first file is
refused: the driver would not know where to put it.

- the sshd drop-in: OpenSSH's own `sshd -t` on a throwaway main config that `Include`s it, as
  Debian's sshd_config includes sshd_config.d, with a host key generated into a temp dir. `-t`
  parses and loads keys and exits; it binds nothing. It runs in fresh mount and network namespaces
  so the privilege-separation directory it insists on (/run/sshd) is a tmpfs of its own and the
  machine's /run is left alone.
- snmpd.conf: net-snmp 5.9 has no dry run (snmpd parses its config only on the way to binding UDP
  161 and writing /var/lib/snmp), so every directive is looked up in the table `snmpd -H` prints
  (the agent's own list of what it understands), and the SNMPv3-only rules do the rest.
- the rest by rules, the TMOUT script also through `sh -n` and `bash -n`.
"""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from . import linux_rules as rules
from .finding import Finding

MARKER = "# ==> "
SSHD = "/usr/sbin/sshd"


@dataclass(frozen=True)
class Section:
    path: str
    start: int  # the bundle's line number of the `# ==> PATH` line
    lines: list[str]


# A checker gets its file and the bundle's files by path (snmpd's looks at sshd's addresses).
Checker = Callable[[Section, dict[str, Section]], list[Finding]]


def _split(text: str) -> tuple[list[Section], list[Finding]]:
    sections: list[Section] = []
    found = []
    for n, raw in enumerate(text.splitlines(), 1):
        if raw.startswith(MARKER):
            path = raw[len(MARKER) :].strip()
            if any(s.path == path for s in sections):
                found.append(Finding(n, raw.strip(), "linux.bundle", f"{path} is given twice"))
            elif _match(path) is None:
                found.append(Finding(n, raw.strip(), "linux.bundle", f"{path}: no file of a jinbao bundle"))
            sections.append(Section(path, n, []))
        elif sections:
            sections[-1].lines.append(raw)
        elif raw.strip() and not raw.lstrip().startswith("#"):
            found.append(Finding(n, raw.strip(), "linux.bundle", "text before the first file: it belongs nowhere"))
    if not sections:
        found.append(Finding(0, "", "linux.bundle", f"no `{MARKER}PATH` line: not a bundle"))
    return sections, found


def _placed(section: Section, found: list[Finding]) -> list[Finding]:
    """Findings numbered within a file, renumbered to the bundle; the file as a whole is its
    `# ==> PATH` line."""
    return [
        Finding(
            section.start + f.line if f.line else section.start,
            f.text if f.line else MARKER + section.path,
            f.rule,
            f.message,
            f.fix,
        )
        for f in found
    ]


def _namespaces(extra: list[str]) -> list[str]:
    # Root creates namespaces directly; anyone else through a user namespace (as nftables.py does).
    return ["unshare", *extra] if os.geteuid() == 0 else ["unshare", "-r", *extra]


# --- sshd -----------------------------------------------------------------------------------------

_SSHD_LINE = re.compile(r"^(?P<file>.+?):? line (?P<n>\d+): (?P<msg>.*)$")
_PRIVSEP = 'mount -t tmpfs jinbao-sshd /run && mkdir -m 0755 /run/sshd && exec "$0" -t -f "$1"'


def _sshd(section: Section, bundle: dict[str, Section]) -> list[Finding]:
    if not Path(SSHD).exists():
        return [Finding(0, "", "linux.sshd", f"{SSHD} is not installed here: the drop-in cannot be checked")]
    with tempfile.TemporaryDirectory(prefix="jinbao-sshd-") as tmp:
        drop, key, main = Path(tmp, "drop-in.conf"), Path(tmp, "host_ed25519"), Path(tmp, "sshd_config")
        drop.write_text("\n".join(section.lines) + "\n")
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, capture_output=True, timeout=30
        )
        # The drop-in comes first, as Debian's Include sits at the top: sshd keeps an option's
        # first value, so this is the value the host would run with.
        main.write_text(f'Include "{drop}"\nHostKey "{key}"\n')
        r = subprocess.run(
            [*_namespaces(["-m", "-n", "--propagation", "private"]), "sh", "-c", _PRIVSEP, SSHD, str(main)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    out = (r.stdout + r.stderr).replace(str(drop), section.path).strip()
    found = []
    for raw in out.splitlines():
        m = _SSHD_LINE.match(raw.strip())
        if m and m.group("file") == section.path:
            # Deprecated or ignored options are reported even when sshd starts: they do not do
            # what the line says.
            n = int(m.group("n"))
            found.append(Finding(n, section.lines[n - 1].strip(), "linux.sshd", m.group("msg").strip()))
    if r.returncode and not found:
        found.append(_unplaced(section, r.returncode, out))
    return _placed(section, found)


# sshd names no line for an address it cannot use (`bad addr or host: X (…)`), only the value.
_BAD_ADDRESS = re.compile(r"bad addr or host: (\S+)")


def _unplaced(section: Section, code: int, out: str) -> Finding:
    """sshd's failure without a line: placed at the one ListenAddress line naming the bad address
    when there is one, else on the file as a whole."""
    m = _BAD_ADDRESS.search(out)
    lines = [n for n, raw in enumerate(section.lines, 1) if m and raw.split()[1:2] == [m.group(1)]]
    n = lines[0] if len(lines) == 1 else 0
    return Finding(n, section.lines[n - 1].strip() if n else "", "linux.sshd", f"sshd -t exited {code}: {out[-300:]}")


def listen_addresses(section: Section | None) -> set[str]:
    """The addresses the sshd drop-in listens on: the management addresses."""
    words = [line.split() for line in section.lines] if section else []
    # `ListenAddress A.B.C.D[:port]`; an IPv6 address is kept whole.
    addresses = [w[1] for w in words if len(w) > 1 and w[0] == "ListenAddress"]
    return {a.partition(":")[0] if a.count(":") == 1 else a for a in addresses}


# --- snmpd ----------------------------------------------------------------------------------------


@cache
def snmpd_directives() -> frozenset[str] | None:
    """What snmpd.conf may say, by snmpd itself (`-H` lists its handlers and exits; it is run
    without a network all the same). Lower-case: net-snmp matches directives case-insensitively.
    None when snmpd is not installed."""
    try:
        r = subprocess.run(
            [*_namespaces(["-n"]), "snmpd", "-H"], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL
        )
    except FileNotFoundError:
        return None
    names, inside = set(), False
    for raw in (r.stdout + r.stderr).splitlines():
        if raw.startswith("  In "):
            inside = raw.strip().startswith("In snmpd.conf")  # not the client's snmp.conf or agentx.conf
        elif inside and raw.startswith("    ") and raw.split():
            names.add(raw.split()[0].lower())
    return frozenset(names) or None


def _snmpd(section: Section, bundle: dict[str, Section]) -> list[Finding]:
    known = snmpd_directives()
    found = []
    if known is None:
        found.append(Finding(0, "", "linux.snmpd", "snmpd is not installed here: its directives cannot be checked"))
    else:
        for n, raw in enumerate(section.lines, 1):
            s = raw.strip()
            if s and not s.startswith("#") and s.split()[0].lower() not in known:
                found.append(Finding(n, s, "linux.snmpd", f"snmpd does not know {s.split()[0]}"))
    sshd = next((s for p, s in bundle.items() if _match(p) is _sshd), None)
    found += rules.snmpd(section.lines, listen_addresses(sshd))
    return _placed(section, found)


# --- the rule-checked files -------------------------------------------------------------------------


def _by_rules(rule: Callable[[list[str]], list[Finding]]) -> Checker:
    return lambda section, bundle: _placed(section, rule(section.lines))


# (path pattern, checker). Patterns, not exact paths, where a directory takes several drop-ins
# (sudoers per role).
CHECKERS: list[tuple[str, Checker]] = [
    ("/etc/ssh/sshd_config.d/*.conf", _sshd),
    ("/etc/issue.net", _by_rules(rules.issue_net)),
    ("/etc/security/faillock.conf", _by_rules(rules.faillock)),
    ("/etc/profile.d/jinbao-timeout.sh", _by_rules(rules.tmout)),
    ("/etc/sudoers.d/*", lambda s, b: _placed(s, rules.sudoers(s.lines, s.path))),
    ("/etc/chrony/conf.d/*.conf", _by_rules(rules.chrony)),
    ("/etc/rsyslog.d/*.conf", _by_rules(rules.rsyslog)),
    ("/etc/snmp/snmpd.conf", _snmpd),
]


def _match(path: str) -> Checker | None:
    for pattern, checker in CHECKERS:
        folder, _, name = pattern.rpartition("/")
        # fnmatch's `*` crosses `/`; a drop-in is a named file directly in its directory.
        where, _, file = path.rpartition("/")
        if where == folder and file and fnmatch.fnmatchcase(file, name):
            return checker
    return None


def check(text: str) -> list[Finding]:
    sections, found = _split(text)
    if found:
        return found  # the files cannot be told apart reliably: check nothing more
    bundle = {s.path: s for s in sections}
    for section in sections:
        checker = _match(section.path)
        assert checker is not None  # _split refused unknown paths
        found += checker(section, bundle)
    return found
