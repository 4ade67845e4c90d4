"""Ansible over the estate: the playbooks of playbooks/ run on the hosts jinbao's targets reach.

Ansible is a core concern already (the inventory plugin, `jinbao inventory ansible`), so its
runner lives here and reaches hosts through the core's target seam, never through a domain:
`targets("lab:<id>")` for a lab's nodes, `targets("estate:<name>")` for production. A `Seat` is
where ansible-playbook runs from and how it reaches each host:

- hosts come from the inventory plugin over the estate (`<workdir>/<name>.jinbao.yml`), so Ansible
  sees the same groups and variables as everywhere else;
- how to log in comes from each host's Target, written as an OpenSSH config (`Host <address>`
  blocks: user, key path, pinned known_hosts), handed to Ansible with `-F`;
- the way there is the targets' `via` (in the lab: `ip netns exec <id>-ops`, the operator seat),
  which prefixes the whole ansible-playbook process, as ops run it from the jump host.

What Ansible prints is redacted with the estate's secret values (as the targets resolve them)
before it is shown or stored; Ansible's own state (ANSIBLE_HOME: control sockets, temp files) stays
in the workdir. Each host becomes a `Result`: changed when a task changed it, failed when a task
failed or it was unreachable, with the task names and, in check mode, the diff.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import sshfolders
from .errors import JinbaoError, SecretError
from .estate import load_estate
from .model import Estate
from .redact import Redactor
from .result import AggregatedResult, Result
from .secrets import estate_refs, marker
from .state import safe_name, state_dir
from .target import Target, targets

REPO = Path(__file__).resolve().parents[1]
PLAYBOOKS = REPO / "playbooks"
ROLES = REPO / "roles"
PLUGINS = Path(__file__).resolve().parent / "ansible_plugins"
MARK = "JINBAO-RESULTS "
# ansible-playbook's own codes for "could not even start": an error, a parse error, bad options.
BAD_INPUT_RC = {1, 4, 5}
# Shorter values are replaced as whole tokens only (Redactor), lest they garble ordinary words.
MIN_SECRET = 6
IMPORT = re.compile(r"^\s*(?:- )?(?:ansible\.builtin\.)?import_playbook:\s*[\"']?([^\s\"'#]+)", re.M)


def playbook_path(name: str) -> Path:
    """playbooks/<name>.yml for a bare name (`site`, `harden`), else the path as given."""
    p = Path(name)
    if p.suffix not in (".yml", ".yaml"):
        p = PLAYBOOKS / f"{name}.yml"
    if not p.is_file():
        known = ", ".join(sorted(f.stem for f in PLAYBOOKS.glob("*.yml")))
        raise JinbaoError(f"no playbook {name!r} ({p}); playbooks/ has: {known}")
    # A playbook that imports one not written yet (site.yml before pki.yml) is named here,
    # instead of as Ansible's parse error.
    missing = [m for m in IMPORT.findall(p.read_text()) if not (p.parent / m).is_file()]
    if missing:
        raise JinbaoError(f"{p.name} imports {', '.join(missing)}, not in {p.parent}; run one that exists (--playbook)")
    return p


def role_names() -> list[str]:
    return sorted(d.name for d in ROLES.iterdir() if (d / "tasks" / "main.yml").is_file())


def check_role(role: str) -> None:
    if role not in role_names():
        raise JinbaoError(f"no role {role!r} in roles/; roles: {', '.join(role_names())}")


@dataclass
class Seat:
    """Where ansible-playbook and testinfra run from, and how they reach each host."""

    source: str  # `lab:<id>` or `estate:<name>`
    estate: Estate
    estate_ref: str  # what the inventory plugin loads: a name under inventory/ or a folder
    targets: dict[str, Target]  # the selected hosts, by name
    workdir: Path
    secrets: dict[str, str] = field(repr=False)  # value -> its <secret REF> marker

    def redact(self, text: str) -> str:
        """Ansible's text with every secret value of the estate out of it.

        Redactor replaces whole tokens only (a short key must not garble a config line), but
        Ansible prints values inside JSON strings, glued to `=` or a literal `\\n`; so a value
        long enough not to be an ordinary word is also replaced wherever it appears, raw or
        JSON-escaped. The patterns of jinbao.redact run last."""
        for value, mark in sorted(self.secrets.items(), key=lambda vm: -len(vm[0])):
            if len(value) >= MIN_SECRET:
                for form in {value, json.dumps(value)[1:-1]}:
                    text = text.replace(form, mark)
        return Redactor(self.secrets)(text)

    @property
    def via(self) -> tuple[str, ...]:
        return next(iter(self.targets.values())).via

    @property
    def shared_kernel(self) -> bool:
        """The hosts are reached through a network namespace of this machine: they share its kernel."""
        return any(t.netns for t in self.targets.values())

    def secret_env(self) -> dict[str, str]:
        """NAME=value lines of the targets' secrets files (a lab's secrets.env), as environment."""
        out: dict[str, str] = {}
        for f in {t.secrets_file for t in self.targets.values() if t.secrets_file}:
            if f.is_file():
                for line in f.read_text().splitlines():
                    name, sep, value = line.partition("=")
                    if sep:
                        out[name] = value
        return out

    def ssh_config(self, control_dir: Path | None = None) -> Path:
        """One `Host <address>` block per target: its user, key path and pinned host keys; with
        control_dir (a run's own folder, where the file is then written too), connections are
        shared through sockets there (testinfra's ControlMaster=auto does nothing without a
        ControlPath, so each check would pay its own key exchange)."""
        blocks = []
        for t in self.targets.values():
            lines = [f"Host {t.host}", f"  User {t.user}", f"  Port {t.port}", "  BatchMode yes", "  ConnectTimeout 10"]
            if t.identity_file:
                lines += [f"  IdentityFile {t.identity_file}", "  IdentitiesOnly yes"]
            if t.known_hosts:
                lines += [f"  UserKnownHostsFile {t.known_hosts}", "  StrictHostKeyChecking yes"]
            lines += [f"  {k} {v}" for k, v in t.options.items()]
            blocks.append("\n".join(lines))
        if control_dir:
            blocks.append(f"Host *\n  ControlPath {control_dir / '%C'}")
        f = (control_dir or self.workdir) / "ssh_config"
        f.write_text("\n\n".join(blocks) + "\n")
        return f

    def inventory(self) -> Path:
        f = self.workdir / f"{safe_name(self.estate.name)}.jinbao.yml"
        f.write_text(f"plugin: jinbao\nestate: {self.estate_ref}\n")
        return f

    def limit(self) -> Path:
        """The selected hosts, as an Ansible --limit file (a comma list would grow past argv for 500)."""
        f = self.workdir / "limit"
        f.write_text("".join(f"{h}\n" for h in sorted(self.targets)))
        return f

    def env(
        self,
        *,
        pipelining: bool = True,
        control_persist: str | None = "60s",
        callbacks: str = "",
        control_dir: Path | None = None,
    ) -> dict:
        """Ansible's environment; control_dir: where its SSH masters' sockets go (run_folder)."""
        home = self.workdir / "home"
        home.mkdir(mode=0o700, exist_ok=True)
        ssh_args = f"-o ControlMaster=auto -o ControlPersist={control_persist}" if control_persist else ""
        # Ansible's own log file would hold its output unredacted: the runner keeps the log instead.
        inherited = {k: v for k, v in os.environ.items() if k != "ANSIBLE_LOG_PATH"}
        return {
            **inherited,
            # A lab's per-run values behind the estate's env: references, for the roles' lookup
            # (jinbao_secret) on the controller: in the play's environment, never on disk or argv.
            **self.secret_env(),
            # testinfra suites skip what only a host owning its kernel has (loaded audit rules)
            **({"JINBAO_SHARED_KERNEL": "1"} if self.shared_kernel else {}),
            # suites that check against the estate (common: NTP, syslog, users) read this one
            "JINBAO_ESTATE": self.estate_ref,
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_HOME": str(home),
            # ssh's ControlPath hashes host, port and user only: every lab's prov-app1 has the same
            # address and user, so the default ~/.ansible/cp let a play ride another lab's open
            # master connection and change that lab's node. One folder per run (run_folder).
            "ANSIBLE_SSH_CONTROL_PATH_DIR": str(control_dir or home / "cp"),
            "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_CALLBACK_PLUGINS": str(PLUGINS / "callback"),
            "ANSIBLE_CALLBACKS_ENABLED": ",".join(filter(None, ["jinbao_results", callbacks])),
            # One SSH round trip per task instead of a copy and a run; needs sudo without a tty.
            "ANSIBLE_PIPELINING": "1" if pipelining else "0",
            # Without ControlPersist every task opens a new SSH connection (key exchange and all).
            "ANSIBLE_SSH_ARGS": ssh_args,
            "ANSIBLE_PYTHON_INTERPRETER": os.environ.get("ANSIBLE_PYTHON_INTERPRETER", "auto_silent"),
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
        }

    def run(self, cmd: list[str], env: dict, timeout: float) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*self.via, *cmd],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
        )

    def log(self, kind: str, text: str) -> Path:
        """Keep the run's (redacted) output beside its workdir, one file per run."""
        logs = self.workdir / "logs"
        logs.mkdir(exist_ok=True)
        f = logs / f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{kind}.log"
        f.write_text(text)
        return f


def seat(source: str, estate_ref: str, *, site: str | None = None, hosts: list[str] | None = None) -> Seat:
    """The Linux hosts of estate_ref (in site, or the named hosts) that source reaches.

    Bad input (an unknown site or host, a host of the estate the source has no target for, a
    source whose targets are reached from different places) is a JinbaoError before any contact."""
    estate = load_estate(estate_ref)
    if site and site not in estate.sites:
        raise JinbaoError(f"no site {site!r} in estate {estate.name}; sites: {', '.join(sorted(estate.sites))}")
    found = targets(source)
    wanted = [d for d in estate.devices.values() if d.platform == "linux" and (not site or d.site == site)]
    if hosts:
        unknown = sorted(set(hosts) - {d.name for d in wanted})
        if unknown:
            raise JinbaoError(
                f"{', '.join(unknown)}: not a Linux server of estate {estate.name}{f' in {site}' if site else ''}"
            )
        wanted = [d for d in wanted if d.name in hosts]
    if not wanted:
        raise JinbaoError(f"estate {estate.name} has no Linux server{f' in site {site}' if site else ''} to provision")
    missing = sorted(d.name for d in wanted if d.name not in found)
    if missing:
        raise JinbaoError(
            f"{source} has no target for {', '.join(missing[:8])}{' …' if len(missing) > 8 else ''} of estate "
            f"{estate.name}: give the estate the lab was built from (--estate), or --site to narrow"
        )
    chosen = {d.name: found[d.name] for d in sorted(wanted, key=lambda d: d.name)}
    if len({t.via for t in chosen.values()}) > 1:
        raise JinbaoError(f"{source}: the hosts are reached from different places; provision them one source at a time")
    workdir = state_dir("provision", safe_name(source))
    workdir.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Every secret value as each distinct source of values (a lab's secrets.env) resolves it.
    values: dict[str, str] = {}
    for t in {t.secrets_file: t for t in chosen.values()}.values():
        for ref in estate_refs(estate):
            try:
                values[t.secret(ref)] = marker(ref)
            except SecretError:
                continue
    return Seat(source, estate, estate_ref, chosen, workdir, values)


# A run's own folder: the sockets of its shared SSH connections (Ansible's and testinfra's
# ControlPath), and verify's ssh_config and report. Two runs at once must not read each other's
# nor close each other's masters. In /tmp, not the state folder or TMPDIR: ssh builds the socket
# path from the folder, a name (Ansible's 10-character hash, ssh's 40-character %C) and a
# 17-character suffix of its own, and refuses anything of 108 bytes or more (a state folder of 60
# characters left every host unreachable; a TMPDIR of 30 failed every check).
RUNS_IN, RUN_PREFIX = sshfolders.RUNS_IN, "jinbao-ssh-"
STALE_AFTER_S = sshfolders.STALE_AFTER_S  # a killed run's folder is swept after this (jinbao/sshfolders.py)


@contextlib.contextmanager
def run_folder(s: Seat) -> Iterator[Path]:
    """A folder for one run's shared connections, one per host (os_hardening's suite on 4 lab
    servers: 43 s with a login per check, 6 s shared); the masters are closed when the run ends
    instead of lingering for ControlPersist, and the folder removed."""
    _sweep()
    run = Path(tempfile.mkdtemp(prefix=RUN_PREFIX, dir=RUNS_IN))
    try:
        yield run
    finally:
        sockets = [str(p) for p in run.iterdir() if p.is_socket()]
        if sockets:  # from the seat the masters were started in
            script = 'for sock; do ssh -S "$sock" -O exit jinbao-run; done'
            with contextlib.suppress(subprocess.TimeoutExpired):
                s.run(["sh", "-c", script, "sh", *sockets], s.env(), 60)
        shutil.rmtree(run, ignore_errors=True)


def _sweep() -> None:
    sshfolders.sweep(RUN_PREFIX, RUNS_IN, STALE_AFTER_S)


@dataclass(frozen=True)
class Run:
    """One ansible-playbook run: per-host results, per-task seconds, and the log it left."""

    results: AggregatedResult
    tasks: list[dict]
    seconds: float
    log: Path
    returncode: int
    stdout: str  # redacted

    @property
    def left_alone(self) -> list[str]:
        """ "ROLE skipped on HOST: why" for each role that chose not to touch a host (the DR roles
        on a lab, <role>_enabled), so the summary says so instead of a silent ok."""
        return sorted(set(re.findall(r'"msg": "(\S+ skipped on \S+: [^"]*)"', self.stdout)))


def playbook(
    s: Seat,
    path: Path,
    *,
    check: bool = False,
    tags: list[str] | None = None,
    extra_vars: dict | None = None,
    forks: int = 20,
    pipelining: bool = True,
    control_persist: str | None = "60s",
    verbose: int = 0,
    timeout: float = 3600,
) -> Run:
    """Run a playbook over the seat's hosts. A host that fails or cannot be reached is a failed
    Result; the others carry on (Ansible's own behaviour). A run that could not start, or a wrong
    role variable refused by argument_specs, is a JinbaoError (bad input, exit 2)."""
    cmd = [
        str(Path(sys.executable).parent / "ansible-playbook"),
        "-i",
        str(s.inventory()),
        "--limit",
        f"@{s.limit()}",
        "--ssh-common-args",
        f"-F {s.ssh_config()}",
        "--forks",
        str(forks),
        str(path),
    ]
    if check:
        cmd += ["--check", "--diff"]
    if tags:
        cmd += ["--tags", ",".join(tags)]
    if s.shared_kernel:
        # Hosts behind a network namespace of this machine (lab nodes) run on this machine's
        # kernel: what a role would load into a kernel (audit rules) would land in the machine's.
        extra_vars = {"auditd_load_rules": False, **(extra_vars or {})}
    if s.source.startswith("lab:"):
        # A lab's DR nodes already run the drill databases `jinbao lab db` owns (port 5432): a
        # second owner would fight over them. A caller's <role>_enabled=True (with the roles' own
        # port and folders, as tests/roles/test_dr_prepare_lab.py gives) converges beside them.
        why = "on a lab the DR databases belong to `jinbao lab db`"
        off = {
            f"{r}_{k}": v for r in ("postgresql", "keepalived") for k, v in (("enabled", False), ("disabled_why", why))
        }
        extra_vars = {**off, **(extra_vars or {})}
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    if verbose:
        cmd.append("-" + "v" * verbose)
    t0 = time.monotonic()
    with run_folder(s) as control_dir:
        r = s.run(cmd, s.env(pipelining=pipelining, control_persist=control_persist, control_dir=control_dir), timeout)
    wall = time.monotonic() - t0
    text, body = _split(s.redact(r.stdout))
    log = s.log("check" if check else "provision", text + "\n--- stderr ---\n" + s.redact(r.stderr))
    if body is None:
        if r.returncode in BAD_INPUT_RC:
            tail = s.redact(r.stderr).strip().splitlines()[-6:]
            raise JinbaoError(f"ansible-playbook refused to run {path.name} (rc {r.returncode}): {' / '.join(tail)}")
        raise JinbaoError(f"ansible-playbook ended without a recap (rc {r.returncode}); its output: {log}")
    spec_failures = {
        h: f for h, v in body["hosts"].items() for f in v["failed"] if f["action"].endswith("validate_argument_spec")
    }
    if spec_failures:
        h, f = next(iter(sorted(spec_failures.items())))
        raise JinbaoError(f"a role variable is wrong ({f['task']} on {h}): {f['msg']}; nothing was changed")
    agg = AggregatedResult("check" if check else "provision")
    for host, v in sorted(body["hosts"].items()):
        counts = v.get("counts", {})
        problems = [f"unreachable: {u['msg']}" for u in v["unreachable"]]
        problems += [f"{f['task']}: {f['msg']}" for f in v["failed"]]
        agg.add(
            Result(
                host,
                agg.task,
                changed=bool(v["changed"]),
                failed=bool(problems),
                diff="\n".join(v["diff"]),
                data={"counts": counts, "changed_tasks": v["changed"]},
                problems=tuple(problems),
            )
        )
    return Run(agg, body["tasks"], wall, log, r.returncode, text)


def _split(stdout: str) -> tuple[str, dict | None]:
    """Ansible's text, and the callback's JSON line taken out of it."""
    body = None
    kept = []
    for line in stdout.splitlines():
        if line.startswith(MARK):
            body = json.loads(line[len(MARK) :])
        else:
            kept.append(line)
    return "\n".join(kept), body
