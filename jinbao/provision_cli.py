"""`jinbao provision` and `jinbao verify`: the playbooks and the testinfra suites over the estate.

Registered through the `jinbao.commands` entry points like every group, though they are the
core's: Ansible is a core concern, and a lab is reached only as a target source (`lab:<id>`).
"""

from __future__ import annotations

import json

import click
from rich.table import Table

from .console import err, finish, out, print_failures, shown
from .provision import Seat, check_role, playbook, playbook_path, seat
from .verify import verify as run_verify

_where = [
    click.option("--site", help="Only the servers of this site (Ansible group site_<S>)."),
    click.option("--lab", "lab_id", help="Reach the hosts through this lab's operator seat (targets lab:ID)."),
    click.option(
        "--estate",
        "estate_name",
        help="The estate whose servers to run on: with --lab, the one the lab was built from (default lab); "
        "without, production's, reached at its inventory addresses (default: jinbao --estate).",
    ),
    click.option("--host", "hosts", multiple=True, help="Only this server (repeatable)."),
    click.option("--json", "as_json", is_flag=True, help="Machine-readable results on stdout."),
]


def where(f):
    for opt in reversed(_where):
        f = opt(f)
    return f


def _seat(ctx: click.Context, site, lab_id, estate_name, hosts) -> Seat:
    if lab_id:
        return seat(f"lab:{lab_id}", estate_name or "lab", site=site, hosts=list(hosts))
    name = estate_name or str((ctx.find_root().obj or {}).get("estate", "province"))
    return seat(f"estate:{name}", name, site=site, hosts=list(hosts))


@click.command()
@where
@click.option("--role", help="Only this role of the playbook (its tag), e.g. ssh_hardening.")
@click.option("--check", is_flag=True, help="Ansible's check mode with diff: report what would change, change nothing.")
@click.option("--playbook", "book", default="site", show_default=True, help="A playbook of playbooks/, or a path.")
@click.option("--forks", default=20, show_default=True, help="Hosts Ansible works on at once.")
@click.pass_context
def provision(ctx, site, lab_id, estate_name, hosts, as_json, role, check, book, forks):
    """Run the playbooks over the estate's servers; per host: ok, changed, failed, unreachable.

    Exit 0 when every host converged (or, with --check, would), 1 when some failed or could not
    be reached (each is named; the others carry on), 2 on bad input, before any host is touched."""
    path = playbook_path(book)
    if role:
        check_role(role)
    s = _seat(ctx, site, lab_id, estate_name, hosts)
    run = playbook(s, path, check=check, tags=[role] if role else None, forks=forks)
    agg = run.results
    if as_json:
        body = {
            "playbook": path.name,
            "check": check,
            "source": s.source,
            "forks": forks,
            "seconds": round(run.seconds, 2),
            "log": str(run.log),
            "hosts": {h: r.as_dict() for h, r in agg.results.items()},
            "left_alone": run.left_alone,
        }
        click.echo(json.dumps(body, ensure_ascii=False, indent=1))
        finish(agg)
    t = Table(title=f"{path.name}{' --check' if check else ''} on {len(s.targets)} server(s) via {shown(s.source)}")
    for col in ("host", "ok", "changed", "failed", "unreachable", "what changed" if not check else "would change"):
        t.add_column(col, overflow="fold")
    for h, r in agg.results.items():
        c = r.data["counts"] if r.data else {}
        t.add_row(
            shown(h),
            str(c.get("ok", 0)),
            str(c.get("changed", 0)),
            str(c.get("failures", 0)),
            str(c.get("unreachable", 0)),
            shown("; ".join(r.data["changed_tasks"]) if r.data else ""),
        )
    out.print(t)
    if check:
        for h, r in agg.results.items():
            if r.diff:
                out.print(f"[bold]{shown(h)}[/]")
                out.print(shown(r.diff), soft_wrap=True)
    missing = sorted(set(s.targets) - set(agg.results))
    if missing:
        err.print(f"[yellow]not in any play of {path.name}:[/] {shown(', '.join(missing))}")
    for note in run.left_alone:
        out.print(f"[yellow]left alone:[/] {shown(note)}")
    print_failures(agg)
    out.print(f"[dim]{run.seconds:.1f} s, forks {forks}; Ansible's output (redacted): {shown(str(run.log))}[/]")
    finish(agg)


@click.command()
@where
@click.option("--role", help="Only this role's suite (roles/<role>/tests).")
@click.option("--playbook", "book", default="site", show_default=True, help="Verify the roles this playbook applies.")
@click.pass_context
def verify(ctx, site, lab_id, estate_name, hosts, as_json, role, book):
    """Run the testinfra suites of roles/*/tests against the servers; per host, per check.

    Exit 0 when every check passed on every host, 1 when some failed (each named), 2 on bad input."""
    s = _seat(ctx, site, lab_id, estate_name, hosts)
    res = run_verify(s, role, book=playbook_path(book))
    agg = res.results
    if as_json:
        body = {
            "source": s.source,
            "seconds": round(res.seconds, 2),
            "log": str(res.log),
            "kept": str(res.kept),
            "hosts": res.checks,
        }
        click.echo(json.dumps(body, ensure_ascii=False, indent=1))
        finish(agg)
    t = Table(title=f"testinfra on {len(s.targets)} server(s) via {shown(s.source)}")
    for col in ("host", "passed", "failed", "failed checks"):
        t.add_column(col, overflow="fold")
    for h, r in agg.results.items():
        failed = [k for k, v in res.checks[h].items() if v in ("failed", "error")]
        t.add_row(shown(h), str(r.data["passed"]), str(len(failed)), shown(", ".join(failed)))
    out.print(t)
    print_failures(agg)
    out.print(f"[dim]{res.seconds:.1f} s; pytest's output (redacted): {shown(str(res.log))}[/]")
    out.print(f"[dim]kept for `jinbao audit run`: {shown(str(res.kept))}[/]")
    finish(agg)
