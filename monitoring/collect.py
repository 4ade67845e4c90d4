"""What each profile's `collect` entry reads from an agent, and how its values become numbers.

Each collector takes a Session (monitoring/snmp.py) and the device's saved state, reads only
the columns it needs, and returns plain JSON-able data. A value of the wrong type (an agent
answering an octet string where a counter belongs) raises SnmpFailure('malformed') naming the
object: it is recorded against that device, never a crash.
"""

from __future__ import annotations

import time
from typing import Any

from pyasn1.error import PyAsn1Error

from . import oids as O
from .rates import COUNTER32, delta, rate_bps, rebooted, utilisation_pct
from .snmp import Session, SnmpFailure

# Columns re-read every poll; the static ones (names, speeds) are cached until they change.
IF_DYNAMIC = [
    O.ifAdminStatus,
    O.ifOperStatus,
    O.ifHCInOctets,
    O.ifHCOutOctets,
    O.ifInErrors,
    O.ifOutErrors,
    O.ifInDiscards,
    O.ifOutDiscards,
]
IF_STATIC = [O.ifDescr, O.ifName, O.ifAlias, O.ifHighSpeed]
IF_STATUS = {1: "up", 2: "down", 3: "testing", 4: "unknown", 5: "dormant", 6: "notPresent", 7: "lowerLayerDown"}
OSPF_STATE = dict(enumerate(("down", "attempt", "init", "twoWay", "exchangeStart", "exchange", "loading", "full"), 1))
UPS_BATTERY = {1: "unknown", 2: "normal", 3: "low", 4: "depleted"}
UPS_SOURCE = {1: "other", 2: "none", 3: "normal", 4: "bypass", 5: "battery", 6: "booster", 7: "reducer"}
SENSOR_KIND = {8: "temperature_c", 9: "humidity_pct"}
# A GETBULK answer of about this many varbinds fits an Ethernet frame on a typical agent.
VARBINDS_PER_REQUEST = 60


def number(value: Any, what: str) -> int:
    """An SNMP integer, counter, gauge or timeticks as an int; anything else is malformed."""
    try:
        if isinstance(value, bytes):  # the fast engine's OCTET STRING
            raise TypeError("OCTET STRING")
        if value is None or isinstance(value, str):
            raise TypeError(type(value).__name__)
        if hasattr(value, "asOctets"):  # an OctetString where a number belongs
            raise TypeError("OCTET STRING")
        return int(value)
    except (TypeError, ValueError, PyAsn1Error) as e:
        raise SnmpFailure("malformed", f"{what}: expected a number, got {e or type(value).__name__}") from None


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):  # the fast engine's OCTET STRING
        return value.decode("utf-8", "replace")
    try:
        return bytes(value.asOctets()).decode("utf-8", "replace") if hasattr(value, "asOctets") else str(value)
    except PyAsn1Error:
        return ""


def ip_address(value: Any) -> str:
    """An IpAddress (four octets on the wire) in dotted form; decoding it as text gives junk."""
    if value is None:
        return ""
    raw = bytes(value) if isinstance(value, bytes) else bytes(value.asOctets()) if hasattr(value, "asOctets") else b""
    if len(raw) != 4:
        raise SnmpFailure("malformed", f"expected an IpAddress of 4 octets, got {len(raw)}")
    return ".".join(map(str, raw))


def _name(idx: tuple[int, ...]) -> str:
    return ".".join(map(str, idx))


def reps_for(rows: int, columns: int) -> int:
    """GETBULK repetitions for a table of about `rows` rows: the whole table in one answer where
    it fits, else as many rows as fit VARBINDS_PER_REQUEST varbinds."""
    return max(1, min(rows + 1, VARBINDS_PER_REQUEST // max(1, columns)))


async def system(s: Session, st: dict, want_interfaces: bool) -> dict:
    asked = [O.sysUpTime, O.sysName] + ([O.ifNumber, O.ifTableLastChange] if want_interfaces else [])
    got = await s.get(*asked)
    now = time.time()
    ticks = number(got[O.sysUpTime], "sysUpTime")
    last = st.get("uptime_ticks")
    seconds = now - st.get("polled_at", now)
    out = {
        "sys_name": text(got[O.sysName]),
        "uptime_s": ticks / 100.0,
        "rebooted": rebooted(last, ticks, seconds),
        "polled_at": now,
    }
    st["uptime_ticks"], st["polled_at"] = ticks, now
    if want_interfaces:
        # Both may be absent on a minimal agent; the static cache is then re-read only on reboot.
        for key, o, what in (("if_number", O.ifNumber, "ifNumber"), ("if_last_change", O.ifTableLastChange, "ifLast")):
            out[key] = number(got[o], what) if got[o] is not None else None
    return out


async def interfaces(s: Session, st: dict, sysinfo: dict) -> list[dict]:
    rows = sysinfo.get("if_number") or 8
    key = [sysinfo.get("if_number"), sysinfo.get("if_last_change")]
    # Static columns are read again only when the table may have changed: a different
    # ifNumber or ifTableLastChange, or a restarted agent (its indexes may have moved).
    if st.get("if_key") != key or sysinfo["rebooted"] or "if_static" not in st:
        cols = await s.columns(IF_STATIC, reps_for(rows, len(IF_STATIC)))
        st["if_static"] = {
            _name(i): {
                "descr": text(cols[O.ifDescr].get(i)),
                "name": text(cols[O.ifName].get(i)) or text(cols[O.ifDescr].get(i)),
                "alias": text(cols[O.ifAlias].get(i)),
                "speed_mbps": number(cols[O.ifHighSpeed][i], "ifHighSpeed") if i in cols[O.ifHighSpeed] else None,
            }
            for i in cols[O.ifDescr]
        }
        st["if_key"] = key
        st["if_static_read"] = True
    else:
        st["if_static_read"] = False
    cols = await s.columns(IF_DYNAMIC, reps_for(rows, len(IF_DYNAMIC)))
    now = time.time()
    prev = {} if sysinfo["rebooted"] else st.get("if_counters", {})
    seconds = now - st.get("if_at", now)
    counters, out = {}, []
    for i, admin in cols[O.ifAdminStatus].items():
        idx = _name(i)
        static = st["if_static"].get(idx, {})
        c = {
            k: number(cols[col][i], f"{k}.{idx}")
            for k, col in (
                ("in", O.ifHCInOctets),
                ("out", O.ifHCOutOctets),
                ("in_errors", O.ifInErrors),
                ("out_errors", O.ifOutErrors),
                ("in_discards", O.ifInDiscards),
                ("out_discards", O.ifOutDiscards),
            )
            if i in cols[col]
        }
        counters[idx] = c
        p = prev.get(idx, {})
        speed = static.get("speed_mbps")
        row = {
            "index": idx,
            "name": static.get("name", idx),
            "alias": static.get("alias", ""),
            "speed_mbps": speed,
            "admin": IF_STATUS.get(number(admin, f"ifAdminStatus.{idx}"), "unknown"),
            "oper": IF_STATUS.get(number(cols[O.ifOperStatus].get(i), f"ifOperStatus.{idx}"), "unknown"),
        }
        for k in ("in", "out"):
            row[f"{k}_bps"] = rate_bps(p[k], c[k], seconds, speed) if k in p and k in c else None
        for k in ("in_errors", "out_errors", "in_discards", "out_discards"):
            row[k] = delta(p[k], c[k], COUNTER32) if k in p and k in c else None
        rates = [r for r in (row["in_bps"], row["out_bps"]) if r is not None]
        row["utilisation_pct"] = utilisation_pct(max(rates), speed) if rates else None
        out.append(row)
    st["if_counters"], st["if_at"] = counters, now
    return out


async def health(s: Session, mib: str) -> dict:
    if mib == "HOST-RESOURCES-MIB":
        cpu = await s.columns([O.hrProcessorLoad], 16)
        loads = [number(v, "hrProcessorLoad") for v in cpu[O.hrProcessorLoad].values()]
        cols = [O.hrStorageType, O.hrStorageDescr, O.hrStorageAllocationUnits, O.hrStorageSize, O.hrStorageUsed]
        t = await s.columns(cols, reps_for(16, len(cols)))
        memory, disks = None, []
        for i, kind in t[O.hrStorageType].items():
            size = number(t[O.hrStorageSize].get(i), "hrStorageSize")
            used = number(t[O.hrStorageUsed].get(i), "hrStorageUsed")
            pct = 100.0 * used / size if size else None
            kind_oid = tuple(kind)
            if kind_oid == O.hrStorageRam:
                memory = pct
            elif kind_oid == O.hrStorageFixedDisk:
                disks.append({"mount": text(t[O.hrStorageDescr].get(i)), "used_pct": pct})
        return {"cpu_pct": sum(loads) / len(loads) if loads else None, "memory_pct": memory, "disks": disks}
    # Vendor entity MIBs: a percentage per entity (board, CPU); the busiest one is the device's.
    cpu_col, mem_col = {
        "CISCO-PROCESS-MIB": (O.cpmCPUTotal5minRev, None),
        "HUAWEI-ENTITY-EXTENT-MIB": (O.hwEntityCpuUsage, O.hwEntityMemUsage),
        "HH3C-ENTITY-EXT-MIB": (O.hh3cEntityExtCpuUsage, O.hh3cEntityExtMemUsage),
    }[mib]
    cols = [cpu_col] + ([mem_col] if mem_col else [O.cpmCPUMemoryUsed, O.cpmCPUMemoryFree])
    t = await s.columns(cols, 16)
    cpus = [number(v, "cpu") for v in t[cpu_col].values()]
    if mem_col:
        mems = [float(number(v, "memory")) for v in t[mem_col].values()]
    else:
        used, free = t[O.cpmCPUMemoryUsed], t[O.cpmCPUMemoryFree]
        mems = [
            100.0 * number(used[i], "cpmCPUMemoryUsed") / max(1, number(used[i], "m") + number(free[i], "m"))
            for i in used
            if i in free
        ]
    # Entities without a CPU report 0 in these MIBs; only those with a load say anything.
    return {"cpu_pct": max(cpus) if cpus else None, "memory_pct": max(mems) if mems else None, "disks": []}


async def ospf(s: Session) -> dict:
    t = await s.columns([O.ospfNbrRtrId, O.ospfNbrState], 16)
    if not t[O.ospfNbrState]:
        router_id = (await s.get(O.oid("1.3.6.1.2.1.14.1.1.0")))[O.oid("1.3.6.1.2.1.14.1.1.0")]
        if router_id is None:
            return {"exposed": False, "neighbours": []}
    nbrs = [
        {
            "neighbour": _name(i[:4]),
            "router_id": ip_address(t[O.ospfNbrRtrId].get(i)),
            "state": OSPF_STATE.get(number(v, "ospfNbrState"), "?"),
        }
        for i, v in t[O.ospfNbrState].items()
    ]
    return {"exposed": True, "neighbours": nbrs}


async def ups(s: Session) -> dict:
    got = await s.get(
        O.upsBatteryStatus,
        O.upsSecondsOnBattery,
        O.upsEstimatedMinutesRemaining,
        O.upsEstimatedChargeRemaining,
        O.upsOutputSource,
    )
    if all(v is None for v in got.values()):
        raise SnmpFailure("malformed", "UPS-MIB: the agent does not implement it (no upsBattery or upsOutput objects)")
    load = await s.columns([O.upsOutputPercentLoad], 4)

    def maybe(o, what):
        return number(got[o], what) if got[o] is not None else None

    source = maybe(O.upsOutputSource, "upsOutputSource")
    loads = [number(v, "upsOutputPercentLoad") for v in load[O.upsOutputPercentLoad].values()]
    return {
        "battery": UPS_BATTERY.get(maybe(O.upsBatteryStatus, "upsBatteryStatus") or 1, "unknown"),
        "on_battery": source == 5,
        "output_source": UPS_SOURCE.get(source or 1, "other"),
        "seconds_on_battery": maybe(O.upsSecondsOnBattery, "upsSecondsOnBattery"),
        "runtime_min": maybe(O.upsEstimatedMinutesRemaining, "upsEstimatedMinutesRemaining"),
        "charge_pct": maybe(O.upsEstimatedChargeRemaining, "upsEstimatedChargeRemaining"),
        "load_pct": max(loads) if loads else None,
    }


def sensor_value(raw: int, scale: int, precision: int) -> float:
    """ENTITY-SENSOR-MIB's value in units: scale is an SI prefix (9 = units, each step 10^3),
    precision the number of decimal places the integer carries."""
    return raw * 10 ** ((scale - 9) * 3) / 10**precision


async def sensors(s: Session) -> dict:
    cols = [
        O.entPhySensorType,
        O.entPhySensorScale,
        O.entPhySensorPrecision,
        O.entPhySensorValue,
        O.entPhySensorOperStatus,
    ]
    t = await s.columns(cols, reps_for(8, len(cols)))
    out: dict[str, list[float]] = {"temperature_c": [], "humidity_pct": []}
    for i, kind in t[O.entPhySensorType].items():
        what = SENSOR_KIND.get(number(kind, "entPhySensorType"))
        if what is None or number(t[O.entPhySensorOperStatus].get(i, 1), "entPhySensorOperStatus") != 1:
            continue
        out[what].append(
            sensor_value(
                number(t[O.entPhySensorValue].get(i), "entPhySensorValue"),
                number(t[O.entPhySensorScale].get(i, 9), "entPhySensorScale"),
                number(t[O.entPhySensorPrecision].get(i, 0), "entPhySensorPrecision"),
            )
        )
    return {
        "temperature_c": max(out["temperature_c"], default=None),
        "humidity_pct": max(out["humidity_pct"], default=None),
        "sensors": sum(map(len, out.values())),
    }
