"""Writes the snmpsim recordings (*.snmprec) of this folder: one device of each class the lab lacks.

No device of these kinds was walked: each recording is hand-built from its MIB's definitions
(UPS-MIB RFC 1628, ENTITY-SENSOR-MIB RFC 3433, HOST-RESOURCES-MIB RFC 2790, IF-MIB RFC 2863,
OSPF-MIB RFC 1850, CISCO-PROCESS-MIB, HH3C-ENTITY-EXT-MIB) with plausible values, so that every
collector runs against a real SNMP agent (snmpsim) speaking those objects. Run it again after a
change (`python -m monitoring.sim.recordings`); the files are committed, and a test checks that
they are what this writes.

snmprec lines are `OID|TAG|VALUE`, TAG the BER tag: 2 INTEGER, 4 OCTET STRING, 6 OBJECT
IDENTIFIER, 64 IpAddress, 65 Counter32, 66 Gauge32, 67 TimeTicks, 70 Counter64; sorted by OID.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent
Row = tuple[str, int, object]


def system(descr: str, object_id: str, name: str, uptime: int, location: str) -> list[Row]:
    return [
        ("1.3.6.1.2.1.1.1.0", 4, descr),
        ("1.3.6.1.2.1.1.2.0", 6, object_id),
        ("1.3.6.1.2.1.1.3.0", 67, uptime),
        ("1.3.6.1.2.1.1.4.0", 4, "noc@hrss.ah.example"),
        ("1.3.6.1.2.1.1.5.0", 4, name),
        ("1.3.6.1.2.1.1.6.0", 4, location),
    ]


def interfaces(ports: list[tuple[str, str, int, bool, int]], last_change: int = 4200) -> list[Row]:
    """ports: (ifDescr, ifName, Mbit/s, oper up, octets so far) per interface, index from 1."""
    rows: list[Row] = [("1.3.6.1.2.1.2.1.0", 2, len(ports)), ("1.3.6.1.2.1.31.1.5.0", 67, last_change)]
    for i, (descr, name, speed, up, octets) in enumerate(ports, 1):
        t, x = "1.3.6.1.2.1.2.2.1", "1.3.6.1.2.1.31.1.1.1"
        rows += [
            (f"{t}.1.{i}", 2, i),
            (f"{t}.2.{i}", 4, descr),
            (f"{t}.3.{i}", 2, 6),  # ethernetCsmacd
            (f"{t}.7.{i}", 2, 1),
            (f"{t}.8.{i}", 2, 1 if up else 2),
            (f"{t}.13.{i}", 65, i % 3),
            (f"{t}.14.{i}", 65, 0),
            (f"{t}.19.{i}", 65, (i * 7) % 5),
            (f"{t}.20.{i}", 65, 0),
            (f"{x}.1.{i}", 4, name),
            (f"{x}.6.{i}", 70, octets),
            (f"{x}.10.{i}", 70, octets // 3),
            (f"{x}.15.{i}", 66, speed),
            (f"{x}.18.{i}", 4, ""),
        ]
    return rows


def ups(on_battery: bool) -> list[Row]:
    u = "1.3.6.1.2.1.33.1"
    return [
        *system(
            "Vertiv Liebert APM 90kVA, IS-UNITY-DP card",
            "1.3.6.1.4.1.476.1.42",
            "prov-ups2" if on_battery else "prov-ups1",
            86_400_00 * 41,
            "DC1",
        ),
        (f"{u}.1.1.0", 4, "Vertiv"),
        (f"{u}.1.2.0", 4, "Liebert APM 90"),
        (f"{u}.2.1.0", 2, 2 if not on_battery else 3),  # normal / low
        (f"{u}.2.2.0", 2, 0 if not on_battery else 540),  # seconds on battery
        (f"{u}.2.3.0", 2, 46 if not on_battery else 9),  # minutes remaining
        (f"{u}.2.4.0", 2, 100 if not on_battery else 31),  # charge %
        (f"{u}.2.5.0", 2, 5450 if not on_battery else 4980),  # battery voltage, 0.1 V
        (f"{u}.2.7.0", 2, 24),  # battery temperature, C
        (f"{u}.3.2.0", 2, 3),  # input lines
        *[(f"{u}.3.3.1.3.{p}", 2, 0 if on_battery else 229 + p) for p in (1, 2, 3)],  # input voltage
        (f"{u}.4.1.0", 2, 5 if on_battery else 3),  # upsOutputSource: battery / normal
        (f"{u}.4.2.0", 2, 500),  # output frequency, 0.1 Hz
        (f"{u}.4.3.0", 2, 3),
        *[(f"{u}.4.4.1.2.{p}", 2, 230) for p in (1, 2, 3)],  # output voltage
        *[(f"{u}.4.4.1.5.{p}", 2, 52 + 3 * p) for p in (1, 2, 3)],  # upsOutputPercentLoad
    ]


def env_sensor() -> list[Row]:
    e, s = "1.3.6.1.2.1.47.1.1.1.1", "1.3.6.1.2.1.99.1.1.1"
    sensors = [  # index, descr, type (8 celsius, 9 percentRH), scale (9 units), precision, value, status
        (1001, "Cold aisle A temperature", 8, 9, 1, 231, 1),
        (1002, "Hot aisle A temperature", 8, 9, 1, 342, 1),
        (1003, "Cold aisle A humidity", 9, 9, 0, 46, 1),
        (1004, "Spare probe", 8, 9, 1, 0, 2),  # unavailable: not counted
    ]
    rows = system("Vertiv Geist Watchdog 100", "1.3.6.1.4.1.21239.5.1", "prov-env1", 86_400_00 * 12, "DC1 row A")
    for i, descr, *_ in sensors:
        rows.append((f"{e}.2.{i}", 4, descr))
    for i, _, kind, scale, prec, value, status in sensors:
        rows += [(f"{s}.1.{i}", 2, kind), (f"{s}.2.{i}", 2, scale), (f"{s}.3.{i}", 2, prec)]
        rows += [(f"{s}.4.{i}", 2, value), (f"{s}.5.{i}", 2, status), (f"{s}.6.{i}", 4, "C" if kind == 8 else "%RH")]
    return rows


def storage() -> list[Row]:
    h = "1.3.6.1.2.1.25"
    ports = [(f"FC port {n}", f"CTE0.A.IOM0.P{n}", 16000, n < 3, 10**12 * (n + 1)) for n in range(4)]
    ports.append(("Management port", "CTE0.A.MGMT", 1000, True, 4 * 10**9))
    vols = [  # index, type (2 RAM, 4 fixed disk), descr, allocation unit, size, used
        (1, "1.3.6.1.2.1.25.2.1.2", "Controller A memory", 1024, 64 * 1024**2, 41 * 1024**2),
        (2, "1.3.6.1.2.1.25.2.1.4", "StoragePool001", 1024 * 1024, 245_760_000, 180_224_000),
        (3, "1.3.6.1.2.1.25.2.1.4", "StoragePool002", 1024 * 1024, 122_880_000, 40_960_000),
    ]
    rows = system("Huawei OceanStor 5510 V6", "1.3.6.1.4.1.34774.4.1", "prov-san1", 86_400_00 * 120, "DC1")
    rows += interfaces(ports)
    rows += [(f"{h}.3.3.1.2.{i}", 2, load) for i, load in ((196608, 23), (196609, 31))]
    for i, kind, descr, unit, size, used in vols:
        rows += [(f"{h}.2.3.1.1.{i}", 2, i), (f"{h}.2.3.1.2.{i}", 6, kind), (f"{h}.2.3.1.3.{i}", 4, descr)]
        rows += [(f"{h}.2.3.1.4.{i}", 2, unit), (f"{h}.2.3.1.5.{i}", 2, size), (f"{h}.2.3.1.6.{i}", 2, used)]
    return rows


def router_cisco() -> list[Row]:
    ports = [(f"GigabitEthernet0/0/{n}", f"Gi0/0/{n}", 1000, n != 3, 3 * 10**11 * (n + 1)) for n in range(4)]
    ports += [("TenGigabitEthernet0/1/0", "Te0/1/0", 10000, True, 9 * 10**12), ("Loopback0", "Lo0", 8000, True, 0)]
    c, o = "1.3.6.1.4.1.9.9.109.1.1.1.1", "1.3.6.1.2.1.14"
    rows = system(
        "Cisco IOS XE Software, Version 17.09.04a", "1.3.6.1.4.1.9.1.2591", "prov-wan1", 86_400_00 * 63, "DC1"
    )
    rows += interfaces(ports)
    rows += [(f"{c}.2.1", 2, 7000), (f"{c}.8.1", 66, 17), (f"{c}.12.1", 66, 1_310_720), (f"{c}.13.1", 66, 2_883_584)]
    rows += [(f"{o}.1.1.0", 64, "10.32.0.1"), (f"{o}.1.2.0", 2, 1)]
    nbrs = [("10.32.0.6", "10.32.0.2", 8), ("10.32.240.2", "10.36.0.1", 8), ("10.32.240.6", "10.40.0.1", 4)]
    for ip, rid, state in nbrs:
        idx = f"{ip}.0"
        rows += [(f"{o}.10.1.1.{idx}", 64, ip), (f"{o}.10.1.2.{idx}", 2, 0), (f"{o}.10.1.3.{idx}", 64, rid)]
        rows += [(f"{o}.10.1.5.{idx}", 2, 1), (f"{o}.10.1.6.{idx}", 2, state)]
    return rows


def switch_h3c() -> list[Row]:
    ports = [(f"GigabitEthernet1/0/{n}", f"GE1/0/{n}", 1000, n % 5 != 0, 10**10 * n) for n in range(1, 25)]
    ports += [(f"Ten-GigabitEthernet1/0/{n}", f"XGE1/0/{n}", 10000, n < 27, 10**12 * n) for n in range(25, 29)]
    e, x = "1.3.6.1.2.1.47.1.1.1.1", "1.3.6.1.4.1.25506.2.6.1.1.1.1"
    rows = system(
        "H3C Comware Software, Version 7.1.070, S6520X-30QC-EI",
        "1.3.6.1.4.1.25506.1.1599",
        "prov-agg-prod1",
        86_400_00 * 200,
        "DC1",
    )
    rows += interfaces(ports)
    entities = [(1, "S6520X chassis", 0, 0), (2, "Board 1", 14, 38), (3, "Fan 1", 0, 0)]  # CPU, memory %
    for i, descr, cpu, mem in entities:
        rows += [(f"{e}.2.{i}", 4, descr), (f"{x}.6.{i}", 2, cpu), (f"{x}.8.{i}", 2, mem)]
    return rows


RECORDINGS = {
    "ups": ups(on_battery=False),
    "ups-on-battery": ups(on_battery=True),
    "env_sensor": env_sensor(),
    "storage": storage(),
    "router-cisco": router_cisco(),
    "switch-h3c": switch_h3c(),
}


def value(name: str, oid: str) -> object:
    """The value a recording holds at oid."""
    return next(v for o, _, v in RECORDINGS[name] if o == oid)


def render(rows: list[Row]) -> str:
    def key(r: Row) -> tuple[int, ...]:
        return tuple(int(p) for p in r[0].split("."))

    return "".join(f"{o}|{tag}|{v}\n" for o, tag, v in sorted(rows, key=key))


def write(folder: Path = HERE) -> list[Path]:
    out = []
    for name, rows in RECORDINGS.items():
        path = folder / f"{name}.snmprec"
        path.write_text(render(rows))
        out.append(path)
    return out


if __name__ == "__main__":
    for p in write():
        print(p)
