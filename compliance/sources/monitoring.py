"""Monitoring as evidence: `jinbao monitor posture --json` (v1/v2c or weak SNMPv3, default
communities, devices with no profile or an agent that does not answer, and what alert delivery
recorded in the monitoring state), run as its own command so this domain never imports
monitoring's modules."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

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
        if rule.probe == "alert_delivery":
            out.append(delivery(rule, body.get("delivery"), f"estate {estate.name}"))
            continue
        for name, d in sorted(devices.items()):
            fs = tuple(by.get((rule.probe or "", name), ()))
            site, cls = d.site, device_class(d)
            if fs:
                out.append(Verdict(rule.id, name, "finding", fs, site=site, device_class=cls))
            elif rule.probe == "coverage" and not polled:
                out.append(
                    Verdict(
                        rule.id,
                        name,
                        "no_evidence",
                        note="no poll state: whether its agent answers is unknown",
                        site=site,
                        device_class=cls,
                    )
                )
            else:
                out.append(Verdict(rule.id, name, "conforms", site=site, device_class=cls))
    return out, f"`jinbao monitor posture` of {body.get('source')} ({'with' if polled else 'without'} a poll)"


# A target with no success for this long while alerts were raised is not delivering, even when
# nothing reached the dead-letter file (a process killed with its queue, a syslog over UDP).
QUIET_DAYS = 7


def delivery(rule: Rule, d: dict | None, subject: str, now: dt.datetime | None = None) -> Verdict:
    """MON-ALERT-DELIVERY from monitoring's delivery record (monitoring/deliveryrecord.py): the
    targets the last poll or receiver run used, each one's last success and the dead-letter
    file's events since. The auditor's own JINBAO_ALERT_* variables are no evidence."""
    if not d or not d.get("state"):
        return Verdict(rule.id, subject, "no_evidence", note="no monitoring state: no poll, trap or alert was recorded")
    folder = Path(d["folder"])
    last = d.get("last_run") or {}
    raised, last_raise = int(d.get("alerts_raised") or 0), str(d.get("last_raise") or "")
    names = list(last.get("targets") or [])
    if not names:
        said = f"the last run ({last['at']}) named no webhook or syslog target" if last else "no run recorded a target"
        f = Finding(
            "alerts are only written to a local log",
            file=str(folder / "alerts-delivery.json"),
            text=f"{said}; {raised} alert(s) raised, in {folder / 'alerts.jsonl'}",
        )
        return Verdict(rule.id, subject, "finding", (f,))
    now = now or dt.datetime.now(dt.UTC)
    quiet_since = (now - dt.timedelta(days=QUIET_DAYS)).isoformat(timespec="seconds")
    findings, good, idle = [], [], []
    for name in names:
        t = (d.get("targets") or {}).get(name) or {}
        ok = str(t.get("last_success") or "")
        if t.get("undelivered"):
            findings.append(
                Finding(
                    f"{name}: {t['undelivered']} alert event(s) undelivered"
                    f" {'since its last success at ' + ok if ok else '(it never took one)'};"
                    f" the first at {t.get('first_undelivered')}",
                    file=str(folder / "alerts-undelivered.jsonl"),
                    ref=name,
                )
            )
        elif last_raise > max(ok, quiet_since):
            findings.append(
                Finding(
                    f"{name}: no successful delivery in {QUIET_DAYS} days"
                    f" ({'the last at ' + ok if ok else 'never'})"
                    f" while alerts were raised (the newest at {last_raise})",
                    file=str(folder / "alerts-delivery.json"),
                    ref=name,
                )
            )
        elif ok:
            good.append(f"{name}: last delivered at {ok} ({t.get('sent', 0)} event(s) in all)")
        else:
            idle.append(name)
    if findings:
        return Verdict(rule.id, subject, "finding", tuple(findings))
    if good:
        return Verdict(rule.id, subject, "conforms", note="; ".join(good + [f"{n}: nothing sent yet" for n in idle]))
    return Verdict(rule.id, subject, "no_evidence", note=f"{', '.join(idle)} named, but no alert was delivered yet")
