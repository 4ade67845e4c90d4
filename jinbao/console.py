"""How every jinbao command talks to people: the consoles, quoting, and problems.

Domains print through these, so output looks the same everywhere and nothing a user wrote is
ever read as rich markup.
"""

from __future__ import annotations

import json
import sys

import click
from rich.console import Console
from rich.markup import escape

# Piped output (make demo, CI logs) gets a wide fixed width instead of folding at 80 columns.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 160)


def shown(text: str) -> str:
    """Text quoted from the estate, safe for a terminal: no markup, no control sequences."""
    if not text.isprintable():
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return escape(text)


def print_problems(problems, as_json: bool) -> None:
    if as_json:
        click.echo(
            json.dumps({"valid": False, "problems": [p.as_dict() for p in problems]}, ensure_ascii=False, indent=2)
        )
        return
    for p in problems:
        where = str(p.origin) if p.origin else "<estate>"
        # Problems quote what the engineer wrote; a name such as 'db[/]1' is text, not markup.
        err.print(
            f"[bold red]error[/] [cyan]{shown(where)}[/]: [bold]{shown(p.field)}[/]: {shown(p.message)}\n"
            f"      [dim]fix:[/] {shown(p.fix)}",
            soft_wrap=True,
        )
    err.print(f"[red]{len(problems)} problem(s); nothing was changed.[/]")


def print_failures(agg) -> None:
    """Name every target that failed, and why, on stderr: the summary an operator acts on."""
    for host, r in sorted(agg.failed_hosts.items()):
        for why in r.problems or (r.exception or "failed",):
            err.print(f"[red]✗[/] {shown(host)}: {shown(why)}", soft_wrap=True)


def finish(agg) -> None:
    """Exit as the result says: 0 every target ok, 1 some failed. (2, bad input, never gets here.)"""
    sys.exit(agg.exit_code())
