"""`jinbao monitor …`."""

from __future__ import annotations

import click


@click.group()
def cli():
    """Monitoring: poll devices over SNMP per their class's profile."""


cli.name = "monitor"
