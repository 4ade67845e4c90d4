"""`jinbao audit report`: the newest run as JSON, CSV (one row per finding, for the assessor's
workbook) and self-contained HTML; PDF too when WeasyPrint (Debian's `weasyprint`) is installed."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

from jinbao.errors import JinbaoError
from jinbao.redact import redact
from jinbao.state import check_writable, write_whole

from . import html, scrub, summary
from .keptruns import KeptRun
from .registry import Registry, registry


def write(
    run: KeptRun, previous: KeptRun | None, out: Path | str, pdf: bool = True, unreadable: list[str] | tuple = ()
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
    page = html.render(s, rows)
    files = {
        "json": (
            "report.json",
            json.dumps(
                {"summary": s, "findings": rows, "verdicts": run.body["verdicts"]}, ensure_ascii=False, indent=1
            ),
        ),
        # utf-8-sig: Excel, the assessor's workbook, reads the Chinese columns right only with the BOM.
        "csv": ("findings.csv", _csv(rows).encode("utf-8-sig")),
        "html": ("report.html", page),
    }
    # Every destination is checked before any is written: a refused report leaves no half-written set.
    folder = _out_folder(out, [name for name, _ in files.values()] + (["report.pdf"] if pdf else []))
    written: dict[str, Path | str] = {}
    pdf_said: Path | str | None = None
    if pdf:
        body = _pdf(page)
        if isinstance(body, bytes):
            files["pdf"] = ("report.pdf", body)
        else:
            pdf_said = body
    for kind, (name, data) in files.items():
        _put(folder / name, data)
        written[kind] = folder / name
    if pdf_said is not None:
        written["pdf"] = pdf_said
    return written, notes


REPORT_MODE = 0o600  # the report quotes device config lines: the assessor's, not every local user's
FOLDER_MODE = 0o700


def _out_folder(out: Path | str, names: list[str]) -> Path:
    """The --out folder, created if needed, once nothing there would be written through a link or into a
    FIFO, device or directory; else a JinbaoError naming the path and the fix, and nothing is written."""
    text = str(out)
    if not text.strip() or "\0" in text:
        raise JinbaoError(f"--out {text!r}: give a folder for the report, such as out/compliance")
    folder = Path(text)
    if os.path.lexists(folder) and not folder.is_dir():
        raise JinbaoError(f"--out {folder}: exists and is not a folder; give a folder (it is created if missing)")
    for name in names:
        try:
            check_writable(folder / name)
        except JinbaoError as e:
            raise JinbaoError(f"--out {folder}: {e}; nothing was written") from None
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
    except OSError as e:
        raise JinbaoError(f"--out {folder}: cannot create it ({e.strerror}); give a folder you can write to") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise JinbaoError(f"--out {folder}: not writable; give a folder you can write to")
    return folder


def _put(path: Path, data: str | bytes) -> None:
    try:
        write_whole(path, data, REPORT_MODE)
    except OSError as e:
        raise JinbaoError(f"cannot write {path}: {e.strerror}; free space or give another --out") from None


def _csv(rows: list[dict]) -> str:
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["rule"])
    w.writeheader()
    w.writerows({k: cell(v) for k, v in row.items()} for row in rows)
    return buf.getvalue()


def _scrubbed(reg: Registry, run: KeptRun) -> KeptRun:
    body = dict(run.body)
    body["verdicts"] = scrub.kept(reg, body.get("verdicts", []))
    for k in ("estate", "site"):
        if isinstance(body.get(k), str):
            body[k] = redact(body[k])
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


def _pdf(page: str) -> bytes | str:
    """The PDF as bytes (WeasyPrint reads the page on stdin, writes the PDF on stdout): it is written like
    the other files, never by WeasyPrint itself to a path that could be a planted link."""
    tool = shutil.which("weasyprint")
    if tool is None:
        return "not written: WeasyPrint is not installed (apt-get install weasyprint)"
    r = subprocess.run([tool, "-", "-"], input=page.encode("utf-8"), capture_output=True, timeout=600)
    if r.returncode != 0 or not r.stdout.startswith(b"%PDF"):
        return f"not written: weasyprint failed: {r.stderr.decode(errors='replace').strip()[-300:]}"
    return r.stdout


# What a spreadsheet takes for a formula (OWASP's CSV injection list): a cell starting with one of
# these from a verify message (`=HYPERLINK(…)`) would run when the assessor opens the workbook.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value):
    """A CSV cell that a spreadsheet shows as text, never evaluates."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
