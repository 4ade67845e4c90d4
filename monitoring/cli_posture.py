"""`jinbao monitor posture`: what weakens monitoring of the estate (monitoring/posture.py).

Exit codes: 0 no finding, 1 findings, 2 bad input (an unknown estate or target source).
"""

from __future__ import annotations

import json
import sys

import click
from rich.table import Table

from jinbao.console import out, shown
from jinbao.errors import JinbaoError
from jinbao.estate import load_estate
from jinbao.target import estate_for, source_of, targets

from . import deliveryrecord, poller, posture
from .state import PollState, state_dir, state_file

SEVERITY_ORDER = {"critical": 0, "major": 1, "minor": 2}


@click.command(name="posture")
@click.option("--estate", help="The estate (default: lab for --lab, else jinbao --estate).")
@click.option("--lab", "lab_id", help="The lab whose agents to judge (the same as --targets lab:ID).")
@click.option("--targets", "spec", help="Where the devices are reached, e.g. lab:jb1a2b (default estate:NAME).")
@click.option("--poll", "fresh", is_flag=True, help="Poll every agent now, instead of reading the last poll's state.")
@click.option("--timeout", default=2.0, show_default=True, help="Seconds per SNMP answer (with --poll).")
@click.option("--json", "as_json", is_flag=True, help="The findings as JSON on stdout.")
@click.pass_context
def posture_cmd(ctx, estate, lab_id, spec, fresh, timeout, as_json):
    """Weak SNMP (v2c, v1, authNoPriv, MD5, DES), default communities, agents that do not answer,
    devices with no monitoring. Exits 1 when there is any finding."""
    given = source_of(lab_id, spec)
    name = estate_for(ctx, given, estate)
    model = load_estate(name)
    source = given or f"estate:{name}"
    found = targets(source) if (given or fresh) else {}
    findings = posture.profiles(model, posture.secret_resolver(found))
    findings += posture.unmonitored(model)
    if fresh:
        chosen = {n: t for n, t in found.items() if n in model.devices and posture.profile_of(model.devices[n])}
        if not chosen:
            raise JinbaoError(f"no device of {source} is in estate {model.name}")
        agg = poller.poll(poller.jobs(model, chosen), PollState(), poller.Options(timeout=timeout))
        findings += posture.silent_from_poll(agg)
    else:
        findings += posture.silent_from_alerts(PollState(state_file(source)).alerts)
    findings.sort(key=lambda f: (SEVERITY_ORDER.get(f.severity, 9), f.kind, f.subject))
    if as_json:
        doc = {"estate": model.name, "source": source, "polled": fresh, "findings": [f.as_dict() for f in findings]}
        doc["delivery"] = deliveryrecord.summary(state_dir())  # evidence only: compliance judges it
        click.echo(json.dumps(doc, ensure_ascii=False, indent=1))
    else:
        t = Table(title=f"Monitoring posture of {model.name} ({len(findings)} finding(s))", title_justify="left")
        for c in ("severity", "kind", "subject", "finding", "fix"):
            t.add_column(c)
        for f in findings:
            t.add_row(f.severity, f.kind, shown(f.subject), shown(f.message), shown(f.fix))
        out.print(t)
    sys.exit(1 if findings else 0)
