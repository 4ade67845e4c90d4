"""What a notification means, as the poller's alerts: raise or clear (device, key), same keys.

A trap is an edge, the poller sees levels; both feed one table of active alerts, so a linkDown
trap raises `if_down:<ifName>` exactly as a poll that sees the interface down does, and whichever
sees it first raises it once (deduplicated). Momentary conditions (a restart, an authentication
failure) have no trap that ends them: they are raised and cleared by the receiver after a hold
time, or by the next poll of the device, whichever comes first.
"""

from __future__ import annotations

from dataclasses import dataclass

from .alerts import SEVERITY, Condition

OID = tuple[int, ...]

SNMP_TRAP_OID: OID = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)  # snmpTrapOID.0: which notification this is
SYS_UPTIME: OID = (1, 3, 6, 1, 2, 1, 1, 3, 0)
SNMP_TRAPS: OID = (1, 3, 6, 1, 6, 3, 1, 1, 5)  # SNMPv2-MIB snmpTraps
COLD_START, WARM_START = SNMP_TRAPS + (1,), SNMP_TRAPS + (2,)
LINK_DOWN, LINK_UP = SNMP_TRAPS + (3,), SNMP_TRAPS + (4,)
AUTH_FAILURE = SNMP_TRAPS + (5,)
IF_INDEX: OID = (1, 3, 6, 1, 2, 1, 2, 2, 1, 1)
IF_DESCR: OID = (1, 3, 6, 1, 2, 1, 2, 2, 1, 2)
IF_ADMIN: OID = (1, 3, 6, 1, 2, 1, 2, 2, 1, 7)
IF_OPER: OID = (1, 3, 6, 1, 2, 1, 2, 2, 1, 8)
IF_NAME: OID = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1)
# UPS-MIB (RFC 1628) upsTraps and the well-known alarms they carry in upsAlarmDescr.
UPS_TRAPS: OID = (1, 3, 6, 1, 2, 1, 33, 2)
UPS_ON_BATTERY = UPS_TRAPS + (1,)
UPS_ALARM_ADDED, UPS_ALARM_REMOVED = UPS_TRAPS + (3,), UPS_TRAPS + (4,)
UPS_ALARM_DESCR: OID = (1, 3, 6, 1, 2, 1, 33, 1, 6, 2, 1, 2)
UPS_WELL_KNOWN_ALARMS: OID = (1, 3, 6, 1, 2, 1, 33, 1, 6, 3)
UPS_ALARMS = {2: ("ups_on_battery", "on battery"), 3: ("ups_battery", "battery low")}
OPER = {1: "up", 2: "down", 3: "testing", 4: "unknown", 5: "dormant", 6: "notPresent", 7: "lowerLayerDown"}
ADMIN = {1: "up", 2: "down", 3: "testing"}

# Conditions with no ending trap or message, held this long (seconds) unless a poll clears them first.
MOMENTARY = ("reboot", "snmp_auth_failure", "ssh_auth_failure")


@dataclass(frozen=True)
class Change:
    """One alert change a notification asks for."""

    op: str  # "raise" or "clear"
    condition: Condition


def _dotted(o: OID) -> str:
    return ".".join(map(str, o))


def name_of(oid: OID) -> str:
    names = {
        COLD_START: "coldStart",
        WARM_START: "warmStart",
        LINK_DOWN: "linkDown",
        LINK_UP: "linkUp",
        AUTH_FAILURE: "authenticationFailure",
        UPS_ON_BATTERY: "upsTrapOnBattery",
        UPS_TRAPS + (2,): "upsTrapTestCompleted",
        UPS_ALARM_ADDED: "upsTrapAlarmEntryAdded",
        UPS_ALARM_REMOVED: "upsTrapAlarmEntryRemoved",
    }
    return names.get(oid, _dotted(oid))


def _column(vbs: dict[OID, object], col: OID) -> tuple[OID, object] | None:
    for oid, v in vbs.items():
        if oid[: len(col)] == col and len(oid) > len(col):
            return oid[len(col) :], v
    return None


def _int(v: object) -> int | None:
    try:
        return int(v)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def _interface(vbs: dict[OID, object], ifnames: dict[str, str]) -> str:
    """The interface a link trap is about, named as the poller names it (ifName, else ifDescr).

    net-snmp's linkUp/linkDown carry ifIndex, ifAdminStatus and ifOperStatus only; the name comes
    from the trap's own ifName/ifDescr varbind if any, else the poller's cached table for the
    device (ifIndex -> name), else `ifIndex.N`, so the key is stable either way."""
    index = None
    for col in (IF_INDEX, IF_ADMIN, IF_OPER, IF_NAME, IF_DESCR):
        hit = _column(vbs, col)
        if hit:
            index = ".".join(map(str, hit[0]))
            break
    for col in (IF_NAME, IF_DESCR):
        hit = _column(vbs, col)
        if hit and str(hit[1]):
            return str(hit[1])
    if index is not None and index in ifnames:
        return ifnames[index]
    return f"ifIndex.{index}" if index is not None else "ifIndex.?"


def changes(vbs: dict[OID, object], ifnames: dict[str, str]) -> list[Change] | None:
    """The alert changes a notification's varbinds ask for; [] for a notification that means no
    alert here (e.g. a UPS self-test completed), None for one without snmpTrapOID (malformed)."""
    trap = vbs.get(SNMP_TRAP_OID)
    if trap is None:
        return None
    try:
        oid: OID = tuple(trap)  # type: ignore[arg-type]
    except TypeError:
        return None
    if oid in (LINK_DOWN, LINK_UP):
        name = _interface(vbs, ifnames)
        oper_hit, admin_hit = _column(vbs, IF_OPER), _column(vbs, IF_ADMIN)
        oper = OPER.get(_int(oper_hit[1]) or 0, "down" if oid == LINK_DOWN else "up") if oper_hit else None
        admin = ADMIN.get(_int(admin_hit[1]) or 0, "?") if admin_hit else "?"
        oper = oper or ("down" if oid == LINK_DOWN else "up")
        c = Condition(f"if_down:{name}", f"interface {name} is {oper} (admin {admin}), by {name_of(oid)} trap")
        return [Change("raise" if oid == LINK_DOWN else "clear", c)]
    if oid == UPS_ON_BATTERY:
        return [Change("raise", Condition("ups_on_battery", "on battery, by upsTrapOnBattery trap"))]
    if oid in (UPS_ALARM_ADDED, UPS_ALARM_REMOVED):
        hit = _column(vbs, UPS_ALARM_DESCR)
        alarm: OID = ()
        if hit:
            try:
                alarm = tuple(hit[1])  # type: ignore[arg-type]
            except TypeError:
                alarm = ()
        known = UPS_ALARMS.get(alarm[-1]) if alarm[:-1] == UPS_WELL_KNOWN_ALARMS else None
        if known is None:
            return []
        key, what = known
        op = "raise" if oid == UPS_ALARM_ADDED else "clear"
        return [Change(op, Condition(key, f"{what}, by {name_of(oid)} trap"))]
    if oid in (COLD_START, WARM_START):
        return [Change("raise", Condition("reboot", f"the agent restarted ({name_of(oid)} trap)"))]
    if oid == AUTH_FAILURE:
        return [Change("raise", Condition("snmp_auth_failure", "the agent refused a request: wrong community or key"))]
    return []


def apply(host: str, found: list[Change], active: dict[str, dict], at: str, source: str) -> list[dict]:
    """Raise and clear events, in the shape alerts.evaluate makes, with `source` saying trap."""
    events: list[dict] = []
    for ch in found:
        c = ch.condition
        k = f"{host}|{c.key}"
        if ch.op == "raise" and k not in active:
            sev = SEVERITY[c.key.split(":")[0]]
            alert = {"device": host, "key": c.key, "message": c.message, "value": c.value, "limit": c.limit}
            alert |= {"severity": sev, "since": at, "source": source}
            active[k] = alert
            events.append({"at": at, "event": "raise", **alert})
        elif ch.op == "clear" and k in active:
            alert = active.pop(k)
            events.append({"at": at, "event": "clear", **alert, "message": c.message, "source": source})
    return events
