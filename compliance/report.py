"""`jinbao audit report`: the newest run as JSON, CSV (one row per finding, for the assessor's
workbook) and self-contained HTML; PDF too when WeasyPrint (Debian's `weasyprint`) is installed."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

from jinbao.errors import JinbaoError
from jinbao.redact import redact

from . import html, scrub, summary
from .registry import registry


def write(run_file: Path, previous_file: Path | None, out: Path, pdf: bool = True) -> dict[str, Path | str]:
    reg = registry()
    try:
        run = json.loads(run_file.read_text())
        previous = json.loads(previous_file.read_text()) if previous_file else None
    except (OSError, ValueError) as e:
        raise JinbaoError(f"cannot read the run {run_file}: {e}") from None
    for r in (run, previous):
        if isinstance(r, dict):
            if "verdicts" in r:
                r["verdicts"] = scrub.kept(reg, r["verdicts"])
            if isinstance(r.get("sources"), dict):
                r["sources"] = {k: redact(str(v)) for k, v in r["sources"].items()}
    s = summary.summarise(reg, run, previous)
    rows = summary.finding_rows(reg, run["verdicts"])
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path | str] = {}
    (out / "report.json").write_text(
        json.dumps({"summary": s, "findings": rows, "verdicts": run["verdicts"]}, ensure_ascii=False, indent=1)
    )
    written["json"] = out / "report.json"
    with (out / "findings.csv").open("w", newline="", encoding="utf-8-sig") as f:
        # utf-8-sig: Excel, the assessor's workbook, reads the Chinese columns right only with the BOM.
        w = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["rule"])
        w.writeheader()
        w.writerows({k: cell(v) for k, v in row.items()} for row in rows)
    written["csv"] = out / "findings.csv"
    (out / "report.html").write_text(html.render(s, rows), encoding="utf-8")
    written["html"] = out / "report.html"
    if pdf:
        written["pdf"] = _pdf(out / "report.html", out / "report.pdf")
    return written


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
