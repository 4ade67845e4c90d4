"""A poll's results as numbers: one (object, metric, value) per thing worth keeping over time.

The history store and `monitor status` read these; the object is "" for the device itself, the
ifName for an interface and the mount point for a disk. Values are what the poller computed
(rates, percentages), so a chart shows what the operator saw in `monitor poll`.
"""

from __future__ import annotations

from jinbao.result import Result

# Metrics kept per device ("" object) and per interface, with what each one is, for --help and docs.
DEVICE_METRICS = {
    "reachable": "1 when the device answered its poll, 0 when not (its average is availability)",
    "uptime_s": "sysUpTime in seconds",
    "cpu_pct": "CPU load %",
    "memory_pct": "memory used %",
    "disk_pct": "disk used % (object: the mount point)",
    "ups_on_battery": "1 while the UPS runs on battery",
    "ups_runtime_min": "UPS estimated runtime, minutes",
    "ups_load_pct": "UPS output load %",
    "ups_charge_pct": "UPS battery charge %",
    "temperature_c": "highest temperature sensor, °C",
    "humidity_pct": "highest humidity sensor, %RH",
}
INTERFACE_METRICS = {
    "in_bps": "inbound bits per second",
    "out_bps": "outbound bits per second",
    "utilisation_pct": "the busier direction's share of ifHighSpeed, %",
    "oper_up": "1 while ifOperStatus is up",
    "in_errors_ps": "inbound errors per second",
    "out_errors_ps": "outbound errors per second",
    "in_discards_ps": "inbound discards per second",
    "out_discards_ps": "outbound discards per second",
}
METRICS = {**DEVICE_METRICS, **INTERFACE_METRICS}

Sample = tuple[str, str, float]  # (object, metric, value)


def of_result(r: Result, since_last_s: float | None) -> list[Sample]:
    """The samples of one device's poll. since_last_s (seconds since its previous poll) turns
    the poller's per-poll error and discard counts into rates; without it they are left out."""
    d = r.data or {}
    out: list[Sample] = [("", "reachable", 0.0 if r.failed else 1.0)]
    if r.failed:
        return out

    def put(obj: str, metric: str, value) -> None:
        if value is not None and not isinstance(value, bool | str):
            out.append((obj, metric, float(value)))
        elif isinstance(value, bool):
            out.append((obj, metric, 1.0 if value else 0.0))

    put("", "uptime_s", (d.get("system") or {}).get("uptime_s"))
    h = d.get("health") or {}
    put("", "cpu_pct", h.get("cpu_pct"))
    put("", "memory_pct", h.get("memory_pct"))
    for disk in h.get("disks", []):
        put(disk["mount"], "disk_pct", disk.get("used_pct"))
    u = d.get("ups") or {}
    if u:
        put("", "ups_on_battery", bool(u.get("on_battery")))
        put("", "ups_runtime_min", u.get("runtime_min"))
        put("", "ups_load_pct", u.get("load_pct"))
        put("", "ups_charge_pct", u.get("charge_pct"))
    s = d.get("sensors") or {}
    put("", "temperature_c", s.get("temperature_c"))
    put("", "humidity_pct", s.get("humidity_pct"))
    for i in d.get("interfaces", []):
        name = i["name"]
        put(name, "in_bps", i.get("in_bps"))
        put(name, "out_bps", i.get("out_bps"))
        put(name, "utilisation_pct", i.get("utilisation_pct"))
        put(name, "oper_up", i.get("oper") == "up")
        if since_last_s and since_last_s > 0:
            for k in ("in_errors", "out_errors", "in_discards", "out_discards"):
                if i.get(k) is not None:
                    put(name, f"{k}_ps", i[k] / since_last_s)
    return out
