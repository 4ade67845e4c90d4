"""Compute each device's intent from the estate: interfaces, OSPF, management plane, zone policy."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from ..model import ROUTING_ROLES, Device, Estate, Interface, Link, Policy
from ..platforms import facts
from .costs import interface_cost
from .types import (
    AdminIntent,
    DeviceIntent,
    FirewallIntent,
    InterfaceIntent,
    ManagementIntent,
    OspfIntent,
    OspfInterface,
    Peer,
    SnmpIntent,
    StaticRouteIntent,
    ZoneRule,
)


@dataclass(frozen=True)
class _Index:
    """What every device's intent looks up, built once per estate."""

    estate: Estate
    links: dict[str, Link]


def intents(estate: Estate) -> dict[str, DeviceIntent]:
    """Every device's intent, by name."""
    ix = _Index(estate, {l.id: l for l in estate.links})
    return {name: _device(ix, d) for name, d in estate.devices.items()}


def device_intent(estate: Estate, name: str) -> DeviceIntent:
    """One device's intent (KeyError for a name the estate does not have)."""
    return _device(_Index(estate, {l.id: l for l in estate.links}), estate.devices[name])


def _device(ix: _Index, d: Device) -> DeviceIntent:
    routes = d.role in ROUTING_ROLES and d.loopback is not None
    interfaces = tuple(_interface(ix, d, i, routes) for i in d.interfaces)
    return DeviceIntent(
        name=d.name,
        fqdn=d.fqdn,
        platform=d.platform,
        role=d.role,
        site=d.site,
        vendor=d.vendor,
        model=d.model,
        loopback=d.loopback,
        interfaces=interfaces,
        ospf=_ospf(ix, d, interfaces) if routes else None,
        management=_management(ix.estate, d),
        firewall=_firewall(ix.estate, d) if d.role == "firewall" else None,
        static_routes=tuple(
            StaticRouteIntent(r.prefix, None if r.via == "null0" else IPv4Address(r.via), r.distance)
            for r in d.static_routes
        ),
        announce=tuple(announced_address(n) for n in d.announce) if routes else (),
    )


def announced_address(prefix: IPv4Network) -> IPv4Interface:
    """The loopback address that originates an announced prefix: its first host, with its length
    (a /31 or /32 has no network address to skip)."""
    first = prefix.network_address + (1 if prefix.prefixlen < 31 else 0)
    return IPv4Interface((int(first), prefix.prefixlen))


def _interface(ix: _Index, d: Device, i: Interface, routes: bool) -> InterfaceIntent:
    e = ix.estate
    o, mp = e.ospf, e.management_plane
    auth = mp.ospf_auth_key.ref if mp and mp.ospf_auth_key else None
    link = ix.links.get(i.link) if i.link else None
    peer = None
    if link is not None:
        far = link.b if link.a.device == d.name else link.a
        peer = Peer(far.device, far.interface, link.carrier, link.medium, link.bandwidth_mbps, link.role)
        area, passive, p2p = link.ospf_area, False, True
    else:
        zone = e.sites[d.site].zones[i.zone] if i.zone else None
        area, passive, p2p = e.sites[d.site].ospf_area, zone is None or zone.kind != "core", False
    ospf = None
    if routes and i.ip is not None:
        ospf = OspfInterface(
            area=area,
            cost=interface_cost(i, ix.links, o),
            point_to_point=p2p,
            passive=passive,
            hello_s=o.hello_s,
            dead_s=o.dead_s,
            auth_key=None if passive else auth,
            bfd=link is not None and link.type != "lan",
        )
    return InterfaceIntent(
        name=i.name,
        address=i.ip,
        description=_description(e, d, i, link, peer),
        zone=i.zone,
        link=i.link,
        bandwidth_mbps=link.bandwidth_mbps if link else None,
        peer=peer,
        ospf=ospf,
    )


def _description(e: Estate, d: Device, i: Interface, link: Link | None, peer: Peer | None) -> str:
    if link is not None and peer is not None:
        how = ", ".join(x for x in (peer.carrier, peer.medium, f"{peer.bandwidth_mbps}M", peer.role) if x)
        # The link's own description (a circuit id) goes last, on both ends: what the carrier's
        # fault desk asks for is then on the interface an engineer is looking at.
        return f"{link.type} to {peer.device} {peer.interface} [{how}]" + (
            f" {link.description}" if link.description else ""
        )
    if i.zone:
        z = e.sites[d.site].zones[i.zone]
        return f"zone {d.site}/{z.name} ({z.kind}, vlan {z.vlan})"
    return i.description


def _ospf(ix: _Index, d: Device, interfaces: tuple[InterfaceIntent, ...]) -> OspfIntent:
    e = ix.estate
    assert d.loopback is not None  # only routing devices with a loopback get here (the validator's rule)
    area = e.sites[d.site].ospf_area
    nets = [(IPv4Interface((int(d.loopback), 32)).network, area)]
    nets += [(i.address.network, i.ospf.area) for i in interfaces if i.address is not None and i.ospf is not None]
    nets += [(prefix, area) for prefix in d.announce]  # from a loopback address, in the device's own area
    return OspfIntent(
        process=e.ospf.process,
        router_id=d.loopback,
        reference_bandwidth_mbps=e.ospf.reference_bandwidth_mbps,
        networks=tuple(dict.fromkeys(nets)),
        passive=tuple(i.name for i in interfaces if i.ospf and i.ospf.passive),
    )


def _management(e: Estate, d: Device) -> ManagementIntent:
    site = e.sites[d.site]
    mp = e.management_plane
    prof = e.snmp_profiles.get(d.snmp_profile)
    snmp = (
        SnmpIntent(prof.user, prof.auth_protocol, prof.priv_protocol, prof.auth_key.ref, prof.priv_key.ref)
        # Only SNMPv3 authPriv is rendered; a weaker profile is an explicit exception that a
        # device's own configuration carries (monitor posture lists it).
        if prof and prof.auth_key and prof.priv_key and prof.security_level == "authPriv" and "snmp" in d.management
        else None
    )

    def addresses(names: tuple[str, ...]) -> tuple[IPv4Address, ...]:
        return tuple(e.devices[n].mgmt_ip for n in names if n != d.name)

    return ManagementIntent(
        interface=facts(d.platform).mgmt_interface,
        address=IPv4Interface((int(d.mgmt_ip), site.mgmt_block.prefixlen)),
        gateway=site.mgmt_block.network_address + 1,  # the first host is kept for the gateway
        allowed_from=e.mgmt_block,
        protocols=d.management,
        snmp=snmp,
        banner=mp.banner if mp else None,
        max_failures=mp.login.max_failures if mp else None,
        lockout_minutes=mp.login.lockout_minutes if mp else None,
        idle_timeout_minutes=mp.login.idle_timeout_minutes if mp else None,
        users=tuple(AdminIntent(u.name, u.role, u.password.ref) for u in mp.users) if mp else (),
        ntp=addresses(mp.ntp) if mp else (),
        syslog=addresses(mp.syslog) if mp else (),
    )


def _firewall(e: Estate, d: Device) -> FirewallIntent:
    iface_of = {i.zone: i.name for i in d.interfaces if i.zone}
    return FirewallIntent(rules=firewall_rules(e, d), zones=tuple(iface_of.items()))


def firewall_rules(e: Estate, d: Device) -> tuple[ZoneRule, ...]:
    """The rules the policies of d's site put on firewall d (the validator checks each policy lands
    on every firewall it crosses, with this same function)."""
    iface_of = {i.zone: i.name for i in d.interfaces if i.zone}
    return tuple(r for pol in e.policies if pol.site == d.site and (r := _zone_rule(e, d, iface_of, pol)))


def _zone_rule(e: Estate, d: Device, iface_of: dict[str, str], pol: Policy) -> ZoneRule | None:
    """The rule a policy puts on this firewall, or None when its flow does not cross it."""
    src, dst = pol.from_zone, pol.to_zone

    def rule(a: str, b: str, **match: tuple[IPv4Network, ...]) -> ZoneRule:
        return ZoneRule(a, b, iface_of[a], iface_of[b], pol.services, pol.why, src, dst, **match)

    if src in iface_of and dst in iface_of:
        return rule(src, dst)
    # One firewall per zone border (the province DC): the flow enters or leaves by the transit zone
    # the firewall sits in, where every other zone's traffic arrives too, so the far zone's own
    # networks are what the rule matches on.
    transit = d.zone
    if transit is None or transit not in iface_of or transit in (src, dst):
        return None  # a policy naming the transit zone itself never crosses this border
    far = e.sites[d.site].zones
    if src in iface_of:
        return rule(src, transit, destinations=(far[dst].block,))
    if dst in iface_of:
        return rule(transit, dst, sources=(far[src].block,))
    return None
