"""The `jinbao` command: one entry point, one subcommand group per domain.

Exit codes, the same for every command: 0 ok, 1 some targets failed, 2 bad input (nothing was
touched). --json prints machine-readable output on stdout; tables and progress are for people.
"""

from __future__ import annotations

import functools
import json
import sys
from collections import Counter
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from .console import err, out, print_problems
from .errors import InventoryError, JinbaoError, TargetsFailed
from .estate import load_estate


class DomainGroup(click.Group):
    """The top-level group: the core's own commands, and each domain's group (entry points in
    `jinbao.commands`, the way pytest finds plugins: the core never names a domain), imported only
    when it is asked for. Importing every domain (pysnmp, cryptography, NAPALM, Jinja2) cost
    about 0.6 s of CPU on every call, most of which use one domain."""

    @functools.cached_property
    def _domains(self) -> dict:
        from importlib.metadata import entry_points

        return {ep.name: ep for ep in entry_points(group="jinbao.commands")}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(self._domains))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self._domains:
            self.add_command(self._domains[cmd_name].load(), cmd_name)
        return self.commands.get(cmd_name)


@click.group(cls=DomainGroup)
@click.option(
    "--estate",
    "estate_name",
    envvar="JINBAO_ESTATE",
    default="province",
    show_default=True,
    help="Estate name under inventory/, or a path to an estate folder.",
)
@click.pass_context
def cli(ctx, estate_name):
    """jinbao runs the hardware estate of a provincial 金保工程 network."""
    ctx.obj = {"estate": estate_name}


def estate_of(ctx):
    """Load and validate the estate; every command that uses it goes through here first."""
    return load_estate(ctx.obj["estate"])


@cli.group()
def inventory():
    """The declarative estate: validate it, show it, draw it, hand it to Ansible."""


@inventory.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def validate(ctx, as_json):
    """Check schema, references, IP plan and design rules; report every problem at once."""
    try:
        e = estate_of(ctx)
    except InventoryError as x:
        print_problems(x.problems, as_json)
        sys.exit(2)
    kinds = Counter(s.kind for s in e.sites.values())
    summary = {
        "estate": e.name,
        "valid": True,
        "sites": dict(kinds),
        "devices": len(e.devices),
        "links": len(e.links),
        "policies": len(e.policies),
        "dr_pairs": len(e.dr_pairs),
    }
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    out.print(
        f"[green]✓[/] estate [bold]{escape(e.name)}[/] is valid: {len(e.sites)} sites "
        f"({', '.join(f'{n} {k}' for k, n in kinds.items())}), {len(e.devices)} devices, "
        f"{len(e.links)} WAN links, {len(e.policies)} zone policies, {len(e.dr_pairs)} DR pairs"
    )


@inventory.command()
@click.option("--site", help="Only devices of this site.")
@click.option("--role", help="Only devices of this role.")
@click.option("--json", "as_json", is_flag=True, help="The resolved estate (or the selected devices) as JSON.")
@click.pass_context
def show(ctx, site, role, as_json):
    """Print the resolved, explicit estate: every device with its addresses."""
    e = estate_of(ctx)
    if site and site not in e.sites:
        raise click.BadParameter(
            f"no site {site!r}; sites include {', '.join(list(e.sites)[:8])} …", param_hint="--site"
        )
    devices = e.select(site=site, role=role)
    if as_json:
        if site or role:
            body = {"devices": [d.model_dump(mode="json") for d in devices]}
        else:
            body = e.model_dump(mode="json")
        click.echo(json.dumps(body, ensure_ascii=False, indent=1))
        return
    t = Table(title=f"{e.name}: {len(devices)} device(s)", show_lines=False)
    for col in ("device", "site", "zone", "role", "platform", "vendor / model", "mgmt", "loopback", "interfaces"):
        t.add_column(col, overflow="fold", no_wrap=col != "interfaces")
    for d in devices:
        # Interface detail only when a selection keeps the table readable.
        ifs = "\n".join(f"{i.name} {i.ip}" for i in d.interfaces if i.ip) if (site or role) else str(len(d.interfaces))
        # Vendor, model and carrier are free text; rich would read '[/]' in them as markup.
        t.add_row(
            *(
                escape(str(c))
                for c in (
                    d.name,
                    d.site,
                    d.zone or "",
                    d.role,
                    d.platform,
                    f"{d.vendor} {d.model}",
                    d.mgmt_ip,
                    d.loopback or "",
                    ifs,
                )
            )
        )
    out.print(t)
    if not (site or role):
        lt = Table(title=f"{len(e.links)} WAN link(s)")
        for col in ("link", "type", "carrier", "Mbit/s", "role", "subnet", "OSPF area", "cost"):
            lt.add_column(col)
        for l in e.links:
            lt.add_row(
                *(
                    escape(str(c))
                    for c in (l.id, l.type, l.carrier or "", l.bandwidth_mbps, l.role, l.subnet, l.ospf_area, l.cost)
                )
            )
        out.print(lt)


@inventory.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("out"),
    show_default=True,
    help="Folder for the .dot, .svg and .png files.",
)
@click.pass_context
def graph(ctx, out_dir):
    """Draw the topology (sites, WAN links, carriers) as SVG and PNG."""
    from .graph import render

    e = estate_of(ctx)
    for f in render(e, out_dir):
        out.print(f"wrote {escape(str(f))}")


@inventory.command()
@click.option("--yaml", "as_yaml", is_flag=True, help="A static YAML inventory instead of --list JSON.")
@click.pass_context
def ansible(ctx, as_yaml):
    """Print the estate as an Ansible inventory (the same groups the plugin makes)."""
    from . import ansible_inventory

    e = estate_of(ctx)
    if as_yaml:
        import yaml

        click.echo(yaml.safe_dump(ansible_inventory.as_yaml_inventory(e), sort_keys=False, allow_unicode=True))
    else:
        click.echo(json.dumps(ansible_inventory.as_list_json(e), ensure_ascii=False))


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except InventoryError as x:
        print_problems(x.problems, "--json" in sys.argv)
        sys.exit(2)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as x:
        x.show()
        sys.exit(2)
    except JinbaoError as x:
        err.print(f"[bold red]error[/]: {escape(str(x))}", soft_wrap=True)
        sys.exit(1 if isinstance(x, TargetsFailed) else 2)


if __name__ == "__main__":
    main()
