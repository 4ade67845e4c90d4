"""Rule sets for the files of a Linux bundle that no program on this machine can check.

Debian 12 here has no `visudo`, `chronyd` or `rsyslogd`, and `faillock` cannot be pointed at another
config file, so these files are read by small rule tables instead. The rules are deliberately
narrow: they accept the forms jinbao renders plus their common documented neighbours, and report
anything else rather than guess that the daemon would take it. Each function gets one file's
lines and returns `Finding`s numbered within that file (0 = the file as a whole).
"""

from __future__ import annotations

import re
import shlex
import subprocess
from ipaddress import IPv4Address

from .finding import Finding


def _ipv4(text: str) -> bool:
    try:
        IPv4Address(text)
    except ValueError:
        return False
    return True


def _content(lines: list[str]) -> list[tuple[int, str]]:
    """(1-based number, stripped line) for every line that is not blank or a `#` comment."""
    return [(n, s) for n, s in ((i, raw.strip()) for i, raw in enumerate(lines, 1)) if s and not s.startswith("#")]


# --- /etc/issue.net ---------------------------------------------------------------------------

# sshd sends its Banner file verbatim: agetty's `\l`, `\n`, `\4` escapes only work in /etc/issue on
# a console, so over SSH they would show as typed. Non-ASCII or control bytes (ESC sequences) reach
# the client's terminal raw or are mangled by its locale: the legal notice must read the same to all.
_ESCAPE = re.compile(r"\\[A-Za-z0-9{]")


def issue_net(lines: list[str]) -> list[Finding]:
    found = []
    for n, raw in enumerate(lines, 1):
        bad = sorted({c for c in raw if not (" " <= c <= "~" or c == "\t")})
        if bad:
            found.append(Finding(n, raw.strip(), "linux.issue", f"not printable ASCII: {', '.join(map(repr, bad))}"))
        elif _ESCAPE.search(raw):
            found.append(
                Finding(n, raw.strip(), "linux.issue", "sshd shows agetty escapes such as \\l literally", "plain text")
            )
    if not any(s.strip() for s in lines):
        found.append(Finding(0, "", "linux.issue", "the banner is empty"))
    return found


# --- /etc/security/faillock.conf ----------------------------------------------------------------

# faillock.conf(5): options that take a value, and flags that take none.
_FAILLOCK_VALUES = {"dir", "deny", "fail_interval", "unlock_time", "root_unlock_time", "admin_group"}
_FAILLOCK_FLAGS = {"audit", "silent", "no_log_info", "local_users_only", "nodelay", "even_deny_root"}
_FAILLOCK_LINE = re.compile(r"^(\w+)\s*(?:=\s*(\S+))?$")


def faillock(lines: list[str]) -> list[Finding]:
    found, seen = [], set()
    for n, s in _content(lines):
        m = _FAILLOCK_LINE.match(s)
        key, value = (m.group(1), m.group(2)) if m else ("", None)
        if not m or key not in _FAILLOCK_VALUES | _FAILLOCK_FLAGS:
            found.append(Finding(n, s, "linux.faillock", "not a faillock.conf option"))
            continue
        seen.add(key)
        if (key in _FAILLOCK_FLAGS) != (value is None):
            found.append(Finding(n, s, "linux.faillock", f"{key} {'takes no' if value else 'needs a'} value"))
        elif key == "deny" and not (value and value.isdigit() and int(value) >= 1):
            found.append(Finding(n, s, "linux.faillock", "deny must be a count of at least 1"))
        elif key in {"fail_interval", "unlock_time", "root_unlock_time"} and not (
            (value or "").isdigit() or (key != "fail_interval" and value == "never")
        ):
            found.append(Finding(n, s, "linux.faillock", f"{key} must be seconds"))
    for key in ("deny", "unlock_time"):
        if key not in seen:
            found.append(Finding(0, "", "linux.faillock", f"no {key}: the lockout is not set"))
    return found


# --- the TMOUT profile script -------------------------------------------------------------------


def _shell_syntax(lines: list[str]) -> list[Finding]:
    """`sh -n` and `bash -n`: /etc/profile sources profile.d from dash and bash login shells alike.
    `-n` reads without executing anything."""
    found = []
    text = "\n".join(lines) + "\n"
    for shell in ("sh", "bash"):
        r = subprocess.run([shell, "-n"], input=text, capture_output=True, text=True, timeout=30)
        if r.returncode:
            m = re.search(r"line (\d+):\s*(.*)", r.stderr) or re.search(r":\s*(\d+):\s*(.*)", r.stderr)
            n = int(m.group(1)) if m and int(m.group(1)) <= len(lines) else 0
            msg = m.group(2) if m else r.stderr.strip()[-200:]
            found.append(Finding(n, lines[n - 1].strip() if n else "", f"linux.{shell}", msg))
    return found


_READONLY = re.compile(r"^readonly\s+TMOUT=(\d+)$")


def tmout(lines: list[str]) -> list[Finding]:
    found = _shell_syntax(lines)
    value, exported = None, False
    for n, s in _content(lines):
        for part in (p.strip() for p in s.split(";") if p.strip()):
            m = _READONLY.match(part)
            if m:
                value = int(m.group(1))
                if value <= 0:
                    found.append(Finding(n, s, "linux.tmout", "TMOUT=0 never logs an idle shell out"))
            elif part == "export TMOUT":
                exported = True
            else:
                found.append(Finding(n, s, "linux.tmout", "only `readonly TMOUT=N` and `export TMOUT` belong here"))
    if value is None:
        found.append(
            Finding(0, "", "linux.tmout", "no `readonly TMOUT=N`: users could unset the idle timeout or lack it")
        )
    if not exported:
        found.append(Finding(0, "", "linux.tmout", "TMOUT is not exported to subshells", "export TMOUT"))
    return found


# --- sudoers drop-ins ---------------------------------------------------------------------------

_NAME = r"!?(?:%:?[\w.-]+|%#\d+|#\d+|[a-z_][\w.-]*\$?|[A-Z][A-Z0-9_]*)"
_ALIAS = re.compile(r"^(User|Runas|Host|Cmnd|Cmd)_Alias\s+[A-Z][A-Z0-9_]*\s*=\s*\S.*$")
_DEFAULTS = re.compile(r"^Defaults(?:[@:!>]\S+)?\s+\S.*$")
_SPEC = re.compile(
    rf"^(?P<who>{_NAME}(?:\s*,\s*{_NAME})*)\s+(?P<hosts>[\w.!-]+(?:\s*,\s*[\w.!-]+)*)\s*=\s*(?P<cmds>.+)$"
)
_WHO = re.compile(_NAME)
_CMD = re.compile(r"^(?:\((?P<runas>[^)]*)\)\s*)?(?P<tags>(?:[A-Z_]+:\s*)*)(?P<cmd>\S.*)$")
_TAGS = {"NOPASSWD", "PASSWD", "NOEXEC", "EXEC", "SETENV", "NOSETENV", "LOG_INPUT", "NOLOG_INPUT"}
_TAGS |= {"LOG_OUTPUT", "NOLOG_OUTPUT", "MAIL", "NOMAIL", "FOLLOW", "NOFOLLOW", "INTERCEPT", "NOINTERCEPT"}
# The system administrators run the host; every other role is limited to its own commands.
SYSTEM_GROUP = "%jinbao-system"


def _joined(lines: list[str]) -> list[tuple[int, str]]:
    """Logical sudoers lines: a trailing backslash continues a line onto the next."""
    out: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for n, raw in enumerate(lines, 1):
        s = raw.strip()
        if pending:
            pending = (pending[0], pending[1] + " " + s)
        elif s and (not s.startswith("#") or s.startswith("#include")):
            pending = (n, s)
        if pending and pending[1].endswith("\\"):
            pending = (pending[0], pending[1][:-1].rstrip())
        elif pending:
            out.append(pending)
            pending = None
    if pending:
        out.append(pending)
    return out


def sudoers(lines: list[str], path: str) -> list[Finding]:
    found = []
    name = path.rsplit("/", 1)[-1]
    if "." in name or name.endswith("~"):
        # sudo's #includedir skips such names without a word: the roles would not exist.
        found.append(Finding(0, "", "linux.sudoers-name", f"sudo ignores {name!r} in sudoers.d (a '.' or '~')"))
    for n, s in _joined(lines):
        if s.startswith(("#include", "@include")):
            found.append(Finding(n, s, "linux.sudoers", "a role drop-in includes no other file"))
            continue
        if _ALIAS.match(s) or _DEFAULTS.match(s):
            continue
        m = _SPEC.match(s)
        if not m:
            found.append(Finding(n, s, "linux.sudoers", "not a sudoers alias, Defaults or user specification"))
            continue
        who = [w.group(0) for w in _WHO.finditer(m.group("who"))]
        tags: set[str] = set()  # tags carry over to the following commands of the line
        for cmd in (c.strip() for c in m.group("cmds").split(",")):
            c = _CMD.match(cmd)
            if not c:
                found.append(Finding(n, s, "linux.sudoers", f"empty command in {m.group('cmds')!r}"))
                continue
            named = {t.strip() for t in c.group("tags").split(":") if t.strip()}
            if named - _TAGS:
                found.append(Finding(n, s, "linux.sudoers", f"unknown tag {', '.join(sorted(named - _TAGS))}"))
            tags = (tags - {"PASSWD", "NOPASSWD"} if named & {"PASSWD", "NOPASSWD"} else tags) | named
            command = c.group("cmd").split()[0]
            if command not in {"ALL", "sudoedit"} and not command.startswith(("/", "!/")) and not command.isupper():
                found.append(Finding(n, s, "linux.sudoers", f"{command}: sudo needs a full path", "/usr/bin/…"))
            if command == "ALL" and any(w != SYSTEM_GROUP for w in who):
                rule = "linux.sudoers-nopasswd" if "NOPASSWD" in tags else "linux.sudoers-separation"
                msg = "runs anything without a password" if "NOPASSWD" in tags else "runs anything: roles merge"
                found.append(Finding(n, s, rule, f"{', '.join(who)} {msg}", "list the role's commands"))
    return found


# --- chrony drop-ins ----------------------------------------------------------------------------

# chrony.conf(5): the source directives and the client-side settings a drop-in may carry. Anything
# serving time or commands to others (`allow`, `cmdallow`, `bindaddress`…) is not a client's.
_CHRONY_DIRECTIVES = {"server", "pool", "peer", "makestep", "rtcsync", "minsources", "maxdistance", "maxchange"}
_CHRONY_FLAGS = {
    "iburst",
    "burst",
    "prefer",
    "noselect",
    "trust",
    "require",
    "xleave",
    "nts",
    "offline",
    "auto_offline",
}
_CHRONY_VALUED = {"minpoll", "maxpoll", "key", "port", "polltarget", "minstratum", "maxsources", "version"}
_CHRONY_VALUED |= {"maxdelay", "maxdelayratio", "maxdelaydevratio", "mindelay", "presend", "offset", "filter"}


def chrony(lines: list[str]) -> list[Finding]:
    found, sources = [], 0
    for n, s in _content(lines):
        words = s.split()
        if words[0] not in _CHRONY_DIRECTIVES:
            found.append(Finding(n, s, "linux.chrony", f"{words[0]} is not a client chrony directive"))
            continue
        if words[0] not in {"server", "pool", "peer"}:
            continue
        sources += 1
        if len(words) < 2 or not _ipv4(words[1]):
            # The estate names its NTP servers by address; a name would depend on DNS at boot.
            found.append(Finding(n, s, "linux.chrony", "the source is not an IPv4 address"))
        rest = iter(words[2:])
        for opt in rest:
            if opt in _CHRONY_VALUED:
                if not re.fullmatch(r"-?[\d.]+", next(rest, "")):
                    found.append(Finding(n, s, "linux.chrony", f"{opt} needs a number"))
            elif opt not in _CHRONY_FLAGS:
                found.append(Finding(n, s, "linux.chrony", f"unknown source option {opt}"))
    if not sources:
        found.append(Finding(0, "", "linux.chrony", "no server: the clock is not synchronised"))
    return found


# --- rsyslog forwarding -------------------------------------------------------------------------

_FACILITIES = {"auth", "authpriv", "cron", "daemon", "kern", "lpr", "mail", "mark", "news", "security", "syslog"}
_FACILITIES |= {"user", "uucp", "ftp", "*"} | {f"local{i}" for i in range(8)}
_PRIORITIES = {"debug", "info", "notice", "warning", "warn", "err", "error", "crit", "alert", "emerg", "panic"}
_PRIORITIES |= {"none", "*"}
_LEGACY = re.compile(r"^@@?(?:\((?:o|z\d)\))?(?P<host>[\d.]+)(?::(?P<port>\d+))?$")
_ACTION = re.compile(r"^action\((?P<params>.*)\)$")
_PARAM = re.compile(r'(\w+)="([^"]*)"')
# omfwd's parameters jinbao may set; rsyslog itself refuses an unknown parameter at startup.
_OMFWD = {"type", "target", "port", "protocol", "template", "queue.type", "queue.size", "action.resumeRetryCount"}


def _selector_ok(selector: str) -> bool:
    for part in selector.split(";"):
        fac, dot, pri = part.partition(".")
        if not dot or not set(fac.split(",")) <= _FACILITIES or pri.lstrip("!=") not in _PRIORITIES:
            return False
    return True


def rsyslog(lines: list[str]) -> list[Finding]:
    found, forwards = [], 0
    for n, s in _content(lines):
        selector, _, action = s.partition(" ")
        action = action.strip()
        if not _selector_ok(selector):
            found.append(Finding(n, s, "linux.rsyslog", f"{selector!r} is not a facility.priority selector"))
            continue
        target, port = None, "514"
        legacy, rainer = _LEGACY.match(action), _ACTION.match(action)
        if legacy:
            target, port = legacy.group("host"), legacy.group("port") or port
        elif rainer:
            params = dict(_PARAM.findall(rainer.group("params")))
            leftover = _PARAM.sub("", rainer.group("params")).strip()
            unknown = sorted(set(params) - _OMFWD)
            if params.get("type") != "omfwd" or leftover or unknown:
                found.append(Finding(n, s, "linux.rsyslog", f"not an omfwd action ({', '.join(unknown) or leftover})"))
                continue
            target, port = params.get("target"), params.get("port", port)
            if params.get("protocol", "udp") not in {"udp", "tcp"}:
                found.append(Finding(n, s, "linux.rsyslog", "protocol is udp or tcp"))
        else:
            found.append(Finding(n, s, "linux.rsyslog", "not a forwarding action (@host, @@host or omfwd)"))
            continue
        forwards += 1
        if not target or not _ipv4(target):
            found.append(Finding(n, s, "linux.rsyslog", "the collector is not an IPv4 address"))
        if not port.isdigit() or not 0 < int(port) < 65536:
            found.append(Finding(n, s, "linux.rsyslog", f"port {port} is not a port"))
    if not forwards:
        found.append(Finding(0, "", "linux.rsyslog", "nothing is forwarded to a collector"))
    return found


# --- snmpd.conf: what SNMPv3-only means --------------------------------------------------------

_COMMUNITY = {"rocommunity", "rwcommunity", "rocommunity6", "rwcommunity6", "com2sec", "com2sec6", "com2secunix"}
_COMMUNITY |= {"trapcommunity", "trapsink", "trap2sink", "informsink"}
_AUTH = {"SHA", "SHA-1", "SHA-224", "SHA-256", "SHA-384", "SHA-512"}
_PRIV = {"AES", "AES-128", "AES-192", "AES-256"}


def snmpd(lines: list[str], management: set[str]) -> list[Finding]:
    """SNMPv3 authPriv only, read-only, listening on the management address (`management`: the
    addresses sshd listens on, from the same bundle; empty when it does not say)."""
    found, created, addresses = [], set(), []
    for n, s in _content(lines):
        try:
            words = shlex.split(s)
        except ValueError as e:
            found.append(Finding(n, s, "linux.snmpd", f"unbalanced quotes ({e})"))
            continue
        token = words[0].lower()
        if token in _COMMUNITY:
            found.append(Finding(n, s, "linux.snmp-community", "SNMPv1/v2c community: cleartext, no user"))
        elif token == "rwuser":
            found.append(Finding(n, s, "linux.snmp-readonly", "write access over SNMP", "rouser … priv"))
        elif token == "rouser" and (len(words) < 3 or words[2] != "priv"):
            found.append(Finding(n, s, "linux.snmp-priv", "access without authPriv", f"rouser {words[1:2]} priv"))
        elif token == "createuser":
            args = words[1:]
            if "-e" in args:  # an engine id may be given: it is not one of the five fields
                del args[args.index("-e") : args.index("-e") + 2]
            ok = len(args) == 5 and args[1] in _AUTH and args[3] in _PRIV and all(len(k) >= 8 for k in args[2::2])
            if not ok:
                found.append(
                    Finding(n, s, "linux.snmp-usm", "needs SHA auth, AES privacy and two keys of 8+ characters")
                )
            created.add(args[0] if args else "")
        elif token == "agentaddress":
            addresses.append((n, s, words[1:]))
    for n, s in _content(lines):
        words = s.split()
        if words[0].lower() == "rouser" and len(words) > 1 and words[1] not in created:
            found.append(Finding(n, s, "linux.snmp-user", f"{words[1]} is not created in this file"))
    if not addresses:
        found.append(Finding(0, "", "linux.snmp-address", "no agentAddress: snmpd answers on every address"))
    for n, s, args in addresses:
        for spec in ",".join(args).split(","):
            m = re.fullmatch(r"udp:([\d.]+):161", spec)
            if not m or not _ipv4(m.group(1)) or (management and m.group(1) not in management):
                where = " (sshd listens on " + ", ".join(sorted(management)) + ")" if management else ""
                found.append(Finding(n, s, "linux.snmp-address", f"{spec}: not udp:<management address>:161{where}"))
    return found
