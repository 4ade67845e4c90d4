"""A drill's report, JSON and Markdown, in the state folder (jinbao.state): drills/<run id>/."""

from __future__ import annotations

import json
import time
from pathlib import Path

from jinbao.state import safe_name, state_dir


def drills_dir() -> Path:
    return state_dir("drills")


def lock_path(lab_id: str) -> Path:
    """One drill per lab at a time: two would fault, promote and restore the same pair."""
    return state_dir("drills", f"lab-{safe_name(lab_id)}.lock")


def verdict(report: dict) -> str:
    """pass: every step ran and every fault met the pair's RTO and RPO; fail otherwise."""
    if report["outcome"] != "completed":
        return "fail"
    t = report["targets"]
    for f in report["faults"]:
        if f.get("rto_s") is None or f["rto_s"] > t["rto_s"] or f.get("lost_seconds", 0) > t["rpo_s"]:
            return "fail"
    return "pass"


def write(report: dict, canary: list[dict], witness: list[dict]) -> Path:
    d = drills_dir() / report["run_id"]
    d.mkdir(parents=True, exist_ok=True)
    report["verdict"] = verdict(report)
    (d / "report.json").write_text(json.dumps(report, indent=1, default=str))
    (d / "canary.jsonl").write_text("".join(json.dumps(e) + "\n" for e in canary))
    (d / "witness.jsonl").write_text("".join(json.dumps(e) + "\n" for e in witness))
    (d / "report.md").write_text(markdown(report))
    return d


def _ts(t: float | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t)) + f".{int((t % 1) * 1000):03d}" if t else "-"


def _s(v) -> str:
    return f"{v:.3f} s" if isinstance(v, int | float) else "-"


def markdown(r: dict) -> str:
    t = r["targets"]
    out = [
        f"# DR drill {r['drill']} — {r['verdict'].upper()}",
        "",
        f"- run: `{r['run_id']}` on lab `{r['lab']}`, {_ts(r['started'])} to {_ts(r['ended'])} "
        f"({r['ended'] - r['started']:.1f} s)",
        f"- pair: {r['pair']} — {r['primary']} → {r['standby']}, {r['replication']} replication, GB/T "
        f"20988 level {t['level']}",
        f"- targets: RTO ≤ {t['rto_s']} s, RPO ≤ {t['rpo_s']} s",
        f"- outcome: {r['outcome']}" + (f" — {r['error']}" if r.get("error") else ""),
    ]
    if r.get("restore_error"):
        out.append(f"- **the starting state was NOT restored**: {r['restore_error']}")
    if r.get("restored") is not None:
        out.append(f"- restored the starting state: {'; '.join(r['restored']) or 'nothing was left to undo'}")
    out += [
        "",
        "## Faults, measured",
        "",
        "| fault | on | detect | promoted | route | RTO (first write) | acked rows lost | seconds "
        "lost | old primary holds lost |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for f in r["faults"]:
        out.append(
            f"| {f['kind']} at {_ts(f['t'])} | {f['node']} | {_s(f.get('detect_s'))} | "
            f"{_s(f.get('promote_s'))} | {_s(f.get('route_s'))} "
            f"| {_s(f.get('rto_s'))} | {f.get('lost_rows', '-')} | {_s(f.get('lost_seconds'))} | "
            f"{f.get('old_primary_holds_lost', '-')} |"
        )
    decided = [f for f in r["faults"] if "decision" in f]
    if decided:
        out += ["", "## Who decided (witness quorum)", ""]
    for f in decided:
        q = f["quorum"]
        out.append(
            f"- {f['kind']}: the witness said the primary was {q['witness_says_primary']}, "
            f"{'reached' if q['witness_reaches_standby'] else 'did not reach'} the standby; the standby "
            f"{'had lost' if q['standby_lost_primary'] else 'still saw'} its primary. Decision: "
            f"**{f['decision']}**"
            + (" (no promotion without the witness's quorum)" if f["decision"] == "hold" else "")
            + (f"; split brain: **{'YES' if f['split_brain'] else 'no'}**" if "split_brain" in f else "")
        )
    out += [
        "",
        "## Steps",
        "",
        "| # | step | action | started | took | budget | result |",
        "|---|---|---|---|---|---|---|",
    ]
    for i, s in enumerate(r["steps"], 1):
        res = "ok" if s.get("ok") else f"FAILED: {s.get('error', '')}"
        res = f"skipped: {s['skipped']}" if s.get("skipped") else res
        out.append(
            f"| {i} | {s['name']} | {s['action']} {s.get('side') or ''} | {_ts(s['started'])} | "
            f"{_s(s.get('elapsed_s'))} | {s['budget_s']:g} s | {res} |"
        )
    out += [
        "",
        "Every command each step ran, its output and timing, is in report.json; the canary's and "
        "witness's events in canary.jsonl and witness.jsonl.",
        "",
    ]
    return "\n".join(out)
