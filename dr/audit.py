"""`jinbao dr report`: a drill's report as an auditor files it — HTML (self-contained: inline CSS
and an inline SVG timeline), JSON, and PDF where a renderer is installed — with the participants,
targets against results per system, the verdict against the pair's GB/T 20988 level, and the
history of past drills. Built from the drill's own report.json (dr.report), never re-measured.
"""

from __future__ import annotations

import html
import importlib.util
import json
import shutil
import subprocess
import time
from pathlib import Path

from jinbao.checks.dr import LEVEL_RPO, LEVEL_RTO
from jinbao.errors import JinbaoError

from .report import drills_dir

# The timeline's events, in the order they happen, with the fault record's key for each.
MARKS = (
    ("fault", None),
    ("detection", "detect_s"),
    ("degraded", "degrade_s"),
    ("promotion", "promote_s"),
    ("route change", "route_s"),
    ("first write", "rto_s"),
    ("healed", "healed_s"),
)


def find(run_id: str | None) -> Path:
    """A drill's folder by its run id (a unique prefix will do), or the latest drill's."""
    runs = sorted(p.parent for p in drills_dir().glob("*/report.json"))
    if not runs:
        raise JinbaoError(f"no drill has been run yet (no report in {drills_dir()}); run `jinbao dr run DRILL`")
    if run_id is None:
        return max(runs, key=lambda p: json.loads((p / "report.json").read_text()).get("started", 0))
    hits = [p for p in runs if p.name.startswith(run_id)]
    if len(hits) != 1:
        known = ", ".join(p.name for p in runs[-5:])
        raise JinbaoError(f"drill id {run_id!r} matches {len(hits)} drills in {drills_dir()}; latest: {known}")
    return hits[0]


def verdict(r: dict) -> tuple[str, list[str]]:
    """pass: completed, every fault within the pair's RTO and RPO. conditional: completed and
    within what the pair's GB/T 20988 level allows (table A.1), but the pair's own target missed,
    or something is left for people to judge. fail: not completed, or beyond the level."""
    why: list[str] = []
    t, level = r["targets"], r["targets"]["level"]
    if r["outcome"] != "completed":
        return "fail", [f"the drill did not complete: {r.get('error', '')}"]
    rto_max, rpo_max = LEVEL_RTO[level][1], LEVEL_RPO[level][1]
    grade = "pass"
    for f in r["faults"]:
        rto, rpo = f.get("rto_s"), f.get("lost_seconds", 0.0)
        name = f"{f['kind']} of {f['node']}"
        if rto is None:
            return "fail", [f"{name}: no write was measured after the fault"]
        if (rto_max is not None and rto > rto_max) or rpo > rpo_max:
            return "fail", [f"{name}: RTO {rto:.3f} s / RPO {rpo:.3f} s is beyond GB/T 20988 level {level}"]
        if rto > t["rto_s"] or rpo > t["rpo_s"]:
            grade = "conditional"
            why.append(f"{name}: RTO {rto:.3f} s / RPO {rpo:.3f} s misses the pair's target, within level {level}")
        if f.get("split_brain"):
            return "fail", [f"{name}: two primaries (split brain)"]
    return grade, why or ["every fault met the pair's RTO and RPO"]


def systems(r: dict) -> list[dict]:
    """Targets against results for each system the drill moved: database, service address, WAN
    routing, application. The pair's RTO applies to the application's first write (the service
    is back); the others are its parts, measured from the same fault."""
    t = r["targets"]
    rows = []
    for f in r["faults"]:
        at = f"{f['kind']} of {f['node']}"
        rto = f.get("rto_s")
        route = f.get("route_s")
        rows += [
            {"fault": at, "system": f"database {r['pair']}", "what": "promoted", "target": None}
            | {"result": f.get("promote_s")},
            {"fault": at, "system": "service address", "what": "route moved", "target": None, "result": route},
            {
                "fault": at,
                "system": "WAN routing",
                "what": "route change to first write",
                "target": None,
                "result": (rto - route) if rto is not None and route is not None else None,
            },
            {"fault": at, "system": "application (canary)", "what": "RTO", "target": t["rto_s"], "result": rto},
            {
                "fault": at,
                "system": "application (canary)",
                "what": "RPO (seconds of writes lost)",
                "target": t["rpo_s"],
                "result": f.get("lost_seconds"),
            },
        ]
    for row in rows:
        row["met"] = None if row["target"] is None or row["result"] is None else row["result"] <= row["target"]
    return rows


def history() -> list[dict]:
    out = []
    for p in sorted(drills_dir().glob("*/report.json")):
        try:
            r = json.loads(p.read_text())
        except ValueError:
            continue
        rtos = [f["rto_s"] for f in r.get("faults", []) if f.get("rto_s") is not None]
        out.append(
            {
                "run_id": r["run_id"],
                "drill": r["drill"],
                "started": r.get("started"),
                "outcome": r.get("outcome"),
                "verdict": verdict(r)[0] if "targets" in r else r.get("verdict"),
                "worst_rto_s": max(rtos) if rtos else None,
                "lost_rows": sum(f.get("lost_rows", 0) for f in r.get("faults", [])),
            }
        )
    return sorted(out, key=lambda h: h["started"] or 0)


def build(folder: Path, participants: list[str]) -> dict:
    r = json.loads((folder / "report.json").read_text())
    grade, why = verdict(r)
    return {
        "run_id": r["run_id"],
        "drill": r["drill"],
        "kind": r["kind"],
        "scenario": ", ".join(f["kind"] for f in r["faults"]) or "-",
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(r["started"])),
        "participants": participants,
        "pair": {"name": r["pair"], "primary": r["primary"], "standby": r["standby"], "replication": r["replication"]},
        "targets": r["targets"],
        "verdict": grade,
        "verdict_why": why,
        "systems": systems(r),
        "timeline": [
            {"fault": f"{f['kind']} of {f['node']}", "marks": {n: f.get(k) if k else 0.0 for n, k in MARKS}}
            for f in r["faults"]
        ],
        "observations": observations(r),
        "history": history(),
        "source": str(folder / "report.json"),
    }


def observations(r: dict) -> list[str]:
    obs = []
    for f in r["faults"]:
        if "decision" in f:
            q = f["quorum"]
            obs.append(
                f"{f['kind']}: the witness said the primary was {q['witness_says_primary']} and "
                f"{'reached' if q['witness_reaches_standby'] else 'did not reach'} the standby; decision "
                f"{f['decision']}; split brain: {'YES' if f.get('split_brain') else 'no'}"
            )
        unknown = [n for n, there in (f.get("unknown") or {}).items() if not there]
        if unknown:
            obs.append(
                f"{f['kind']} of {f['node']}: {len(unknown)} writes failed with the connection (never acknowledged "
                "to the client) and are not on the new primary: correct, not lost"
            )
        if f.get("old_primary_holds_lost") is not None:
            obs.append(
                f"{f['kind']} of {f['node']}: {f.get('lost_rows', 0)} acknowledged rows missing on the new primary; "
                f"the old primary, read alone, held {f['old_primary_holds_lost']} of them"
            )
    for s in r["steps"]:
        if not s.get("ok") and not s.get("skipped"):
            obs.append(f"step {s['name']!r} failed: {s.get('error', '')}")
    if r.get("restored") is not None:
        obs.append("restored the starting state: " + ("; ".join(r["restored"]) or "nothing to undo"))
    if r.get("restore_error"):
        obs.append(f"the starting state was NOT restored: {r['restore_error']}")
    return obs


def write(folder: Path, participants: list[str]) -> dict[str, Path]:
    a = build(folder, participants)
    paths = {"json": folder / "audit.json", "html": folder / "audit.html"}
    paths["json"].write_text(json.dumps(a, indent=1, ensure_ascii=False))
    paths["html"].write_text(render_html(a))
    pdf = to_pdf(paths["html"], folder / "audit.pdf")
    if pdf:
        paths["pdf"] = pdf
    return paths


def pdf_renderer() -> str | None:
    if importlib.util.find_spec("weasyprint"):
        return "weasyprint"
    for tool in ("wkhtmltopdf", "chromium", "chromium-browser", "google-chrome"):
        if shutil.which(tool):
            return tool
    return None


def to_pdf(src: Path, dst: Path) -> Path | None:
    """A PDF where a renderer is installed; none is a dependency (the HTML prints from any browser)."""
    tool = pdf_renderer()
    if tool is None:
        return None
    if tool == "weasyprint":
        import weasyprint  # type: ignore[import-not-found]

        weasyprint.HTML(filename=str(src)).write_pdf(str(dst))
    elif tool == "wkhtmltopdf":
        subprocess.run([tool, "-q", str(src), str(dst)], check=True, timeout=120)
    else:
        subprocess.run([tool, "--headless", "--no-sandbox", f"--print-to-pdf={dst}", str(src)], check=True, timeout=120)
    return dst


def _n(v, unit=" s") -> str:
    return f"{v:.3f}{unit}" if isinstance(v, int | float) else "–"


def svg_timeline(marks: dict) -> str:
    """One fault's events on a line from the fault (0 s) to the last event, as inline SVG."""
    pts = [(n, v) for n, v in marks.items() if isinstance(v, int | float)]
    end = max([v for _, v in pts] + [0.001])
    w, left, right = 760, 20, 20
    x = lambda v: left + (w - left - right) * v / end  # noqa: E731
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{60 + 18 * len(pts)}" role="img">',
        f'<line x1="{left}" y1="30" x2="{w - right}" y2="30" stroke="#444"/>',
    ]
    for i, (name, v) in enumerate(sorted(pts, key=lambda p: p[1])):
        cx = x(v)
        parts += [
            f'<circle cx="{cx:.1f}" cy="30" r="5" fill="{"#c00" if name == "fault" else "#06c"}"/>',
            f'<line x1="{cx:.1f}" y1="35" x2="{cx:.1f}" y2="{48 + 18 * i}" stroke="#bbb"/>',
            f'<text x="{min(cx, w - 200):.1f}" y="{52 + 18 * i}" font-size="12">{html.escape(name)} +{v:.3f} s</text>',
        ]
    parts.append("</svg>")
    return "".join(parts)


def render_html(a: dict) -> str:
    e = html.escape
    t = a["targets"]
    color = {"pass": "#070", "conditional": "#a60", "fail": "#c00"}[a["verdict"]]
    rows = "".join(
        f"<tr><td>{e(s['fault'])}</td><td>{e(s['system'])}</td><td>{e(s['what'])}</td><td>{_n(s['target'])}</td>"
        f"<td>{_n(s['result'])}</td><td>{'–' if s['met'] is None else ('met' if s['met'] else 'MISSED')}</td></tr>"
        for s in a["systems"]
    )
    timelines = "".join(f"<h3>{e(tl['fault'])}</h3>{svg_timeline(tl['marks'])}" for tl in a["timeline"])
    hist = "".join(
        f"<tr><td>{e(h['run_id'])}</td><td>{e(h['drill'])}</td>"
        f"<td>{time.strftime('%Y-%m-%d %H:%M', time.gmtime(h['started'] or 0))}</td><td>{e(str(h['outcome']))}</td>"
        f"<td>{e(str(h['verdict']))}</td><td>{_n(h['worst_rto_s'])}</td><td>{h['lost_rows']}</td></tr>"
        for h in a["history"]
    )
    people = ", ".join(e(p) for p in a["participants"]) or "(none given: --participant NAME)"
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>DR drill {e(a["run_id"])}</title><style>
body{{font-family:sans-serif;margin:2em;max-width:60em}} table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:.25em .6em;text-align:left}} .v{{color:{color};font-weight:bold}}
</style></head><body>
<h1>Disaster-recovery drill {e(a["drill"])} — <span class="v">{a["verdict"].upper()}</span></h1>
<table>
<tr><th>drill id</th><td>{e(a["run_id"])}</td></tr><tr><th>kind</th><td>{e(a["kind"])}</td></tr>
<tr><th>scenario</th><td>{e(a["scenario"])}</td></tr><tr><th>date</th><td>{e(a["date"])}</td></tr>
<tr><th>participants</th><td>{people}</td></tr>
<tr><th>system</th><td>{e(a["pair"]["name"])}: {e(a["pair"]["primary"])} → {e(a["pair"]["standby"])},
{e(a["pair"]["replication"])} replication</td></tr>
<tr><th>targets</th><td>GB/T 20988 level {t["level"]}: RTO ≤ {t["rto_s"]} s, RPO ≤ {t["rpo_s"]} s</td></tr>
<tr><th>verdict</th><td class="v">{a["verdict"]}</td></tr>
<tr><th>why</th><td>{"<br>".join(e(w) for w in a["verdict_why"])}</td></tr>
</table>
<h2>Targets and results per system</h2>
<table><tr><th>fault</th><th>system</th><th>measure</th><th>target</th><th>result</th><th></th></tr>{rows}</table>
<h2>Timeline</h2>{timelines}
<h2>Observations</h2><ul>{"".join(f"<li>{e(o)}</li>" for o in a["observations"]) or "<li>none</li>"}</ul>
<h2>History of drills</h2>
<table><tr><th>drill id</th><th>drill</th><th>date (UTC)</th><th>outcome</th><th>verdict</th><th>worst RTO</th>
<th>rows lost</th></tr>{hist}</table>
<p>Measured by jinbao from the drill's own record ({e(a["source"])}); every command with its output and timing is
there.</p></body></html>
"""
