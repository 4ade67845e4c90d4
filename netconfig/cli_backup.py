"""`jinbao config backup`: every selected device's running config, redacted, into a git repository."""

from __future__ import annotations

import json
from pathlib import Path

import click

from jinbao.console import finish, out, print_failures, shown
from jinbao.target import estate_for, source_of

from .backup import commit, default_dir, read_running
from .cli_plan import run
from .selection import select, selectors


@click.command()
@selectors
@click.option("--dir", "repo", type=click.Path(file_okay=False, path_type=Path), help="The backup git repository.")
@click.option("--json", "as_json", is_flag=True, help="The run's outcome as JSON on stdout.")
@click.pass_context
def backup(ctx, lab_id, spec, estate, sites, devices, roles, workers, repo, as_json):
    """Back up running configs: one file per device, one git commit per run naming what changed.

    Secrets are redacted. A device that does not answer keeps its previous file (exit 1).
    Default --dir: $JINBAO_STATE_DIR/backups/<source> or ~/.local/state/jinbao/backups/<source>.

    \b
    jinbao config backup --lab jb1a2b
    jinbao config backup --targets lab:jb1a2b --dir /srv/backups/lab
    """
    source = source_of(lab_id, spec) or "lab:"
    chosen = select(source, estate_for(ctx, source, estate), sites, devices, roles)
    repo = repo or default_dir(source)
    agg = run(read_running, chosen, workers, "backup", as_json)
    rev, changed = commit(repo, agg, source)
    failed = sorted(agg.failed_hosts)
    saved = sorted(h for h, r in agg.results.items() if not r.failed)
    if as_json:
        click.echo(
            json.dumps(
                {"dir": str(repo), "commit": rev, "changed": changed, "saved": saved, "unreachable": failed}, indent=2
            )
        )
    else:
        out.print(f"backup of {len(saved)} device(s) in {shown(str(repo))}")
        out.print(
            f"  commit {rev}: {len(changed)} changed: {shown(', '.join(changed))}"
            if rev
            else "  nothing changed: no commit"
        )
        if failed:
            out.print(f"  [red]not reachable (previous file kept): {shown(', '.join(failed))}[/]")
    print_failures(agg)
    finish(agg)
