"""A run summed up as auditors read it: per clause conforms / partly / does not / not applicable,
per site and per device class, and the trend against the previous run."""

from __future__ import annotations

from collections import Counter

from .registry import Registry

# The verdict an auditor writes against a clause (GB/T 28448's 符合 / 部分符合 / 不符合 / 不适用).
CLAUSE_STATUS = {
    "conforms": ("符合", "conforms"),
    "partly": ("部分符合", "partly conforms"),
    "does_not": ("不符合", "does not conform"),
    "no_evidence": ("无证据", "no evidence"),
    "not_applicable": ("不适用", "not applicable"),
}


def unwaived(v: dict) -> bool:
    return v["status"] == "finding" and not v.get("waived_by")


def clause_status(verdicts: list[dict]) -> str:
    """符合 only when every verdict that could be judged conforms: a rule (or a device) without
    evidence leaves the clause at most partly conforming, never conforming by default."""
    judged = [v for v in verdicts if v["status"] in ("finding", "conforms")]
    missing = any(v["status"] == "no_evidence" for v in verdicts)
    if not judged:
        return "no_evidence" if missing else "not_applicable"
    bad = sum(1 for v in judged if unwaived(v))
    if bad == 0:
        return "partly" if missing else "conforms"
    return "does_not" if bad == len(judged) else "partly"


def per_clause(reg: Registry, verdicts: list[dict]) -> list[dict]:
    rule_clause = {r.id: r.clause for r in reg.rules}
    out = []
    for cid, clause in reg.clauses.items():
        mine = [v for v in verdicts if rule_clause.get(v["rule"]) == cid]
        status = clause_status(mine)
        out.append(
            {
                "clause": cid,
                "zh": clause.zh,
                "en": clause.en,
                "status": status,
                "status_zh": CLAUSE_STATUS[status][0],
                "rules": sorted({r.id for r in reg.rules if r.clause == cid}),
                "findings": sum(1 for v in mine if unwaived(v)),
                "waived": sum(1 for v in mine if v["status"] == "finding" and v.get("waived_by")),
                "conforms": sum(1 for v in mine if v["status"] == "conforms"),
                "no_evidence": sum(1 for v in mine if v["status"] == "no_evidence"),
            }
        )
    return out


def per_key(verdicts: list[dict], key: str) -> list[dict]:
    counts: dict[str, Counter] = {}
    for v in verdicts:
        c = counts.setdefault(v.get(key) or "(estate-wide)", Counter())
        c["finding" if unwaived(v) else "waived" if v["status"] == "finding" else v["status"]] += 1
    return [
        {key: k, **{s: c[s] for s in ("finding", "waived", "conforms", "no_evidence", "not_applicable")}}
        for k, c in sorted(counts.items(), key=lambda kv: (-kv[1]["finding"], kv[0]))
    ]


def trend(now: list[dict], before: list[dict] | None) -> list[dict] | None:
    """Findings per clause now and in the previous run (None without a previous run)."""
    if before is None:
        return None
    prev = {c["clause"]: c["findings"] for c in before}
    return [{"clause": c["clause"], "before": prev.get(c["clause"], 0), "now": c["findings"]} for c in now]


def summarise(reg: Registry, run: dict, previous: dict | None) -> dict:
    verdicts = run["verdicts"]
    clauses = per_clause(reg, verdicts)
    return {
        "estate": run["estate"],
        "site": run.get("site"),
        "at": run["at"],
        "sources": run["sources"],
        "clauses": clauses,
        "sites": per_key(verdicts, "site"),
        "device_classes": per_key(verdicts, "device_class"),
        "trend": trend(clauses, per_clause(reg, previous["verdicts"]) if previous else None),
        "previous_at": previous["at"] if previous else None,
        "totals": dict(
            Counter("waived" if v["status"] == "finding" and v.get("waived_by") else v["status"] for v in verdicts)
        ),
    }


def finding_rows(reg: Registry, verdicts: list[dict]) -> list[dict]:
    """One row per finding, as the CSV and the HTML list them."""
    rows = []
    for v in verdicts:
        if v["status"] != "finding":
            continue
        rule = reg.rule(v["rule"])
        assert rule is not None
        for f in v["findings"]:
            rows.append(
                {
                    "rule": rule.id,
                    "clause": rule.clause,
                    "clause_zh": reg.clauses[rule.clause].zh,
                    "clause_en": reg.clauses[rule.clause].en,
                    "title_zh": rule.title_zh,
                    "title_en": rule.title_en,
                    "severity": rule.severity,
                    "subject": v["subject"],
                    "site": v.get("site") or "",
                    "device_class": v.get("device_class") or "",
                    "file": f.get("file") or "",
                    "line": f.get("line") or "",
                    "evidence": f.get("text") or "",
                    "ref": f.get("ref") or "",
                    "message": f["message"],
                    "fix": rule.fix,
                    "waived_by": v.get("waived_by") or "",
                    "waiver_note": v.get("waiver_note") or "",
                }
            )
    return rows
