"""The last poll in Prometheus's text exposition format (0.0.4), for `/metrics`.

Names follow Prometheus's conventions, not the MIB's camelCase: `jinbao_` prefix, snake case,
base units (seconds, bytes-as-octets, ratios as *_percent where the poller computes percent),
and counters end in `_total`. snmp_exporter's `ifHCInOctets` is the MIB name verbatim; promtool's
own lint (`promtool check metrics`) rejects camelCase names and counters without `_total`, and
the MIB name is kept recognisable inside ours: ifHCInOctets → `jinbao_if_hc_in_octets_total`.
A dashboard written for snmp_exporter needs its metric names changed, not its queries' shape
(rate() over a counter labelled by ifName).

Labels: every device series carries device, site, role, class (and if_name on interfaces, mount
on disks; snake case, as promtool requires, where snmp_exporter says ifName), from the estate,
so queries can aggregate by site or class the way operators think.
Counters are the agent's raw values (Prometheus computes rates and handles resets itself);
gauges are the poller's last reading. A device that failed its last poll has only `jinbao_up 0`
and its poll metadata: a stale value is worse than none.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from jinbao.classes import device_class
from jinbao.model import Device
from jinbao.result import AggregatedResult

from .alerts import SEVERITY

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
IF_STATUS = {"up": 1, "down": 2, "testing": 3, "unknown": 4, "dormant": 5, "notPresent": 6, "lowerLayerDown": 7}
UPS_BATTERY = {"unknown": 1, "normal": 2, "low": 3, "depleted": 4}

# name: (type, help). The one list of what /metrics can hold: the docs and the dashboard test read it.
FAMILIES = {
    "jinbao_up": ("gauge", "1 when the device answered its last SNMP poll, 0 when it did not."),
    "jinbao_poll_duration_seconds": ("gauge", "Seconds the device's last poll took."),
    "jinbao_poll_requests": ("gauge", "SNMP requests the device's last poll sent."),
    "jinbao_sys_uptime_seconds": ("gauge", "sysUpTime of the device's SNMP agent, in seconds."),
    "jinbao_if_hc_in_octets_total": ("counter", "IF-MIB ifHCInOctets: octets received on the interface."),
    "jinbao_if_hc_out_octets_total": ("counter", "IF-MIB ifHCOutOctets: octets sent on the interface."),
    "jinbao_if_in_errors_total": ("counter", "IF-MIB ifInErrors: inbound packets with errors."),
    "jinbao_if_out_errors_total": ("counter", "IF-MIB ifOutErrors: outbound packets with errors."),
    "jinbao_if_in_discards_total": ("counter", "IF-MIB ifInDiscards: inbound packets discarded."),
    "jinbao_if_out_discards_total": ("counter", "IF-MIB ifOutDiscards: outbound packets discarded."),
    "jinbao_if_oper_status": ("gauge", "IF-MIB ifOperStatus: 1 up, 2 down, 3 testing, 5 dormant, 7 lowerLayerDown."),
    "jinbao_if_admin_status": ("gauge", "IF-MIB ifAdminStatus: 1 up, 2 down, 3 testing."),
    "jinbao_if_speed_bytes_per_second": ("gauge", "IF-MIB ifHighSpeed (megabits per second) in bytes per second."),
    "jinbao_if_utilisation_percent": ("gauge", "The busier direction's share of the interface speed at the last poll."),
    "jinbao_cpu_percent": ("gauge", "CPU load (HOST-RESOURCES-MIB hrProcessorLoad average, or the vendor MIB's)."),
    "jinbao_memory_used_percent": ("gauge", "Memory used, percent."),
    "jinbao_disk_used_percent": ("gauge", "Fixed disk used, percent (HOST-RESOURCES-MIB hrStorage)."),
    "jinbao_ups_on_battery": ("gauge", "1 while the UPS output source is battery (UPS-MIB upsOutputSource)."),
    "jinbao_ups_battery_status": ("gauge", "UPS-MIB upsBatteryStatus: 1 unknown, 2 normal, 3 low, 4 depleted."),
    "jinbao_ups_runtime_seconds": ("gauge", "UPS-MIB upsEstimatedMinutesRemaining, in seconds."),
    "jinbao_ups_charge_percent": ("gauge", "UPS-MIB upsEstimatedChargeRemaining."),
    "jinbao_ups_load_percent": ("gauge", "UPS-MIB upsOutputPercentLoad (the busiest output line)."),
    "jinbao_temperature_celsius": ("gauge", "Highest ENTITY-SENSOR-MIB temperature sensor."),
    "jinbao_humidity_percent": ("gauge", "Highest ENTITY-SENSOR-MIB relative humidity sensor."),
    "jinbao_alert_active": ("gauge", "1 for each open alert of jinbao's alerting (key, severity)."),
    "jinbao_alerts_active": ("gauge", "Open alerts by severity."),
    "jinbao_last_poll_timestamp_seconds": ("gauge", "Unix time the last poll of this source ended."),
    "jinbao_polls_total": ("counter", "Polls this process has made of its source."),
}


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _num(v: float) -> str:
    if isinstance(v, bool):
        return "1" if v else "0"
    f = float(v)
    return str(int(f)) if f.is_integer() and abs(f) < 2**63 else repr(f)


@dataclass
class Exposition:
    """Samples gathered per family, rendered in FAMILIES order."""

    rows: dict[str, list[tuple[dict, float]]] = field(default_factory=lambda: defaultdict(list))

    def add(self, name: str, labels: dict, value: float | None) -> None:
        if name not in FAMILIES:
            raise KeyError(f"{name} is not a metric family of monitoring/exposition.py")
        if value is not None:
            self.rows[name].append((labels, value))

    def text(self) -> str:
        out: list[str] = []
        for name, (kind, help_) in FAMILIES.items():
            if not self.rows.get(name):
                continue
            out += [f"# HELP {name} {help_}", f"# TYPE {name} {kind}"]
            for labels, value in self.rows[name]:
                ls = ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels.items())
                out.append(f"{name}{{{ls}}} {_num(value)}" if ls else f"{name} {_num(value)}")
        return "\n".join(out) + "\n"


def labels_of(devices: Mapping[str, Device], host: str) -> dict[str, str]:
    d = devices.get(host)
    if d is None:
        return {"device": host, "site": "", "role": "", "class": ""}
    return {"device": host, "site": d.site, "role": d.role, "class": device_class(d)}


def render(
    agg: AggregatedResult | None,
    devices_state: dict[str, dict],
    alerts: dict[str, dict],
    devices: Mapping[str, Device],
    polled_at: float | None,
    polls: int | None = None,
) -> str:
    """The exposition of the last poll (agg), its counters (devices_state, the poller's state)
    and the open alerts; devices (by name) give the labels."""
    e = Exposition()
    for host, r in sorted((agg.results if agg else {}).items()):
        base = labels_of(devices, host)
        d = r.data or {}
        e.add("jinbao_up", base, 0 if r.failed else 1)
        e.add("jinbao_poll_duration_seconds", base, d.get("seconds"))
        e.add("jinbao_poll_requests", base, d.get("requests"))
        if r.failed:
            continue
        e.add("jinbao_sys_uptime_seconds", base, (d.get("system") or {}).get("uptime_s"))
        st = devices_state.get(host, {})
        counters, static = st.get("if_counters", {}), st.get("if_static", {})
        for i in d.get("interfaces", []):
            il = {**base, "if_name": i["name"]}
            c = counters.get(i["index"], {})
            for fam, k in (
                ("jinbao_if_hc_in_octets_total", "in"),
                ("jinbao_if_hc_out_octets_total", "out"),
                ("jinbao_if_in_errors_total", "in_errors"),
                ("jinbao_if_out_errors_total", "out_errors"),
                ("jinbao_if_in_discards_total", "in_discards"),
                ("jinbao_if_out_discards_total", "out_discards"),
            ):
                e.add(fam, il, c.get(k))
            e.add("jinbao_if_oper_status", il, IF_STATUS.get(i["oper"], 4))
            e.add("jinbao_if_admin_status", il, IF_STATUS.get(i["admin"], 4))
            speed = (static.get(i["index"]) or {}).get("speed_mbps", i.get("speed_mbps"))
            e.add("jinbao_if_speed_bytes_per_second", il, None if speed is None else speed * 1_000_000 // 8)
            e.add("jinbao_if_utilisation_percent", il, i.get("utilisation_pct"))
        h = d.get("health") or {}
        e.add("jinbao_cpu_percent", base, h.get("cpu_pct"))
        e.add("jinbao_memory_used_percent", base, h.get("memory_pct"))
        for disk in h.get("disks", []):
            e.add("jinbao_disk_used_percent", {**base, "mount": disk["mount"]}, disk.get("used_pct"))
        u = d.get("ups")
        if u:
            e.add("jinbao_ups_on_battery", base, 1 if u.get("on_battery") else 0)
            e.add("jinbao_ups_battery_status", base, UPS_BATTERY.get(u.get("battery", "unknown"), 1))
            rt = u.get("runtime_min")
            e.add("jinbao_ups_runtime_seconds", base, None if rt is None else rt * 60)
            e.add("jinbao_ups_charge_percent", base, u.get("charge_pct"))
            e.add("jinbao_ups_load_percent", base, u.get("load_pct"))
        s = d.get("sensors") or {}
        e.add("jinbao_temperature_celsius", base, s.get("temperature_c"))
        e.add("jinbao_humidity_percent", base, s.get("humidity_pct"))
    by_severity = dict.fromkeys(sorted(set(SEVERITY.values())), 0)
    for a in sorted(alerts.values(), key=lambda a: (a["device"], a["key"])):
        by_severity[a["severity"]] = by_severity.get(a["severity"], 0) + 1
        e.add("jinbao_alert_active", {**labels_of(devices, a["device"]), "key": a["key"], "severity": a["severity"]}, 1)
    for sev, n in by_severity.items():
        e.add("jinbao_alerts_active", {"severity": sev}, n)
    e.add("jinbao_last_poll_timestamp_seconds", {}, polled_at)
    e.add("jinbao_polls_total", {}, polls)
    return e.text()
