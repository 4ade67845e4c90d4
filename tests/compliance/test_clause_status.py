"""A clause's status (GB/T 28448's 符合 / 部分符合 / 不符合) counts the rules that had no evidence:
a clause is never "conforms" while some of its evidence is missing."""

from __future__ import annotations

import pytest

from compliance import summary
from compliance.registry import registry

REG = registry()
# a clause with at least two rules, as 8.1.5.4 (monitoring) has
CLAUSE, RULES = next((c, ids) for c in REG.clauses if len(ids := [r.id for r in REG.rules if r.clause == c]) >= 2)


def _v(rule: str, status: str, **kw) -> dict:
    return {"rule": rule, "subject": "estate x", "status": status, "findings": [], **kw}


@pytest.mark.parametrize(
    "statuses, expected",
    [
        (["conforms", "no_evidence"], "partly"),
        (["no_evidence", "no_evidence"], "no_evidence"),
        (["conforms", "conforms"], "conforms"),
        (["conforms", "not_applicable"], "conforms"),
        (["finding", "no_evidence"], "does_not"),
        (["finding", "conforms"], "partly"),
        (["not_applicable", "not_applicable"], "not_applicable"),
    ],
)
def test_a_clause_with_rules_without_evidence_is_at_most_partly(statuses, expected):
    verdicts = [_v(rule, status) for rule, status in zip(RULES, statuses, strict=False)]
    [row] = [c for c in summary.per_clause(REG, verdicts) if c["clause"] == CLAUSE]
    assert row["status"] == expected, (CLAUSE, verdicts)
    assert summary.CLAUSE_STATUS[row["status"]]  # the report can name it


def test_a_waived_finding_beside_a_rule_without_evidence_is_partly():
    verdicts = [_v(RULES[0], "finding", waived_by="W-1"), _v(RULES[1], "no_evidence")]
    assert summary.clause_status(verdicts) == "partly"
