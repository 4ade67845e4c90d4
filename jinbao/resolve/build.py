"""The frozen Estate, from the drafts, with policies, DR pairs, SNMP profiles and OSPF settings."""

from __future__ import annotations

from typing import Literal, cast

from ..model import (
    AdminUser,
    ChangeWave,
    Device,
    DrPair,
    Estate,
    LoginPolicy,
    ManagementPlane,
    MonitoringSettings,
    Ospf,
    Policy,
    SecretRef,
    Service,
    Site,
    SnmpProfile,
    StaticRoute,
    Thresholds,
    Zone,
)
from ..names import did_you_mean
from .state import State


def build_estate(r: State) -> Estate:
    est = r.est
    sites = {}
    for s in r.sites.values():
        zones = {}
        for z, zsrc in s.zones:
            r.where.zones[(s.name, z.name)] = zsrc
            block = s.zone_blocks.get(z.name)
            if block is None:
                r.where.unbuilt.add(f"{s.name}/{z.name}")
                continue
            zones[z.name] = Zone(
                name=z.name,
                site=s.name,
                kind=z.kind,
                vlan=z.vlan,
                block=block,
                firewall=r.zone_firewalls.get((s.name, z.name)),
                origin=zsrc.at(),
            )
        if s.block is None or s.mgmt_block is None or s.loop_pool is None:
            if not r.p:  # never drop a site silently
                r.p.add(
                    s.origin,
                    "block",
                    f"site {s.name} could not be given addresses",
                    "check its parent, prefix and block",
                    "ip_plan",
                )
            r.where.unbuilt.add(s.name)
            continue
        assert s.area != "auto"  # sites._areas numbered every site
        sites[s.name] = Site(
            name=s.name,
            kind=s.kind,
            title=s.title,
            parent=s.parent,
            block=s.block,
            loopback_pool=s.loop_pool,
            mgmt_block=s.mgmt_block,
            ospf_area=s.area,
            zones=zones,
            origin=s.origin,
        )
    devices = {}
    for d in r.devices.values():
        if d.mgmt_ip is None or d.site not in sites:
            r.where.unbuilt.add(d.name)
            continue
        rd = d.raw
        devices[d.name] = Device(
            name=d.name,
            site=d.site,
            role=rd.role,
            platform=rd.platform,
            vendor=rd.vendor,
            model=rd.model,
            zone=d.zone,
            fqdn=f"{d.name}.{est.domain}",
            mgmt_ip=d.mgmt_ip,
            loopback=d.loopback,
            interfaces=tuple(d.interfaces),
            snmp_profile=rd.snmp_profile or est.snmp_profile,
            management=tuple(rd.management or est.management.protocols),
            static_routes=tuple(
                StaticRoute(prefix=sr.prefix, via=sr.via, distance=sr.distance) for sr in rd.static_routes
            ),
            announce=tuple(rd.announce),
            origin=d.origin,
        )
    policies = []
    for rp, src in r.raw.policies:
        services = []
        for svc in rp.services:
            proto, _, ports = svc.partition("/")
            rng = None
            if ports:
                lo, _, hi = ports.partition("-")
                rng = (int(lo), int(hi or lo))
            # The schema's service pattern admits only these three protocols; Service checks it again.
            services.append(Service(proto=cast(Literal["tcp", "udp", "icmp"], proto), ports=rng))
        if rp.for_each is not None:
            r.where.policy_each[src.at()] = rp.for_each.kind
        for vars_ in r.for_each(rp.for_each, {}):
            site = r.subst(rp.site, vars_, src, "site")
            if site is not None:
                policies.append(
                    Policy(
                        site=site,
                        from_zone=rp.from_,
                        to_zone=rp.to,
                        services=tuple(services),
                        why=rp.why,
                        origin=src.at(),
                    )
                )
    pairs = []
    for rdp, src in r.raw.dr_pairs:
        for vars_ in r.for_each(rdp.for_each, {}):
            vals = [r.subst(getattr(rdp, f), vars_, src, f) for f in ("name", "primary", "standby")]
            if None in vals:
                continue
            pairs.append(
                DrPair(
                    name=vals[0],
                    primary=vals[1],
                    standby=vals[2],
                    level=rdp.level,
                    rto_s=rdp.rto,
                    rpo_s=rdp.rpo,
                    replication=rdp.replication,
                    origin=src.at(),
                )
            )
            r.where.dr_pairs.append(src)
    profiles = {
        name: SnmpProfile(
            name=name,
            version=p.version,
            user=p.user or "",
            security_level=p.security_level,
            auth_protocol=p.auth_protocol,
            priv_protocol=p.priv_protocol,
            auth_key=SecretRef(ref=p.auth_key) if p.auth_key else None,
            priv_key=SecretRef(ref=p.priv_key) if p.priv_key else None,
            community=SecretRef(ref=p.community) if p.community else None,
            insecure_because=p.insecure_because or "",
            origin=src.at(),
        )
        for name, (p, src) in r.raw.snmp_profiles.items()
    }
    ro = r.raw.routing[0].ospf if r.raw.routing else None
    ospf = (
        Ospf(process=ro.process, reference_bandwidth_mbps=ro.reference_bandwidth, hello_s=ro.hello, dead_s=ro.dead)
        if ro
        else Ospf()
    )
    return Estate(
        name=est.name,
        title=est.title,
        domain=est.domain,
        supernet=est.supernet,
        mgmt_block=est.management.block,
        link_block=est.links.block,
        sites=sites,
        devices=devices,
        links=tuple(r.links),
        policies=tuple(policies),
        dr_pairs=tuple(pairs),
        snmp_profiles=profiles,
        ospf=ospf,
        management_plane=_management_plane(r),
        change_waves=_change_waves(r, sites),
        monitoring=_monitoring(r),
        source=str(r.raw.root),
    )


def _change_waves(r: State, sites: dict) -> tuple[ChangeWave, ...]:
    waves, seen = [], set()
    for w, src in r.raw.change_waves:
        if not (w.kinds or w.sites or w.roles):
            r.p.add(src.at(), "change_waves", f"wave {w.name} selects no device", "give it kinds:, sites: or roles:")
            continue
        if w.name in seen or w.name == "other":
            r.p.add(src.at("name"), "change_waves.name", f"wave {w.name} is named twice (or is the reserved name"
                    " 'other', for devices no wave matches)", "give each wave its own name")  # fmt: skip
        seen.add(w.name)
        for i, site in enumerate(w.sites):
            if site not in sites:
                r.p.add(src.at("sites", i), "change_waves.sites", f"wave {w.name} names site {site!r}, which the"
                        f" estate does not have; {did_you_mean(site, sites)}", "name a site of the estate")  # fmt: skip
        waves.append(ChangeWave(name=w.name, kinds=tuple(w.kinds), sites=tuple(w.sites), roles=tuple(w.roles),
                                origin=src.at()))  # fmt: skip
    return tuple(waves)


def _management_plane(r: State) -> ManagementPlane | None:
    if r.raw.management_plane is None:
        return None
    mp, src = r.raw.management_plane
    return ManagementPlane(
        ntp=tuple(mp.ntp),
        syslog=tuple(mp.syslog),
        banner=mp.banner,
        login=LoginPolicy(
            max_failures=mp.login.max_failures,
            lockout_minutes=mp.login.lockout_minutes,
            idle_timeout_minutes=mp.login.idle_timeout_minutes,
        ),
        users=tuple(AdminUser(name=u.name, role=u.role, password=SecretRef(ref=u.password)) for u in mp.users),
        ospf_auth_key=SecretRef(ref=mp.ospf_auth_key) if mp.ospf_auth_key else None,
        origin=src.at(),
    )


def _monitoring(r: State) -> MonitoringSettings | None:
    if r.raw.monitoring is None:
        return None
    m, src = r.raw.monitoring

    def th(raw) -> Thresholds:
        return Thresholds(**raw.model_dump(exclude_none=True))

    return MonitoringSettings(
        interval_s=m.interval_s,
        thresholds=th(m.thresholds),
        sites={n: th(t) for n, t in m.sites.items()},
        devices={n: th(t) for n, t in m.devices.items()},
        origin=src.at(),
        origins={f"{k}.{n}": src.at(k, n) for k in ("sites", "devices") for n in getattr(m, k)},
    )
