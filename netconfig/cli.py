"""`jinbao config …`: render intended configs and read devices."""

from __future__ import annotations

import click

from .cli_get import get
from .render_cli import render


@click.group()
def cli():
    """Device configs: render the intent, read what devices run."""


cli.name = "config"
cli.add_command(get)
cli.add_command(render)
