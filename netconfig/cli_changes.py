"""`jinbao config changes`: the change log, newest first: what apply and rollback did, who, when."""

from __future__ import annotations

import json

import click

from jinbao.console import out, shown

from . import changelog


@click.command()
@click.option("--lab", "lab_id", help="Only changes made on this lab.")
@click.option("--targets", "spec", help="Only changes made on this source, e.g. lab:jb1a2b.")
@click.option("--last", default=20, show_default=True, help="How many changes to list.")
@click.option("--json", "as_json", is_flag=True, help="Every event of those changes as JSON, for tooling.")
def changes(lab_id, spec, last, as_json):
    """The recorded changes: id, kind, who, when, and how each ended."""
    source = f"lab:{lab_id}" if lab_id else spec
    opened, _ = changelog.unfinished()
    ids = []
    for r in changelog.records():
        if r.get("event") == "started" and (source is None or r.get("source") == source):
            ids.append(r["id"])
    chosen = [changelog.change(i, "") for i in reversed(ids[-last:])]
    if as_json:
        click.echo(json.dumps(chosen, indent=2, default=str))
        return
    if not chosen:
        out.print(f"no recorded changes in {shown(str(changelog.log_path()))}")
        return
    live = {r["id"] for r in opened}
    for c in chosen:
        kind = f"rollback of {c['of']}" if c.get("kind") == "rollback" else c.get("kind", "apply")
        if "finished" in c:
            by: dict[str, int] = {}
            for s in c["status"].values():
                by[s] = by.get(s, 0) + 1
            ended = ", ".join(f"{n} {s}" for s, n in sorted(by.items()))
        elif "abandoned" in c:
            ended = "[red]abandoned[/] (its run stopped midway; unconfirmed commits reverted)"
        else:
            ended = "[yellow]in progress[/]" if c["id"] in live else "[red]never finished[/]"
        who, where = shown(str(c.get("who"))), shown(str(c.get("source")))
        out.print(f"{c['id']}  {shown(kind)}  by {who} at {c.get('at')} on {where}: {ended}")
