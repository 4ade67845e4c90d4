"""`jinbao pki audit …`: the auditor's commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.table import Table

from jinbao.console import out

from .authority import Authority
from .authz import Credential
from .cli_common import as_option, ca_dir_option, row, say


@click.group()
def audit():
    """The hash-chained audit log (auditor role)."""


@audit.command("verify")
@ca_dir_option
@as_option
@click.option(
    "--checkpoint",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Your own record of the log's head, kept off the CA machine: checked, then advanced.",
)
def audit_verify(ca_dir, operator, checkpoint):
    """Recompute the chain and check every entry's signature; exit 1 on tampering."""
    # Public material is enough to verify: the issuing key may be absent from where the auditor runs this.
    n, problems = Authority(ca_dir, signing=False).verify_audit(Credential.from_prefix(operator), checkpoint)
    if problems:
        for p in problems:
            say(p, mark="[red]✗[/] ")
        out.print(
            f"[red]{len(problems)} problem(s): the CA (audit log of {n} entries, tables or published files) has "
            "been tampered with[/]"
        )
        sys.exit(1)
    say(
        f"audit log intact: {n} entries, chain and signatures verify; the tables match the log and the CA's seal, "
        "and the published CRLs are the CA's latest"
    )


@audit.command("show")
@ca_dir_option
@as_option
@click.option("--json", "as_json", is_flag=True)
def audit_show(ca_dir, operator, as_json):
    rows = Authority(ca_dir).audit_log(Credential.from_prefix(operator))
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    t = Table(title=f"audit log ({len(rows)} entries)")
    for col in ("seq", "time", "actor", "action", "detail"):
        t.add_column(col, overflow="fold")
    for r in rows:
        row(t, r["seq"], r["time"][:19], r["actor"], r["action"], r["detail"])
    out.print(t)
