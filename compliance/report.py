"""`jinbao audit report`: the newest run as JSON, CSV (one row per finding, for the assessor's
workbook) and self-contained HTML; PDF too when WeasyPrint (Debian's `weasyprint`) is installed."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

from jinbao.redact import redact
from jinbao.state import write_whole

from . import html, scrub, summary
from .keptruns import KeptRun
from .registry import Registry, registry


def write(
    run: KeptRun, previous: KeptRun | None, out: Path, pdf: bool = True, unreadable: list[str] | tuple = ()
) -> tuple[dict[str, Path | str], list[str]]:
    """Write the report files; returns them and the notes on what was left out and why (each
    unreadable kept run, each verdict of a rule since removed), which the report carries too."""
    reg = registry()
    # A run kept by an older jinbao, or edited by hand, may carry a secret from a verify run or a
    # drill report: its external text is redacted again before any format is written.
    run = _scrubbed(reg, run)
    previous = _scrubbed(reg, previous) if previous else None
    notes = [f"unreadable, skipped: {u}" for u in unreadable]
    verdicts = _known(reg, run, notes)
    before = {**previous.body, "verdicts": _known(reg, previous, notes)} if previous else None
    s = summary.summarise(reg, {**run.body, "verdicts": verdicts}, before)
    s["run"] = str(run.path)
    s["previous_run"] = str(previous.path) if previous else None
    s["notes"] = notes
    rows = summary.finding_rows(reg, verdicts)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path | str] = {}
    write_whole(
        out / "report.json",
        json.dumps({"summary": s, "findings": rows, "verdicts": run.body["verdicts"]}, ensure_ascii=False, indent=1),
    )
    written["json"] = out / "report.json"
    with (out / "findings.csv").open("w", newline="", encoding="utf-8-sig") as f:
        # utf-8-sig: Excel, the assessor's workbook, reads the Chinese columns right only with the BOM.
        w = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["rule"])
        w.writeheader()
        w.writerows({k: cell(v) for k, v in row.items()} for row in rows)
    written["csv"] = out / "findings.csv"
    write_whole(out / "report.html", html.render(s, rows))
    written["html"] = out / "report.html"
    if pdf:
        written["pdf"] = _pdf(out / "report.html", out / "report.pdf")
    return written, notes


def _scrubbed(reg: Registry, run: KeptRun) -> KeptRun:
    body = dict(run.body)
    body["verdicts"] = scrub.kept(reg, body.get("verdicts", []))
    if isinstance(body.get("sources"), dict):
        body["sources"] = {k: redact(str(v)) for k, v in body["sources"].items()}
    return replace(run, body=body)


def _known(reg: Registry, run: KeptRun, notes: list[str]) -> list[dict]:
    """The run's verdicts of rules still defined; the others are named in notes. A kept run
    outlives the rules it was judged on, and a removed rule has no clause left to count it in."""
    kept = [v for v in run.body["verdicts"] if reg.rule(v["rule"]) is not None]
    gone = sorted({v["rule"] for v in run.body["verdicts"]} - {v["rule"] for v in kept})
    if gone:
        notes.append(
            f"{run.path}: {len(run.body['verdicts']) - len(kept)} verdict(s) of rule(s) no longer defined "
            f"({', '.join(gone)}) left out of the clauses, findings and trend"
        )
    return kept


def _pdf(src: Path, dst: Path) -> Path | str:
    tool = shutil.which("weasyprint")
    if tool is None:
        return "not written: WeasyPrint is not installed (apt-get install weasyprint)"
    r = subprocess.run([tool, str(src), str(dst)], capture_output=True, text=True, timeout=600)
    if r.returncode != 0 or not dst.is_file():
        return f"not written: weasyprint failed: {r.stderr.strip()[-300:]}"
    return dst


# What a spreadsheet takes for a formula (OWASP's CSV injection list): a cell starting with one of
# these from a verify message (`=HYPERLINK(…)`) would run when the assessor opens the workbook.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value):
    """A CSV cell that a spreadsheet shows as text, never evaluates."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
