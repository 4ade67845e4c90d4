"""`jinbao lab …`: bring the lab up and down, look at it, and break it on purpose."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import click
from rich.markup import escape
from rich.table import Table

from jinbao.console import err, finish, out, print_failures

from . import db, health, runtime
from .runtime import Lab


def _nonempty_id(ctx, param, value):
    # `--id "$LAB"` with LAB unset must not mean "no id", which picks (or, for down, removed)
    # whatever labs are up.
    if value is not None and not value.strip():
        raise click.BadParameter("is empty; give a lab id (jinbao lab status lists none; ls $JINBAO_LAB_ROOT)")
    return value


id_option = click.option(
    "--id", "lab_id", envvar="JINBAO_LAB_ID", callback=_nonempty_id, help="Lab id (default: the only lab up)."
)


@click.group()
def cli():
    """A live replica of the estate: one network namespace per device, real daemons."""


cli.name = "lab"


@cli.command()
@click.option("--estate", default="lab", show_default=True, help="Estate to build (frr/nftables/linux devices only).")
@click.option("--id", "lab_id", help="Use this lab id instead of a new random one.")
@click.option("--no-wait", is_flag=True, help="Do not wait for OSPF to converge.")
@click.option("--timeout", default=120, show_default=True, help="Seconds to wait for convergence.")
def up(estate, lab_id, no_wait, timeout):
    """Build the lab estate and start every node."""
    with err.status("building the lab") as st:
        lab = runtime.up(estate, lab_id, wait=not no_wait, timeout=timeout, progress=lambda m: st.update(f"lab: {m}"))
    out.print(
        f"[green]✓[/] lab [bold]{lab.id}[/] is up: {len(lab.plan.nodes)} nodes of estate {estate}"
        + ("" if no_wait else ", OSPF converged")
    )
    out.print(f"  status: jinbao lab status --id {lab.id}    down: jinbao lab down --id {lab.id}")


@cli.command()
@id_option
@click.option("--json", "as_json", is_flag=True)
def status(lab_id, as_json):
    """Nodes, daemons, SSH, links, OSPF adjacencies and routes; exit 1 unless all is as intended."""
    lab = Lab.find(lab_id)
    agg = health.status(lab)
    st = health.summary(lab, agg)
    if as_json:
        click.echo(json.dumps(st, indent=1))
        finish(agg)
    t = Table(title=f"lab {lab.id} (estate {lab.state['estate']}); reach it with: jinbao lab exec ops -- <cmd>")
    for col in (
        "node",
        "kind",
        "mgmt",
        "running",
        "processes",
        "ssh",
        "snmp",
        "links up",
        "OSPF full/expected",
        "routes as intended",
    ):
        t.add_column(col)

    def mark(ok: bool, text: str) -> str:
        return text if ok else f"[red]{escape(text)}[/]"

    for r in st["nodes"]:
        t.add_row(
            r["node"],
            r["kind"],
            r["mgmt"],
            mark(r["running"], "yes" if r["running"] else "no"),
            " ".join(r["processes"])
            + (f" [red](missing: {' '.join(r['missing_daemons'])})[/]" if r["missing_daemons"] else ""),
            mark(r["ssh"], "yes" if r["ssh"] else "no"),
            mark(r["snmp"], "yes" if r["snmp"] else "no"),
            mark(r["links_up"] == r["links"], f"{r['links_up']}/{r['links']}"),
            mark(r["ospf_full"] == r["ospf_expected"], f"{r['ospf_full']}/{r['ospf_expected']}")
            if r["ospf_expected"]
            else "",
            mark(r["routes_ok"] == r["routes_expected"], f"{r['routes_ok']}/{r['routes_expected']}")
            if r["routes_expected"]
            else "",
        )
    out.print(t)
    print_failures(agg)
    finish(agg)


@cli.command()
@id_option
@click.option("--all", "all_labs", is_flag=True, help="Remove every lab of this lab root.")
@click.option(
    "--orphans",
    is_flag=True,
    help="Remove only the labs whose holder (a test run) is gone; labs brought up by hand are kept.",
)
def down(lab_id, all_labs, orphans):
    """Remove exactly what 'up' made: namespaces, processes, veths, files.

    Without --id it removes the only lab up; with several up, say which (or --all)."""
    ids = Lab.all_ids()
    if sum(map(bool, (lab_id, all_labs, orphans))) > 1:
        raise click.UsageError("--id, --all and --orphans choose differently; give one of them")
    if lab_id:
        ids = [lab_id]
    elif orphans:
        swept = runtime.down_orphans()
        for i, removed in swept.items():
            out.print(f"[green]✓[/] lab {i} removed ({len(removed)} namespaces)")
        if not swept:
            out.print("no orphaned lab")
        return
    elif not ids:
        out.print("no lab is up")
        return
    elif len(ids) > 1 and not all_labs:
        raise click.UsageError(f"several labs are up ({', '.join(ids)}); pick one with --id, or --all")
    for i in ids:
        removed = runtime.down(Lab(i))  # an id of which nothing exists is refused (exit 2)
        out.print(f"[green]✓[/] lab {i} removed ({len(removed)} namespaces)")


@cli.group()
def link():
    """Fail or restore a link between two nodes."""


def _link_cmd(state):
    @id_option
    @click.argument("a")
    @click.argument("b")
    def cmd(lab_id, a, b):
        lab = Lab.find(lab_id)
        if state == "drop":
            runtime.link_drop(lab, a, b)
        else:
            runtime.link_set(lab, a, b, state)
        out.print(f"link {a} — {b}: {state}")

    return cmd


link.command("down", help="Carrier loss on the link A—B.")(_link_cmd("down"))
link.command("up", help="Restore the link A—B (also lifts a silent drop).")(_link_cmd("up"))
link.command("drop", help="Silent loss: carrier stays up, nftables drops every frame.")(_link_cmd("drop"))


@cli.group()
def node():
    """Stop or start all daemons of a node."""


def _node_cmd(action):
    @id_option
    @click.argument("name")
    def cmd(lab_id, name):
        {"stop": runtime.node_stop, "start": runtime.node_start}[action](Lab.find(lab_id), name)
        out.print(f"node {name}: {'started' if action == 'start' else 'stopped'}")

    return cmd


node.command("stop", help="Stop every daemon of the node; its namespaces stay.")(_node_cmd("stop"))
node.command("start", help="Start the node's daemons again.")(_node_cmd("start"))


@cli.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@id_option
@click.argument("name")
@click.argument("cmd", nargs=-1, required=True, type=click.UNPROCESSED)
def exec(lab_id, name, cmd):
    """Run CMD inside node NAME ('ops' is the operator seat on the management network)."""
    lab = Lab.find(lab_id)
    cmd = cmd[1:] if cmd[:1] == ("--",) else cmd  # `exec NODE -- CMD`, as the docs write it
    # The lab's SNMP keys reach tools on the operator seat through the environment, never argv
    # (which any local user could read in /proc).
    env = {**os.environ, **lab.secrets_env()} if name == "ops" else None
    sys.exit(subprocess.call(lab.node_cmd(name, list(cmd)), env=env))


@cli.command()
@id_option
@click.argument("name")
@click.argument("cmd", nargs=-1, type=click.UNPROCESSED)
def ssh(lab_id, name, cmd):
    """SSH into node NAME as the lab operator, from the operator seat."""
    lab = Lab.find(lab_id)
    cmd = cmd[1:] if cmd[:1] == ("--",) else cmd
    sys.exit(subprocess.call(lab.target(name).ssh_command(*cmd)))


@cli.group("db")
def db_group():
    """PostgreSQL in the database nodes of each DR pair (primary, streaming standby, service address)."""


@db_group.command("up")
@id_option
def db_up(lab_id):
    """Start each DR pair's primary and standby and their service address (idempotent)."""
    lab = Lab.find(lab_id)
    with err.status("starting PostgreSQL") as st:
        pairs = db.prepare(lab, progress=lambda m: st.update(f"db: {m}"))
    for p in pairs:
        out.print(
            f"[green]✓[/] {p['name']}: primary {p['primary']['node']}, {p['replication']} standby "
            f"{p['standby']['node']}, service address {p['service_address']}"
        )


@db_group.command("status")
@id_option
@click.option("--json", "as_json", is_flag=True)
def db_status(lab_id, as_json):
    """Each pair's nodes, data dirs, service address and roles as PostgreSQL reports them."""
    pairs = db.status(Lab.find(lab_id))
    if as_json:
        click.echo(json.dumps(pairs, indent=1))
        return
    for p in pairs:
        roles = ", ".join(f"{p[r]['node']}: {p[r]['role'] or 'down'}" for r in ("primary", "standby"))
        out.print(f"{p['name']} ({p['replication']}, service {p['service_address']}): {roles}")
