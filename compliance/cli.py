"""`jinbao audit …`: MLPS 2.0 level-3 evidence for auditors (docs/compliance.md).

Exit codes: 0 the evaluation ran and found nothing unwaived; 1 it ran and there are findings
(as a linter does, so a script can gate on it); 2 bad input (a malformed rule or waiver file,
an unreadable dump, an unknown platform).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
from rich.markup import escape

from jinbao import verify
from jinbao.console import err, out, print_problems, shown
from jinbao.errors import JinbaoError
from jinbao.platforms import PLATFORMS
from jinbao.target import estate_for, source_of, targets

from . import configtext, devicecheck, keptruns, report, runner, summary, waivers
from .errors import RuleFileError
from .registry import registry
from .sources import configs, pki
from .verdicts import Verdict


class _Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except RuleFileError as e:
            print_problems(e.problems, "--json" in sys.argv)
            sys.exit(2)


@click.group(cls=_Group)
def cli():
    """Compliance: MLPS 2.0 (等保 2.0) level-3 findings with their evidence, and the auditor's report."""


def waivers_option(f):
    return click.option(
        "--waivers",
        "waivers_file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="The waivers file (default: compliance/waivers.yml, none if it is absent; a file named here must exist).",
    )(f)


def exit_for(verdicts: list[Verdict]) -> None:
    sys.exit(1 if any(v.status == "finding" and not v.waived_by for v in verdicts) else 0)


def print_verdicts(verdicts: list[Verdict]) -> None:
    reg = registry()
    for v in verdicts:
        rule = reg.rule(v.rule)
        assert rule is not None
        head = f"{rule.id} [{rule.clause} {reg.clauses[rule.clause].zh}] {rule.title_en}"
        if v.status == "finding":
            mark = "[yellow]waived[/]" if v.waived_by else "[red]finding[/]"
            out.print(f"{mark} {shown(v.subject)}: {shown(head)}", soft_wrap=True)
            for f in v.findings:
                where = f"{f.file}:{f.line}" if f.line else (f.file or f.ref or "")
                text = f"  {f.text.strip()}" if f.text else ""
                out.print(f"    [cyan]{shown(where)}[/]: {shown(f.message)}{shown(text)}", soft_wrap=True)
            out.print(f"    [dim]fix:[/] {shown(rule.fix)}", soft_wrap=True)
            for note in (v.waived_by and f"waived by {v.waived_by}", v.waiver_note):
                if note:
                    out.print(f"    [dim]{shown(note)}[/]", soft_wrap=True)
        elif v.status == "no_evidence":
            out.print(f"[magenta]no evidence[/] {shown(v.subject)}: {shown(head)}", soft_wrap=True)


@cli.command("config")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--platform",
    # an appliance's firmware has no config text to judge (config_family empty)
    type=click.Choice(sorted(n for n, f in PLATFORMS.items() if f.config_family)),
    help="The platform of every file (else told from each file's text).",
)
@click.option("--json", "as_json", is_flag=True, help="Every verdict as JSON.")
@waivers_option
def config_cmd(files, platform, as_json, waivers_file):
    """Evaluate the device rules on config dumps (`display current-configuration`, `show running-config`).

    Each finding names the file, the line number and the line; a fragment without the section a
    rule reads says "no evidence", never "conforms"."""
    reg = registry()
    live = waivers.load(waivers_file, reg)
    rules = reg.of("device_config")
    verdicts: list[Verdict] = []
    configs, bad, seen = [], [], set()
    for f in files:
        real = os.path.realpath(f)
        if real in seen:  # `a.txt ./a.txt`: one device, judged once
            continue
        seen.add(real)
        try:
            configs.append(configtext.read(f, platform, check=True))
        except JinbaoError as e:
            bad.append(str(e))
    if bad:  # every bad file named at once, before any output: exit 2, nothing judged
        raise JinbaoError("\n".join(bad))
    for cfg in configs:
        verdicts += devicecheck.evaluate(cfg, rules, device_class=cfg.platform)
    verdicts = waivers.apply(verdicts, live)
    if as_json:
        body = {
            "files": [
                {
                    "file": c.file,
                    "platform": c.platform,
                    "dialect": c.dialect,
                    "encoding": c.encoding,
                    "whole_config": c.complete,
                }
                for c in configs
            ],
            "verdicts": [v.as_dict() for v in verdicts],
        }
        click.echo(json.dumps(body, ensure_ascii=False, indent=1))
        exit_for(verdicts)
    for c in configs:
        kind = "whole config" if c.complete else "fragment"
        dialect = f" ({c.dialect})" if c.dialect else ""
        out.print(f"[bold]{shown(c.file)}[/]: {escape(PLATFORMS[c.platform].title)}{dialect}, {c.encoding}, {kind}")
    print_verdicts(verdicts)
    counts = {
        s: sum(1 for v in verdicts if v.status == s) for s in ("finding", "no_evidence", "conforms", "not_applicable")
    }
    err.print(
        f"{len(configs)} file(s), {len(rules)} rule(s): {counts['finding']} with findings, "
        f"{counts['no_evidence']} without evidence, {counts['conforms']} conform, "
        f"{counts['not_applicable']} not applicable"
    )
    exit_for(verdicts)


@cli.command("run")
@click.option("--estate", "estate_arg", help="The estate (default: lab for a lab, else jinbao --estate).")
@click.option("--site", help="Only this site's devices, DR pairs and monitoring.")
@click.option("--lab", help="Read backups and monitoring of this lab (lab:ID) instead of the estate's own devices.")
@click.option(
    "--pki-dir", type=click.Path(file_okay=False, path_type=Path), default=pki.DEFAULT_CA_DIR, show_default=True
)
@click.option("--pki-as", help="An auditor's operator credential (PREFIX.crt/.key) to verify the CA's audit log.")
@click.option("--pki-ocsp-url", help="The OCSP responder to ask (default: the ocsp_url of the CA's ca.yml).")
@click.option(
    "--no-monitoring", is_flag=True, help="Do not run `jinbao monitor posture` (its rules then have no evidence)."
)
@click.option("--json", "as_json", is_flag=True, help="Every verdict as JSON.")
@waivers_option
@click.pass_context
def run_cmd(ctx, estate_arg, site, lab, pki_dir, pki_as, pki_ocsp_url, no_monitoring, as_json, waivers_file):
    """Collect evidence (inventory, device configs, servers' `jinbao verify` results, the CA, DR drills,
    monitoring) and evaluate every rule.

    The run is kept in the state folder for `jinbao audit report`."""
    source = source_of(lab, None)
    if source is not None:
        lab_known(source)
    estate_arg = estate_for(ctx, source, estate_arg)
    r = runner.run(estate_arg, site, lab, pki_dir, pki_as, waivers_file, not no_monitoring, pki_ocsp_url)
    path = runner.save(r, estate_arg, site)
    if as_json:
        click.echo(
            json.dumps(
                {"run": str(path), "sources": r.sources, "verdicts": [v.as_dict() for v in r.verdicts]},
                ensure_ascii=False,
                indent=1,
            )
        )
        exit_for(r.verdicts)
    print_verdicts(r.verdicts)
    reg = registry()
    rows = summary.per_clause(reg, [v.as_dict() for v in r.verdicts])
    for c in rows:
        zh, en = summary.CLAUSE_STATUS[c["status"]]
        out.print(f"{c['clause']:8} {shown(c['zh'])} / {shown(c['en'])}: {zh} {en} ({c['findings']} finding(s))")
    for k, v in r.sources.items():
        err.print(f"[dim]{k}: {shown(v)}[/]")
    err.print(f"run kept in {shown(str(path))}; `jinbao audit report` renders it")
    exit_for(r.verdicts)


def lab_known(source: str) -> None:
    """A lab that is up, or one whose backups or verify runs are kept (a lab taken down after its
    evidence was collected is still judged from that evidence). Else exit 2 naming the labs there
    are, before anything is judged or kept: a mistyped id once had the lab estate's rendered intent
    judged as if it were that lab."""
    try:
        targets(source)
    except JinbaoError as e:
        if any(d.is_dir() for d in (configs.backups(source), verify.results_dir(source))):
            return
        raise JinbaoError(
            f"{e}; nothing of {source} is kept either (no backups in {configs.backups(source)}, no verify runs "
            f"in {verify.results_dir(source)}): check the id, or bring the lab up with `jinbao lab up`"
        ) from None


@cli.command("report")
@click.option(
    "--out",
    "out_dir",
    # text, not click.Path: click reads '' as '.', and report.write refuses an empty --out itself
    default="out/compliance",
    show_default=True,
    help="The folder for the report files (created 0700 if missing; the files are 0600).",
)
@click.option(
    "--run",
    "run_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A kept run (default: the newest).",
)
@click.option("--no-pdf", is_flag=True, help="Skip the PDF.")
def report_cmd(out_dir, run_file, no_pdf):
    """Write the newest run as report.json, findings.csv, report.html (and report.pdf with WeasyPrint).

    The trend compares it with the previous run of the same estate and site scope, by their time."""
    runs, unreadable = keptruns.scan()
    if run_file is not None:
        chosen = keptruns.read(run_file)  # the run asked for must read: exit 2 naming it and why
        unreadable = [u for u in unreadable if u.path.resolve() != run_file.resolve()]
    elif runs:
        chosen = runs[-1]
    else:
        said = "".join(f"; unreadable, skipped: {u}" for u in unreadable)
        raise JinbaoError(f"no readable audit run kept in {keptruns.runs_dir()}; run `jinbao audit run` first{said}")
    written, notes = report.write(
        chosen, keptruns.previous(chosen, runs), out_dir, not no_pdf, [str(u) for u in unreadable]
    )
    for note in notes:
        err.print(f"[yellow]{escape(note)}[/]", soft_wrap=True)
    for kind, where in written.items():
        out.print(f"{kind}: {shown(str(where))}")
