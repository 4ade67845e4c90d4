"""Monitoring as evidence: `jinbao monitor posture --json` (v1/v2c or weak SNMPv3, default
communities, devices with no profile or an agent that does not answer), run as its own command
so this domain never imports monitoring's modules."""

from __future__ import annotations

import json
import subprocess
import sys

from jinbao.classes import device_class
from jinbao.errors import JinbaoError
from jinbao.model import Estate

from ..registry import Rule
from ..verdicts import Finding, Verdict

# posture's finding kinds, by the rule they are evidence for
WEAK_SNMP = (
    "snmp_v1",
    "snmp_v2c",
    "snmp_auth_no_priv",
    "snmp_md5",
    "snmp_des",
    "default_community",
    "community_unresolved",
)


def _rule_of(kind: str) -> str:
    return "snmp_v3_only" if kind in WEAK_SNMP or kind.startswith("snmp_v") else "coverage"


def posture(estate_arg: str, targets: str | None) -> dict:
    cmd = [sys.executable, "-m", "jinbao.cli", "monitor", "posture", "--estate", estate_arg, "--json"]
    if targets:
        cmd += ["--targets", targets]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    try:
        return json.loads(r.stdout)
    except ValueError:
        raise JinbaoError(
            f"`jinbao monitor posture` gave no JSON (exit {r.returncode}): {r.stderr.strip()[-500:]}"
        ) from None


def evaluate(
    estate: Estate, estate_arg: str, rules: tuple[Rule, ...], site: str | None = None, targets: str | None = None
) -> tuple[list[Verdict], str]:
    body = posture(estate_arg, targets)
    polled = bool(body.get("polled"))
    devices = {d.name: d for d in estate.devices.values() if not site or d.site == site}
    by: dict[tuple[str, str], list[Finding]] = {}
    for f in body.get("findings", []):
        text = f"{f['kind']} ({f['severity']}): {f['subject']}: {f['message']}"
        for dev in f.get("devices") or []:
            if dev in devices:
                by.setdefault((_rule_of(f["kind"]), dev), []).append(Finding(f["message"], ref=f["subject"], text=text))
    out = []
    for rule in rules:
        for name, d in sorted(devices.items()):
            fs = tuple(by.get((rule.probe or "", name), ()))
            about = {"site": d.site, "device_class": device_class(d)}
            if fs:
                out.append(Verdict(rule.id, name, "finding", fs, **about))
            elif rule.probe == "coverage" and not polled:
                out.append(
                    Verdict(
                        rule.id,
                        name,
                        "no_evidence",
                        note="no poll state: whether its agent answers is unknown",
                        **about,
                    )
                )
            else:
                out.append(Verdict(rule.id, name, "conforms", **about))
    return out, f"`jinbao monitor posture` of {body.get('source')} ({'with' if polled else 'without'} a poll)"
