"""The estate as Ansible sees it: groups by site, role, zone and platform, with host variables.

One function computes it; the inventory plugin (ansible_plugins/inventory/jinbao.py) and the
static export (`jinbao inventory ansible`) both print what it returns, so there is no second
source of truth.
"""

from __future__ import annotations

from .ansible_dr import DR_GROUPS, dr_groups_and_vars, pair_group
from .ansible_security import firewall_vars, snmp_vars
from .model import Estate
from .platforms import facts


def group_name(kind: str, *parts: str) -> str:
    # Ansible warns on '-' in group names; underscores keep them valid identifiers.
    return "_".join((kind, *parts)).replace("-", "_")


def group_names(e: Estate) -> set[str]:
    """Every group name Ansible gets from the estate (build's), without the host variables: a
    device of one of these names would be both a host and a group, and a play for the group would
    run on the host or the other way round (checks/host_names.py refuses it)."""
    names = {"all", "ungrouped", *TOP_GROUPS, *DR_GROUPS, *(pair_group(p.name) for p in e.dr_pairs)}
    for d in e.devices.values():
        names |= {group_name("site", d.site), group_name("role", d.role), group_name("platform", d.platform)}
        if d.zone:
            names.add(group_name("zone", d.site, d.zone))
    return names


def build(e: Estate) -> tuple[dict[str, dict], dict[str, dict]]:
    """Return (groups, hostvars): groups map to {'hosts': [...], 'children': [...]}."""
    groups: dict[str, dict] = {k: {"hosts": [], "children": []} for k in TOP_GROUPS}
    hostvars: dict[str, dict] = {}

    def add(parent: str, g: str, host: str):
        if g not in groups:
            groups[g] = {"hosts": [], "children": []}
            groups[parent]["children"].append(g)
        groups[g]["hosts"].append(host)

    for d in e.devices.values():
        add("sites", group_name("site", d.site), d.name)
        add("roles", group_name("role", d.role), d.name)
        add("platforms", group_name("platform", d.platform), d.name)
        if d.zone:
            add("zones", group_name("zone", d.site, d.zone), d.name)
        hv = {
            "ansible_host": str(d.mgmt_ip),
            "jinbao_site": d.site,
            "jinbao_site_kind": e.sites[d.site].kind,
            "jinbao_role": d.role,
            "jinbao_platform": d.platform,
            "jinbao_zone": d.zone,
            "jinbao_vendor": d.vendor,
            "jinbao_model": d.model,
            "jinbao_fqdn": d.fqdn,
            "jinbao_loopback": str(d.loopback) if d.loopback else None,
            "jinbao_snmp_profile": d.snmp_profile,
            "jinbao_interfaces": [
                {"name": i.name, "ip": str(i.ip) if i.ip else None, "zone": i.zone, "link": i.link}
                for i in d.interfaces
            ],
        }
        hv |= snmp_vars(e, d) | (firewall_vars(e, d) if d.platform == "linux" else {})
        network_os = facts(d.platform).ansible_network_os
        if network_os:
            hv["ansible_network_os"] = network_os
            hv["ansible_connection"] = "ansible.netcommon.network_cli"
        hostvars[d.name] = hv
    dr_groups, dr_vars = dr_groups_and_vars(e)
    for g, hosts in dr_groups.items():
        for h in hosts:
            add("dr", g, h)
    for h, pairs in dr_vars.items():
        hostvars[h]["jinbao_dr_pairs"] = pairs
    return groups, hostvars


def management_vars(e: Estate) -> dict:
    """Variables for group `all`: the management plane every server role follows (NTP servers and
    log collectors with their addresses, the banner, the login policy, the administrators).

    Passwords stay references (env:/file:/vault:); a role resolves one only on the controller, in a
    task that logs nothing."""
    mp = e.management_plane
    if mp is None:
        return {}

    def servers(names: tuple[str, ...]) -> list[dict]:
        return [{"name": n, "address": str(e.devices[n].mgmt_ip)} for n in names]

    return {
        "jinbao_management": {
            "ntp": servers(mp.ntp),
            "syslog": servers(mp.syslog),
            "banner": mp.banner,
            "login": mp.login.model_dump(),
            "users": [{"name": u.name, "role": u.role, "password": u.password.ref} for u in mp.users],
        }
    }


def as_list_json(e: Estate) -> dict:
    """The `ansible-inventory --list` shape, for a static export of the estate."""
    groups, hostvars = build(e)
    out: dict = {"_meta": {"hostvars": hostvars}, "all": {"children": ["ungrouped", *TOP_GROUPS]}}
    if mv := management_vars(e):
        out["all"]["vars"] = mv
    for g, body in groups.items():
        entry = {}
        if body["hosts"]:
            entry["hosts"] = body["hosts"]
        if body["children"]:
            entry["children"] = body["children"]
        out[g] = entry
    return out


TOP_GROUPS = ("sites", "roles", "zones", "platforms", "dr")


def as_yaml_inventory(e: Estate) -> dict:
    """A static YAML inventory (the plugin-less form), used by the benchmark against ansible-inventory."""
    groups, hostvars = build(e)

    def node(g):
        body = groups[g]
        out = {}
        if body["hosts"]:
            out["hosts"] = {h: (hostvars[h] if g.startswith("site_") else None) for h in body["hosts"]}
        if body["children"]:
            out["children"] = {c: node(c) for c in body["children"]}
        return out

    out: dict = {"all": {"children": {g: node(g) for g in TOP_GROUPS}}}
    if mv := management_vars(e):
        out["all"]["vars"] = mv
    return out
