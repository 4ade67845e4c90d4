"""`jinbao dr …`: disaster-recovery drills that measure RTO and RPO (see docs/dr.md)."""

from __future__ import annotations

import json
import time

import click

from jinbao import state
from jinbao.console import err, out, print_problems, shown
from jinbao.errors import JinbaoError, TargetsFailed
from jinbao.estate import load_estate

from . import audit, runbook
from . import report as reports
from .drill import Drill
from .remote import Pair, lab_cli
from .restore import restore


@click.group()
def cli():
    """Disaster-recovery drills: runbooks that measure RTO and RPO for real."""


cli.name = "dr"


def _load(drill: str) -> runbook.Runbook:
    try:
        return runbook.load(runbook.find(drill))
    except runbook.RunbookError as e:
        print_problems(e.problems, as_json=False)
        raise SystemExit(2) from None


def _lab_estate(lab_id: str):
    pairs = json.loads(lab_cli(lab_id, "db", "status", "--json"))
    return load_estate(pairs[0]["estate"] if pairs else "lab")


@cli.command()
@click.argument("drill")
@click.option("--lab", "lab_id", help="Resolve the targets in this lab (its estate); default: --estate.")
@click.pass_context
def plan(ctx, drill, lab_id):
    """Print exactly what DRILL will do, to which devices, in which order; touches nothing."""
    rb = _load(drill)
    e = _lab_estate(lab_id) if lab_id else load_estate(ctx.obj["estate"])
    for line in runbook.plan_lines(rb, runbook.against(rb, e)):
        out.print(shown(line), soft_wrap=True)


@cli.command()
@click.argument("drill")
@click.option("--lab", "lab_id", help="Run against this lab.")
@click.option("--confirm", help="Required to run against any estate but a lab: the estate's name.")
@click.pass_context
def run(ctx, drill, lab_id, confirm):
    """Run DRILL: precheck, fault, recovery, verify, failback; measure RTO and RPO; write a report.

    On a failed check, an overrun budget, an error or Ctrl-C it restores the starting state."""
    rb = _load(drill)
    if not lab_id:
        name = load_estate(ctx.obj["estate"]).name
        if confirm != name:
            raise JinbaoError(
                f"refusing to run drill {rb.drill} against estate {name} (not a lab) without "
                f"--confirm {name}; nothing was touched"
            )
        raise JinbaoError(
            f"running drills against estate {name}'s own devices is not built yet; use --lab ID; nothing was touched"
        )
    with _one_drill(lab_id):
        _run(rb, lab_id)


def _one_drill(lab_id: str):
    """One drill (or restore) per lab at a time; a second is refused before it touches anything."""
    return state.exclusive(
        reports.lock_path(lab_id),
        f"a drill or restore is already running on lab {lab_id} ({{holder}}); wait for it; nothing was touched",
    )


def _run(rb, lab_id: str) -> None:
    info = runbook.against(rb, _lab_estate(lab_id))
    if rb.kind != "failback":  # a failback starts from a failed-over pair, whose old primary is down
        lab_cli(lab_id, "db", "up")  # PostgreSQL starts lazily, on the first drill (docs/dr.md)
    pair = Pair(lab_id, rb.pair)
    d = Drill(rb, pair, progress=lambda m: err.print(shown(m), soft_wrap=True), info=info)
    rep = {"run_id": d.run_id, "drill": rb.drill, "kind": rb.kind, "file": rb.file, "lab": lab_id, "pair": rb.pair}
    rep.update(
        primary=info["primary"]["node"],
        standby=info["standby"]["node"],
        replication=info["replication"],
        started=time.time(),
    )
    p = info["pair"]
    rep["targets"] = {"rto_s": p.rto_s, "rpo_s": p.rpo_s, "level": p.level}
    error: BaseException | None = None
    try:
        d.execute()
        rep["outcome"] = "completed"
    except BaseException as e:  # a failed step, an error, Ctrl-C: restore, report, then say so
        error = e
        rep["outcome"] = "aborted"
        rep["error"] = str(e) or type(e).__name__
        d.stop_probes()
        if d.changed:
            err.print("[yellow]drill aborted; restoring the starting state[/]")
            before = len(pair.log)
            try:
                healed = d.heal_all()  # links up and nodes started first: restore needs to reach them
                rep["restored"] = healed + restore(pair, say=lambda m: err.print(shown(m)))
            except BaseException as r:  # say so in the report, loudly; the drill's error stays the error
                rep["restore_error"] = str(r) or type(r).__name__
                err.print(f"[red]restore failed:[/] {shown(rep['restore_error'])}")
            rep["restore_commands"] = pair.log[before:]
    finally:
        d.stop_probes()
        pair.close()
        rep.update(ended=time.time(), steps=d.steps, faults=[{k: v for k, v in f.items()} for f in d.faults])
        verdicts = [e for e in d.witness.events if e["ev"] != "probe"] if d.witness else []  # not every probe
        where = reports.write(rep, d.canary.events if d.canary else [], verdicts)
        out.print(f"report: {where / 'report.md'} (and report.json)")
    for f in d.faults:
        out.print(
            f"{f['kind']} of {f['node']}: RTO {f.get('rto_s', float('nan')):.3f} s, "
            f"{f.get('lost_rows', '?')} acknowledged rows lost ({f.get('lost_seconds', 0):.3f} s of writes)"
            + (f", detected in {f['detect_s']:.3f} s" if "detect_s" in f else "")
            + (f"; the witness decided {f['decision']}" if "decision" in f else "")
            + (f", split brain: {'YES' if f['split_brain'] else 'no'}" if "split_brain" in f else "")
        )
    out.print(f"drill {rb.drill}: {rep['outcome']}, verdict {rep['verdict']}")
    if isinstance(error, KeyboardInterrupt):
        raise SystemExit(130)
    if "restore_error" in rep:
        raise TargetsFailed(f"drill {rb.drill} aborted and the starting state was NOT restored: {rep['restore_error']}")
    if error is not None:
        raise TargetsFailed(f"drill {rb.drill} aborted: {rep['error']}")


@cli.command("restore")
@click.option("--lab", "lab_id", required=True, help="The lab whose DR pair to put back.")
@click.option("--pair", "pair_name", default="core-db", show_default=True)
def restore_cmd(lab_id, pair_name):
    """Put a DR pair back as the inventory says (the failback a drill does on abort): primary
    primary, standby streaming from it, service address on the primary's side."""
    with _one_drill(lab_id):
        pair = Pair(lab_id, pair_name)
        try:
            did = restore(pair, say=lambda m: err.print(shown(m)))
        finally:
            pair.close()
    out.print(f"[green]✓[/] {pair_name}: {'; '.join(did) or 'already as the inventory says'}")


@cli.command("report")
@click.argument("drill_id", required=False)
@click.option("--participant", "participants", multiple=True, help="Who took part (repeat for each person).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON too.")
def report_cmd(drill_id, participants, as_json):
    """Write the auditor's report of DRILL-ID (default: the latest drill): HTML with a timeline,
    JSON, and PDF where a renderer is installed; verdict against the pair's GB/T 20988 level."""
    folder = audit.find(drill_id)
    paths = audit.write(folder, list(participants))
    a = json.loads(paths["json"].read_text())
    if as_json:
        out.print_json(data=a)
    for kind, p in paths.items():
        out.print(f"{kind}: {p}")
    if "pdf" not in paths:
        out.print("pdf: no renderer installed (weasyprint, wkhtmltopdf or chromium); the HTML prints to PDF as it is")
    out.print(f"drill {a['drill']} ({a['run_id']}): {a['verdict']} — {'; '.join(a['verdict_why'])}")
