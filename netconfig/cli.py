"""`jinbao config …`: render intended configs, read devices, and compare the two."""

from __future__ import annotations

import click

from .cli_apply import apply
from .cli_backup import backup
from .cli_changes import changes
from .cli_get import get
from .cli_plan import drift, plan
from .cli_rollback import rollback
from .render_cli import render


@click.group()
def cli():
    """Device configs: render the intent, read what devices run, plan, back up, find drift."""


cli.name = "config"
cli.add_command(get)
cli.add_command(render)
cli.add_command(plan)
cli.add_command(drift)
cli.add_command(backup)
cli.add_command(apply)
cli.add_command(rollback)
cli.add_command(changes)
