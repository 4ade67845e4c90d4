"""Host variables the security roles read (snmpd, firewall_host): the device's SNMP profile and
the host firewall its zone policy implies. Computed here from the validated estate, so the roles
never re-derive the policy and the plugin and the static export agree.

Secret fields stay references (`env:NAME`): the roles resolve them on the controller at run time
(lookup plugin jinbao_secret), so no value is ever part of the inventory.
"""

from __future__ import annotations

from .ansible_dr import data_address
from .model import Device, Estate, Service
from .platforms import facts

# What each management protocol opens on a host's management interface.
_MGMT_PORTS = {"ssh": "tcp/22", "snmp": "udp/161"}


def snmp_vars(e: Estate, d: Device) -> dict:
    """The device's SNMP profile (references, not values) and where its notifications go."""
    p = e.snmp_profiles.get(d.snmp_profile)
    if p is None:
        return {}
    mp = e.management_plane
    collectors = [str(e.devices[n].mgmt_ip) for n in (mp.syslog if mp else ()) if n in e.devices]
    return {
        "jinbao_snmp": {
            "version": str(p.version),
            "user": p.user,
            "security_level": p.security_level,
            "auth_protocol": p.auth_protocol,
            "priv_protocol": p.priv_protocol,
            "auth_key": p.auth_key.ref if p.auth_key else None,
            "priv_key": p.priv_key.ref if p.priv_key else None,
            "trap_targets": collectors,
        }
    }


def _service(s: Service) -> dict:
    return {"proto": s.proto, "ports": list(s.ports) if s.ports else None}


def firewall_vars(e: Estate, d: Device) -> dict:
    """The host's inbound policy: management from the management network on the management
    interface, and on its data side what the zone policy lets into its zone.

    A host cannot see which zone a packet came through, only its source. A guarded zone of the
    site is its address block; `core` stands for everything routed in from beyond the site, i.e.
    any source outside the site's guarded zones. Peers in the host's own zone get what the zone
    accepts from other data zones (the network firewall does not stand between them), never the
    management services."""
    if d.zone is None:
        return {}
    site = e.sites[d.site]
    guarded = [str(z.block) for z in site.zones.values() if z.kind != "core"]
    inbound: list[dict] = []
    own_services: list[dict] = []
    for pol in e.policies:
        if pol.site != d.site or pol.to_zone != d.zone:
            continue
        src = site.zones[pol.from_zone]
        services = [_service(s) for s in pol.services]
        rule: dict = {
            "why": pol.why or f"{pol.from_zone} -> {pol.to_zone}",
            "from_zone": pol.from_zone,
            "saddr": [] if src.kind == "core" else [str(src.block)],
            "saddr_not": guarded if src.kind == "core" else [],
            "services": services,
        }
        inbound.append(rule)
        if src.kind != "management":  # administration comes from the management zone, not from peers
            own_services += [s for s in services if s not in own_services]
    if own_services:
        own = site.zones[d.zone]
        inbound.append(
            {
                "why": f"peers in {d.zone}",
                "from_zone": d.zone,
                "saddr": [str(own.block)],
                "saddr_not": [],
                "services": own_services,
            }
        )
    # A collector takes syslog and traps, an NTP server time requests, from the managed devices'
    # management addresses (lab/render.py and the common role send them there).
    mp = e.management_plane
    mgmt = [_MGMT_PORTS[p] for p in d.management if p in _MGMT_PORTS]
    mgmt += ["udp/514", "udp/162"] if mp and d.name in mp.syslog else []
    mgmt += ["udp/123"] if mp and d.name in mp.ntp else []
    # keepalived's adverts (IP protocol 112, unicast) come from the DR peer's data address; no
    # zone policy names them, and dropped adverts would leave both nodes believing they are MASTER.
    vrrp = sorted(
        {
            a
            for p in e.dr_pairs
            if d.name in (p.primary, p.standby)
            for peer in (p.standby if d.name == p.primary else p.primary,)
            if (a := data_address(e.devices[peer]))
        }
    )
    return {
        "jinbao_host_firewall": {
            "mgmt_interface": facts(d.platform).mgmt_interface,
            "mgmt_from": str(e.mgmt_block),
            "mgmt_services": mgmt,
            "inbound": inbound,
            "vrrp_from": vrrp,
        }
    }
