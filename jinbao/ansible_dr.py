"""Host variables and groups for the DR roles (postgresql, keepalived): which servers are a DR
pair's primary and standby, from the estate's `dr_pairs`, so playbooks/dr-prepare.yml picks its
hosts from the inventory and never names them.

Groups: `dr_primary` and `dr_standby` (the pair roles), and `dr_pair_<name>` (both nodes of a
pair). Host variable `jinbao_dr_pairs`: one entry per pair the host belongs to (a DR-centre
standby may serve several primaries in the province estate), each with the host's role in it,
both nodes' data addresses and the pair's service address.
"""

from __future__ import annotations

from ipaddress import IPv4Address

from .model import Device, DrPair, Estate


def data_address(d: Device) -> str | None:
    """The device's first data address (replication and clients use it, never the management one)."""
    return next((str(i.ip.ip) for i in d.interfaces if i.ip), None)


def service_address(e: Estate, pair: DrPair) -> IPv4Address:
    """The pair's service /32: the last host of the primary site's loopback pool. Loopbacks are
    handed out from the start of the pool, so the validator's pool sizes keep it free; lab/db.py
    uses the same address for the lab's own drills."""
    return e.sites[e.devices[pair.primary].site].loopback_pool.broadcast_address - 1


def dr_groups_and_vars(e: Estate) -> tuple[dict[str, list[str]], dict[str, list[dict]]]:
    """({group: hosts}, {host: jinbao_dr_pairs}) for every DR pair of the estate."""
    groups: dict[str, list[str]] = {"dr_primary": [], "dr_standby": []}
    per_host: dict[str, list[dict]] = {}
    for p in e.dr_pairs:
        groups[f"dr_pair_{p.name}".replace("-", "_")] = [p.primary, p.standby]
        addresses = {n: data_address(e.devices[n]) for n in (p.primary, p.standby)}
        for role, me, peer in (("primary", p.primary, p.standby), ("standby", p.standby, p.primary)):
            if me not in groups[f"dr_{role}"]:
                groups[f"dr_{role}"].append(me)
            per_host.setdefault(me, []).append(
                {
                    "name": p.name,
                    "role": role,
                    "peer": peer,
                    "address": addresses[me],
                    "peer_address": addresses[peer],
                    "primary": p.primary,
                    "standby": p.standby,
                    "replication": p.replication,
                    # the standby's name in synchronous_standby_names and pg_stat_replication
                    "application_name": p.standby.replace("-", "_"),
                    "service_address": str(service_address(e, p)),
                    "level": p.level,
                    "rpo_s": p.rpo_s,
                    "rto_s": p.rto_s,
                }
            )
    return groups, per_host
