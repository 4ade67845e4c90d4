"""What evaluating a rule on a subject says: a status, and each finding with its evidence."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

# conforms: judged and clean; finding: judged and not; no_evidence: the evidence read cannot
# tell (a fragment without the section); not_applicable: the rule has no check for this subject.
STATUSES = ("finding", "no_evidence", "conforms", "not_applicable")


@dataclass(frozen=True)
class Finding:
    """One weakness, with what shows it: a file and line and the line itself, or a command's output,
    a certificate serial, a drill id."""

    message: str
    file: str | None = None
    line: int | None = None
    text: str | None = None
    ref: str | None = None  # serial, drill id, device, …

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class Verdict:
    rule: str
    subject: str
    status: str
    findings: tuple[Finding, ...] = ()
    note: str = ""
    site: str | None = None
    device_class: str | None = None
    waived_by: str | None = None  # the waiver that turned findings into an accepted risk
    waiver_note: str | None = None  # an expired waiver says so here, and waives nothing

    def as_dict(self) -> dict:
        d = {
            "rule": self.rule,
            "subject": self.subject,
            "status": self.status,
            "findings": [f.as_dict() for f in self.findings],
        }
        for k in ("note", "site", "device_class", "waived_by", "waiver_note"):
            if getattr(self, k):
                d[k] = getattr(self, k)
        return d

    def about(self, **kw) -> Verdict:
        return replace(self, **kw)


@dataclass
class Run:
    """All verdicts of one run, with what was read."""

    verdicts: list[Verdict] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)  # evidence kind -> what was read, or why not
