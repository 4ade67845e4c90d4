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


DR_GROUPS = ("dr_primary", "dr_standby")


def pair_group(pair: str) -> str:
    return f"dr_pair_{pair}".replace("-", "_")


def dr_groups_and_vars(e: Estate) -> tuple[dict[str, list[str]], dict[str, list[dict]]]:
    """({group: hosts}, {host: jinbao_dr_pairs}) for every DR pair of the estate."""
    groups: dict[str, list[str]] = {g: [] for g in DR_GROUPS}
    per_host: dict[str, list[dict]] = {}
    for p in e.dr_pairs:
        groups[pair_group(p.name)] = [p.primary, p.standby]
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


def pair_at(estate_ref: str, mgmt_addr: str, mgmt_addresses: bool = False) -> tuple[str, dict | None]:
    """For the DR roles' testinfra suites: (device name, its first DR pair as the inventory gives
    it, or None) of the estate's device with management address mgmt_addr. With mgmt_addresses,
    the pair's own and peer addresses are the management ones (the lab replicates there, beside
    lab/db.py's clusters on the data addresses)."""
    from .ansible_inventory import build  # it imports this module
    from .estate import load_estate

    estate = load_estate(estate_ref)
    name = next((d.name for d in estate.devices.values() if str(d.mgmt_ip) == mgmt_addr), None)
    if name is None:
        raise LookupError(f"no device of estate {estate.name} has management address {mgmt_addr}")
    pairs = build(estate)[1][name].get("jinbao_dr_pairs", [])
    if not pairs:
        return name, None
    p = dict(pairs[0])
    if mgmt_addresses:
        p["address"], p["peer_address"] = mgmt_addr, str(estate.devices[p["peer"]].mgmt_ip)
    return name, p
