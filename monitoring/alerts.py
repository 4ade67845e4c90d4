"""Thresholds into alerts: deduplicated, with a raise/clear life cycle and hysteresis.

An alert is identified by (device, key), e.g. ("prov-wan1", "if_down:eth2"). It is raised once
when its condition starts and cleared once when it ends; in between, polls that still see the
condition say nothing new (deduplication). A numeric alert clears only once its value is back
past the limit by HYSTERESIS of the limit, so a value hovering at the limit does not flap.

Limits are the device class's defaults (monitoring/profiles/<class>.yml `thresholds`). Every
raise and clear is appended to the alert log (JSONL, monitoring/state.alert_log()).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from jinbao.result import AggregatedResult, Result

from .profiles import Thresholds

HYSTERESIS = 0.05  # of the limit: cpu 85 % raises above 85 and clears below 80.75

# How bad each condition is: what an operator must act on now, soon, or know about.
SEVERITY = {
    "unreachable": "critical",
    "snmp_credentials": "major",
    "snmp_malformed": "major",
    "if_down": "major",
    "link_utilisation": "warning",
    "cpu": "warning",
    "memory": "warning",
    "disk": "major",
    "reboot": "warning",
    "ups_on_battery": "critical",
    "ups_battery": "critical",
    "ups_runtime": "critical",
    "ups_load": "warning",
    "temperature": "major",
    "humidity": "warning",
    "snmp_auth_failure": "warning",  # an authenticationFailure trap: someone used a wrong community/key
    "ssh_auth_failure": "warning",  # sshd logged a failed login (syslog)
    "ospf_adjacency": "major",  # an OSPF neighbour left Full (syslog)
}

# Conditions only a notification can tell (a lost OSPF neighbour is gone from OSPF-MIB's table,
# not shown as down): a poll that does not see them must not clear them.
NOT_POLLED = ("ospf_adjacency",)


@dataclass(frozen=True)
class Condition:
    """Something wrong on a device at this poll."""

    key: str
    message: str
    value: float | None = None
    limit: float | None = None

    @property
    def severity(self) -> str:
        return SEVERITY[self.key.split(":")[0]]


def above(key: str, what: str, value: float | None, limit: float | None, active: bool, unit: str = "%"):
    """The condition `value > limit`, holding while active until value < limit - hysteresis."""
    if value is None or limit is None:
        return None
    edge = limit * (1 - HYSTERESIS) if active else limit
    if value > edge:
        return Condition(key, f"{what} {value:.1f}{unit} above {limit:g}{unit}", round(value, 2), limit)
    return None


def below(key: str, what: str, value: float | None, limit: float | None, active: bool, unit: str):
    if value is None or limit is None:
        return None
    edge = limit * (1 + HYSTERESIS) if active else limit
    if value < edge:
        return Condition(key, f"{what} {value:g} {unit} below {limit:g} {unit}", value, limit)
    return None


def conditions(r: Result, th: Thresholds, active: set[str]) -> list[Condition] | None:
    """What is wrong on the device, by its poll result; None when the poll says nothing about
    its metrics (it failed), so that their alerts stay as they were."""
    d = r.data or {}
    status = d.get("status", "error")
    if r.failed:
        if status in ("unreachable", "deadline", "timeout", "garbage"):
            return [Condition("unreachable", r.why or status)]
        key = "snmp_credentials" if status in ("wrong_auth_key", "wrong_priv_key", "unknown_user") else "snmp_malformed"
        return [Condition(key, r.why or status)]
    out: list[Condition | None] = []
    if d.get("system", {}).get("rebooted"):
        out.append(Condition("reboot", f"sysUpTime went back to {d['system']['uptime_s']:.0f} s: restarted"))
    for i in d.get("interfaces", []):
        if i.get("link") and i["oper"] != "up":
            why = f"interface {i['name']} (link {i['link']}) is {i['oper']} (admin {i['admin']})"
            out.append(Condition(f"if_down:{i['name']}", why))
        elif i["admin"] == "up" and i["oper"] in ("down", "lowerLayerDown", "notPresent"):
            out.append(Condition(f"if_down:{i['name']}", f"interface {i['name']} is {i['oper']} (admin up)"))
        key = f"link_utilisation:{i['name']}"
        out.append(
            above(key, f"{i['name']} utilisation", i.get("utilisation_pct"), th.link_utilisation_pct, key in active)
        )
    h = d.get("health") or {}
    out.append(above("cpu", "CPU", h.get("cpu_pct"), th.cpu_pct, "cpu" in active))
    out.append(above("memory", "memory", h.get("memory_pct"), th.memory_pct, "memory" in active))
    for disk in h.get("disks", []):
        key = f"disk:{disk['mount']}"
        out.append(above(key, f"disk {disk['mount']}", disk.get("used_pct"), th.disk_pct, key in active))
    u = d.get("ups")
    if u:
        if u["on_battery"]:
            out.append(Condition("ups_on_battery", "on battery"))
        if u["battery"] in ("low", "depleted"):
            out.append(Condition("ups_battery", f"battery {u['battery']}"))
        runtime_active = "ups_runtime" in active
        out.append(below("ups_runtime", "runtime", u.get("runtime_min"), th.ups_runtime_min, runtime_active, "min"))
        out.append(above("ups_load", "output load", u.get("load_pct"), th.ups_load_pct, "ups_load" in active))
    s = d.get("sensors") or {}
    temp, hum = s.get("temperature_c"), s.get("humidity_pct")
    out.append(above("temperature", "temperature", temp, th.temperature_c, "temperature" in active, " °C"))
    out.append(above("humidity", "humidity", hum, th.humidity_pct, "humidity" in active))
    return [c for c in out if c is not None]


def evaluate(
    agg: AggregatedResult, thresholds: dict[str, Thresholds], active: dict[str, dict], now: datetime | None = None
) -> list[dict]:
    """Raise and clear events for the devices in agg; `active` (device|key → alert) is updated."""
    at = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    events: list[dict] = []
    for host, r in sorted(agg.results.items()):
        mine = {k.split("|", 1)[1] for k in active if k.split("|", 1)[0] == host}
        found = conditions(r, thresholds[host], mine)
        if found is None:
            continue
        now_keys = {c.key for c in found} | {k for k in mine if k.split(":")[0] in NOT_POLLED}
        if r.failed:
            # A device that cannot be polled: its metric alerts stay as they were; only the
            # failure alert changes, so one unreachable poll does not clear a link-down alert.
            now_keys |= {
                k for k in mine if k.split(":")[0] not in ("unreachable", "snmp_credentials", "snmp_malformed")
            }
        for c in found:
            k = f"{host}|{c.key}"
            if k not in active:
                alert = {"device": host, **asdict(c), "severity": c.severity, "since": at}
                active[k] = alert
                events.append({"at": at, "event": "raise", **alert})
        for key in sorted(mine - now_keys):
            alert = active.pop(f"{host}|{key}")
            events.append({"at": at, "event": "clear", **alert})
    return events


def deliver(events: list[dict], log: Path) -> None:
    """Append events to the JSONL alert log (made on first use), one line each, flushed to disk,
    and queue them for the webhook and syslog targets (monitoring/delivery.py), if any."""
    from . import delivery  # here, so that importing alerts costs no thread or socket

    if not events:
        delivery.note(log.with_name("alerts-undelivered.jsonl"))
        return

    dispatcher = delivery.current(log.with_name("alerts-undelivered.jsonl"))
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as f:
        for e in events:
            f.write(json.dumps(e, ensure_ascii=False) + "\n")
        f.flush()
    if dispatcher is not None:
        dispatcher.send(events)
