"""Running configs into a git repository: one file per device, one commit per run.

Each device is read once per run (one login, one `get_config`), many at once through
`run_task`, and redacted before its text leaves the task (`netconfig.redact`): the repository
never holds a secret value, only `<secret REF>` markers and `<redacted>`.

A firewall's file is its nftables ruleset; its routing daemon's FRR config goes beside it in
`<device>.frr.cfg`. A device that does not answer keeps its previous file: a backup never deletes what it could not
replace. The commit's subject names the devices whose file changed; no commit when none did.
git runs with its identity on the command line (`-c user.name=jinbao ...`), so the user's git
config is never written.

Where: `--dir`, else `$JINBAO_STATE_DIR/backups/<source>`, else
`${XDG_STATE_HOME:-~/.local/state}/jinbao/backups/<source>`.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from pathlib import Path

from jinbao.errors import JinbaoError
from jinbao.model import Estate
from jinbao.redact import Redactor
from jinbao.rendering import rendered
from jinbao.result import AggregatedResult, Result
from jinbao.state import safe_name, state_dir
from jinbao.target import Target

from .drivers import driver_for, session

GIT = ["git", "-c", "user.name=jinbao", "-c", "user.email=jinbao@localhost", "-c", "commit.gpgsign=false"]


def default_dir(source: str) -> Path:
    """The state folder a source's backups go to when --dir is not given."""
    return state_dir("backups", safe_name(source).strip("-"))


def file_of(device: str, suffix: str = "") -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", device) + (f".{suffix}" if suffix else "") + ".cfg"


def routing_daemon(target: Target, estate: Estate) -> Target | None:
    """The FRR beside a device's own config, when its intent has one and its platform is not FRR
    (a Linux firewall: nftables filters, FRR routes): the same device, read as FRR."""
    device = estate.devices.get(target.name)
    if target.platform == "frr" or device is None or "frr" not in rendered(estate, device):
        return None
    return replace(target, platform="frr")


def read_running(target: Target, estate: Estate) -> Result:
    """One device's running config(s), already redacted (a task for run_task): {suffix: text},
    "" for its own platform's config and "frr" for a firewall's routing daemon."""
    redact = Redactor.for_target(estate, target)
    configs = {}
    for suffix, t in (("", target), ("frr", routing_daemon(target, estate))):
        if t is not None:
            with session(driver_for(t)) as d:
                configs[suffix] = redact(d.get_config("running")["running"])
    return Result(target.name, "backup", data=configs)


def _git(repo: Path, *args: str) -> str:
    r = subprocess.run([*GIT, "-C", str(repo), *args], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise JinbaoError(f"git {' '.join(args)} in {repo} failed: {(r.stderr or r.stdout).strip()[-400:]}")
    return r.stdout


def commit(repo: Path, agg: AggregatedResult, source: str) -> tuple[str | None, list[str]]:
    """Write every answered device's file and commit them; (commit id or None, changed devices)."""
    repo.mkdir(parents=True, exist_ok=True)
    if not (repo / ".git").exists():
        _git(repo, "init", "-q")
    written = {}
    for host, r in sorted(agg.results.items()):
        if r.failed:
            continue  # its previous file stays as it was
        for suffix, text in r.data.items():
            (repo / file_of(host, suffix)).write_text(text if text.endswith("\n") else text + "\n")
            written[file_of(host, suffix)] = host
    if not written:
        return None, []
    _git(repo, "add", "--", *written)
    staged = _git(repo, "diff", "--cached", "--name-only", "-z").split("\0")
    changed = sorted({written[f] for f in staged if f in written})
    if not changed:
        return None, []
    failed = sorted(agg.failed_hosts)
    subject = f"backup {source}: {len(changed)} changed: {', '.join(changed)}"
    body = "\n".join([f"changed: {h}" for h in changed] + [f"not reachable, previous file kept: {h}" for h in failed])
    _git(repo, "commit", "-q", "-m", subject, "-m", body)
    return _git(repo, "rev-parse", "--short", "HEAD").strip(), changed
