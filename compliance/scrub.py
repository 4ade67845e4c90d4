"""Evidence read from outside jinbao, redacted again before it is kept or reported.

A kept `jinbao verify` run holds testinfra's failure messages, which quote whatever the check read
(`assert 'rocommunity s3cret' not in …`), and its check labels carry pytest's parameters; a drill
report is a JSON file on disk. Neither went through the device redactor, and a report is filed and
shared. So every string a verdict takes from them is passed through `jinbao.redact.redact` when the
source is read (before it is in a run), and again when a kept run is rendered (a run kept before
this, or edited by hand, must not carry a secret into the HTML, CSV, JSON or PDF).

Text jinbao writes itself is left alone when the source is read: a device finding's message quotes
its rule's pattern (`no line like /^snmp-server community /`), which redaction would garble. In a
kept run every other string (evidence lines, notes, subjects, waiver notes) is redacted for every
kind, since a hand may have edited it: redacting twice changes nothing.
"""

from __future__ import annotations

from dataclasses import replace

from jinbao.redact import redact

from .registry import Registry
from .verdicts import Finding, Verdict

# The evidence kinds whose verdicts are built from text jinbao did not write.
EXTERNAL = ("servers", "dr")
# A kept verdict's strings besides its findings: jinbao writes them, but a kept run is a file on disk.
FREE_TEXT = ("subject", "note", "site", "device_class", "waived_by", "waiver_note")


def _r(s: str | None) -> str | None:
    return redact(s) if s else s


def finding(f: Finding) -> Finding:
    return replace(f, message=redact(f.message), file=_r(f.file), text=_r(f.text), ref=_r(f.ref))


def verdict(v: Verdict) -> Verdict:
    """Every string of v (of an external source) redacted."""
    return replace(v, subject=redact(v.subject), note=redact(v.note), findings=tuple(finding(f) for f in v.findings))


def kept(reg: Registry, verdicts) -> list:
    """A kept run's verdicts (as stored) with their external text redacted again. What is not of
    the stored shape is passed on as it is, for the report's own checks to judge."""
    if not isinstance(verdicts, list):
        return verdicts
    out = []
    for stored in verdicts:
        if not isinstance(stored, dict):
            out.append(stored)
            continue
        rule = reg.rule(str(stored.get("rule", "")))
        external = rule is None or rule.evidence in EXTERNAL
        # A device finding's message is the one string kept as written (it quotes the rule's pattern);
        # the rest of a kept run is free text a hand can have edited, and is redacted for every kind.
        keys = ("message", "file", "text", "ref") if external else ("file", "text", "ref")
        v = dict(stored)
        if isinstance(v.get("findings"), list):
            v["findings"] = [
                {k: redact(x) if k in keys and isinstance(x, str) else x for k, x in f.items()}
                if isinstance(f, dict)
                else f
                for f in v["findings"]
            ]
        for k in FREE_TEXT:
            if isinstance(v.get(k), str):
                v[k] = redact(v[k])
        out.append(v)
    return out
