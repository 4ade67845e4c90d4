"""The MIB objects the poller reads, by numeric OID.

Numeric, because the poller runs pysnmp with lookupMib=False (it halves pysnmp's CPU cost) and
needs no MIB compiler or MIB files on the machine. Each name is the MIB's own, so a reader can
check it with `snmptranslate -On IF-MIB::ifHCInOctets`.
"""

from __future__ import annotations

OID = tuple[int, ...]


def oid(text: str) -> OID:
    return tuple(int(x) for x in text.strip(".").split("."))


# SNMPv2-MIB / IF-MIB scalars
sysUpTime = oid("1.3.6.1.2.1.1.3.0")
sysName = oid("1.3.6.1.2.1.1.5.0")
ifNumber = oid("1.3.6.1.2.1.2.1.0")
ifTableLastChange = oid("1.3.6.1.2.1.31.1.5.0")

# IF-MIB ifTable (1.3.6.1.2.1.2.2.1) and ifXTable (1.3.6.1.2.1.31.1.1.1) columns
ifDescr = oid("1.3.6.1.2.1.2.2.1.2")
ifAdminStatus = oid("1.3.6.1.2.1.2.2.1.7")
ifOperStatus = oid("1.3.6.1.2.1.2.2.1.8")
ifInDiscards = oid("1.3.6.1.2.1.2.2.1.13")
ifInErrors = oid("1.3.6.1.2.1.2.2.1.14")
ifOutDiscards = oid("1.3.6.1.2.1.2.2.1.19")
ifOutErrors = oid("1.3.6.1.2.1.2.2.1.20")
ifName = oid("1.3.6.1.2.1.31.1.1.1.1")
ifHCInOctets = oid("1.3.6.1.2.1.31.1.1.1.6")
ifHCOutOctets = oid("1.3.6.1.2.1.31.1.1.1.10")
ifHighSpeed = oid("1.3.6.1.2.1.31.1.1.1.15")
ifAlias = oid("1.3.6.1.2.1.31.1.1.1.18")

# HOST-RESOURCES-MIB
hrProcessorLoad = oid("1.3.6.1.2.1.25.3.3.1.2")
hrStorageType = oid("1.3.6.1.2.1.25.2.3.1.2")
hrStorageDescr = oid("1.3.6.1.2.1.25.2.3.1.3")
hrStorageAllocationUnits = oid("1.3.6.1.2.1.25.2.3.1.4")
hrStorageSize = oid("1.3.6.1.2.1.25.2.3.1.5")
hrStorageUsed = oid("1.3.6.1.2.1.25.2.3.1.6")
hrStorageRam = oid("1.3.6.1.2.1.25.2.1.2")
hrStorageFixedDisk = oid("1.3.6.1.2.1.25.2.1.4")

# Vendor CPU and memory, where the platform table says the agent reports them (per entity, %).
cpmCPUTotal5minRev = oid("1.3.6.1.4.1.9.9.109.1.1.1.1.8")  # CISCO-PROCESS-MIB
cpmCPUMemoryUsed = oid("1.3.6.1.4.1.9.9.109.1.1.1.1.12")
cpmCPUMemoryFree = oid("1.3.6.1.4.1.9.9.109.1.1.1.1.13")
hwEntityCpuUsage = oid("1.3.6.1.4.1.2011.5.25.31.1.1.1.1.5")  # HUAWEI-ENTITY-EXTENT-MIB
hwEntityMemUsage = oid("1.3.6.1.4.1.2011.5.25.31.1.1.1.1.7")
hh3cEntityExtCpuUsage = oid("1.3.6.1.4.1.25506.2.6.1.1.1.1.6")  # HH3C-ENTITY-EXT-MIB
hh3cEntityExtMemUsage = oid("1.3.6.1.4.1.25506.2.6.1.1.1.1.8")

# UPS-MIB (RFC 1628)
upsBatteryStatus = oid("1.3.6.1.2.1.33.1.2.1.0")  # 1 unknown, 2 normal, 3 low, 4 depleted
upsSecondsOnBattery = oid("1.3.6.1.2.1.33.1.2.2.0")
upsEstimatedMinutesRemaining = oid("1.3.6.1.2.1.33.1.2.3.0")
upsEstimatedChargeRemaining = oid("1.3.6.1.2.1.33.1.2.4.0")
upsOutputSource = oid("1.3.6.1.2.1.33.1.4.1.0")  # 5 battery
upsOutputPercentLoad = oid("1.3.6.1.2.1.33.1.4.4.1.5")

# ENTITY-SENSOR-MIB (RFC 3433) entPhySensorTable
entPhySensorType = oid("1.3.6.1.2.1.99.1.1.1.1")  # 8 celsius, 9 percentRH
entPhySensorScale = oid("1.3.6.1.2.1.99.1.1.1.2")  # 9 units; 8 milli ... (SI prefixes, 9 = 10^0)
entPhySensorPrecision = oid("1.3.6.1.2.1.99.1.1.1.3")
entPhySensorValue = oid("1.3.6.1.2.1.99.1.1.1.4")
entPhySensorOperStatus = oid("1.3.6.1.2.1.99.1.1.1.5")  # 1 ok, 2 unavailable, 3 nonoperational

# OSPF-MIB ospfNbrTable
ospfNbrRtrId = oid("1.3.6.1.2.1.14.10.1.3")
ospfNbrState = oid("1.3.6.1.2.1.14.10.1.6")  # 8 full
