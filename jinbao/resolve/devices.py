"""Devices: names from templates, counts and for_each, then their management, loopback and zone
addresses (explicit ones first, so automatic ones step around them).
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv4Interface

from ..ipalloc import Hosts
from ..loader import Src
from ..names import MAX_NAME
from .state import DevDraft, SiteDraft, State, interface_ip, suggest

# RFC 1123 host name label; the FQDN (name + domain) must also stay within 253 characters.
_HOSTNAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def build_devices(r: State):
    r.devices = {}
    lower: dict[str, str] = {}
    for s in r.sites.values():
        base = {"site": s.name, "parent": s.parent_var(), "title": s.title}
        for rd, origin, dsrc in s.devices:
            for vars_ in r.for_each(rd.for_each, base):
                counts = range(1, rd.count + 1) if rd.count else [None]
                if rd.count and rd.count > 1 and "{n}" not in rd.name:
                    r.p.add(
                        dsrc.at("count"),
                        "count",
                        f"device {rd.name!r} has count {rd.count} but no {{n}} in its name",
                        "put {n} in the name so each copy gets its own",
                    )
                    break
                for n in counts:
                    v = {**vars_, "n": n} if n is not None else vars_
                    name = r.subst(rd.name, v, dsrc, "name")
                    zone = r.subst(rd.zone, v, dsrc, "zone")
                    if name is None:
                        break
                    if not _hostname_ok(r, name, dsrc):
                        r.where.unbuilt.add(name)
                        continue
                    if name.lower() in lower:
                        first = r.devices[lower[name.lower()]]
                        r.p.add(
                            dsrc.at("name"),
                            "name",
                            f"device {name!r} is already defined at {first.src.at('name')}",
                            "give every device a unique name",
                        )
                        r.where.duplicated.add(first.name)
                        continue
                    if zone is not None and zone not in s.zone_blocks and s.block is not None:
                        r.p.add(
                            dsrc.at("zone"),
                            "zone",
                            f"device {name!r} is in zone {zone!r}, which site {s.name} does not have",
                            suggest(zone, s.zone_blocks),
                            "reference",
                        )
                        zone = None
                    r.devices[name] = DevDraft(name, s.name, rd, zone, origin, dsrc)
                    lower[name.lower()] = name
                    r.where.devices[name] = dsrc


def _hostname_ok(r: State, name: str, dsrc: Src) -> bool:
    if len(name) > MAX_NAME:
        r.p.add(
            dsrc.at("name"),
            "name",
            f"device name {name!r} is {len(name)} characters long; a host name has at most {MAX_NAME}",
            "shorten the name (or the site name it is made from)",
        )
        return False
    if not _HOSTNAME.match(name):
        r.p.add(
            dsrc.at("name"),
            "name",
            f"device name {name!r} is not a valid host name",
            f"use lower-case letters, digits and '-', not at the start or end, {MAX_NAME} characters at most",
        )
        return False
    fqdn = f"{name}.{r.est.domain}"
    if len(fqdn) > 253:  # RFC 1035; with a sane name, the domain is what is too long
        r.p.add(
            r.est_src.at("domain"),
            "estate.domain",
            f"the domain makes device FQDNs such as {name}.… {len(fqdn)} characters long, over the 253 DNS allows",
            "shorten the domain",
            "schema",
        )
        return False
    return True


def address_devices(r: State):
    by_site: dict[str, list[DevDraft]] = {}
    for d in r.devices.values():
        by_site.setdefault(d.site, []).append(d)
    for s in r.sites.values():
        devs = by_site.get(s.name, [])
        mgmt = Hosts(s.mgmt_block, skip_first=1) if s.mgmt_block else None
        loops = Hosts(s.loop_pool) if s.loop_pool else None
        zone_hosts = {z: Hosts(b) for z, b in s.zone_blocks.items() if b is not None}
        for d in devs:  # explicit addresses first, so automatic ones step around them
            _explicit_addresses(r, d, s)
            if d.raw.mgmt_ip and mgmt:
                mgmt.take(d.raw.mgmt_ip)
            if isinstance(d.raw.loopback, IPv4Address) and loops:
                loops.take(d.raw.loopback)
            if d.raw.ip and d.zone in zone_hosts:
                zone_hosts[d.zone].take(d.raw.ip.ip)
        gateways = {}
        for z, zsrc in s.zones:
            if z.firewall is None or z.name not in zone_hosts:
                continue
            fw = r.subst(
                z.firewall, {"site": s.name, "parent": s.parent_var()}, zsrc.at("firewall"), f"zones.{z.name}.firewall"
            )
            gateways[z.name] = fw
        for zname, fw in gateways.items():
            r.zone_firewalls[(s.name, zname)] = fw
        for d in devs:
            d.mgmt_ip = d.raw.mgmt_ip or (mgmt.next() if mgmt else None)
            if d.mgmt_ip is None and mgmt:
                r.p.add(
                    r.est_src.at("management", "site_prefix"),
                    "estate.management.site_prefix",
                    f"the management subnet {s.mgmt_block} of {s.name} is full",
                    "use a shorter management.site_prefix (a bigger subnet per site)",
                    "ip_plan",
                )
            if isinstance(d.raw.loopback, IPv4Address):
                d.loopback = d.raw.loopback
            elif d.raw.loopback and loops:
                d.loopback = loops.next()
                if d.loopback is None:
                    origin, fieldname = s.loopbacks_at
                    r.p.add(
                        origin,
                        fieldname,
                        f"the loopback pool {s.loop_pool} of {s.name} is full",
                        "enlarge the site's loopbacks pool (a shorter prefix)",
                        "ip_plan",
                    )
        # The border firewall takes the first host of each zone it guards: the zone gateway.
        guarded: dict[str, list[tuple[str, IPv4Interface | None]]] = {}
        for zname, fw in gateways.items():
            fwd = r.devices.get(fw)
            if fwd is None or fwd.site != s.name:
                continue  # reported by the checks, with the zone's source line
            ip = zone_hosts[zname].next()
            guarded.setdefault(fw, []).append((zname, interface_ip(ip, zone_hosts[zname].net) if ip else None))
        zone_src = {z.name: zsrc for z, zsrc in s.zones}
        # Interfaces in order: the device's own zone, then the zones it guards (links come later).
        for d in devs:
            if d.zone is not None and d.zone in zone_hosts and gateways.get(d.zone) != d.name:
                h = zone_hosts[d.zone]
                ip = d.raw.ip
                if ip is None:
                    a = h.next()
                    if a is None:
                        r.p.add(
                            zone_src[d.zone].at("prefix"),
                            f"zones.{d.zone}.prefix",
                            f"zone {s.name}/{d.zone} ({h.net}) has no free address for {d.name}",
                            "enlarge the zone (a shorter prefix)",
                            "ip_plan",
                        )
                    ip = interface_ip(a, h.net) if a else None
                if ip is not None:
                    r.add_interface(d, ip, zone=d.zone, description=f"zone {d.zone}")
            for zname, ip in guarded.get(d.name, []):
                r.add_interface(d, ip, zone=zname, description=f"gateway of zone {zname}")


def _explicit_addresses(r: State, d: DevDraft, s: SiteDraft):
    """An address written by hand must be a usable host of its subnet, and must be used."""

    def edge(addr, net, what, fieldname, gateway=False):
        if net is None or addr not in net or net.prefixlen >= 31:
            return  # outside its subnet: the IP-plan check says so, with the subnet
        special = {net.network_address: "network address", net.broadcast_address: "broadcast address"}
        if gateway:
            special[net.network_address + 1] = "gateway (first host, kept for the router)"
        if addr in special:
            r.p.add(
                d.src.at(fieldname),
                fieldname,
                f"{d.name} {what} {addr} is the {special[addr]} of {net}",
                f"use another host address of {net}, or drop it to allocate one",
                "ip_plan",
            )

    rd = d.raw
    if rd.ip is not None and rd.zone is None:
        r.p.add(
            d.src.at("ip"),
            "ip",
            f"{d.name} has ip: {rd.ip} but no zone:, so the address would be ignored",
            "add the zone whose block holds the address, or remove ip:",
            "ip_plan",
        )
    elif rd.ip is not None and d.zone in s.zone_blocks:
        edge(rd.ip.ip, s.zone_blocks[d.zone], "address", "ip")
    if rd.mgmt_ip is not None:
        edge(rd.mgmt_ip, s.mgmt_block, "management address", "mgmt_ip", gateway=True)
    if isinstance(rd.loopback, IPv4Address):
        edge(rd.loopback, s.loop_pool, "loopback", "loopback")
