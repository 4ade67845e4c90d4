"""Write a synthetic national estate: the province's shape repeated until it passes N devices.

Each copy reuses the province's own site templates (city, county) and its provincial DC, with
names prefixed per province, so the benchmark loads the same kind of YAML people write.
"""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

PROVINCE = Path(__file__).resolve().parent.parent / "inventory" / "province"


def _rename(node, old: str, new: str):
    if isinstance(node, dict):
        return {k: _rename(v, old, new) for k, v in node.items()}
    if isinstance(node, list):
        return [_rename(v, old, new) for v in node]
    if isinstance(node, str):
        return node.replace(old, new)
    return node


def write(target: Path, min_devices: int = 40_000) -> int:
    """Write the estate into target; returns how many province copies it holds."""
    target.mkdir(parents=True, exist_ok=True)
    load = lambda name: yaml.safe_load((PROVINCE / name).read_text())  # noqa: E731
    est = load("estate.yml")
    est["estate"].update(
        name="national",
        supernet="10.0.0.0/8",
        management={"block": "100.64.0.0/10", "site_prefix": 24, "protocols": ["ssh", "snmp"]},
        links={"block": "10.255.0.0/16", "prefix": 30},
    )
    (target / "estate.yml").write_text(yaml.safe_dump(est, allow_unicode=True))
    prov_site = load("sites-1-province.yml")["sites"][0]
    templates = {**load("sites-2-cities.yml")["site_templates"], **load("sites-3-counties.yml")["site_templates"]}
    cities = [s["name"] for s in load("sites-2-cities.yml")["sites"]]
    counties = {s["parent"]: s["names"] for s in load("sites-3-counties.yml")["sites"]}
    (target / "templates.yml").write_text(yaml.safe_dump({"site_templates": templates}, allow_unicode=True))
    copies = -(-min_devices // 1190)  # one copy resolves to ~1,190 devices (no per-city DR hosts)
    for i in range(copies):
        p = f"p{i:02d}"
        site = _rename(copy.deepcopy(prov_site), "prov-", f"{p}-")
        site["name"] = p
        sites = [site]
        links, pairs = [], []
        for j, c in enumerate(cities):
            cn = f"{p}-{c}"
            # Areas are unique across the copies: the estate is one routing design, and the
            # validator refuses a city area given twice.
            sites.append({"name": cn, "template": "city", "ospf_area": i * len(cities) + j + 1})
            links.append(
                {"a": f"{p}-wan1", "b": f"{cn}-wan1", "carrier": "telecom", "bandwidth": 1000, "role": "primary"}
            )
            links.append(
                {"a": f"{p}-wan2", "b": f"{cn}-wan2", "carrier": "unicom", "bandwidth": 1000, "role": "backup"}
            )
            sites.append({"template": "county", "parent": cn, "names": [f"{p}-{k}" for k in counties[c]]})
            for k in counties[c]:
                links.append({"a": f"{cn}-wan1", "b": f"{p}-{k}-ar1", "carrier": "telecom", "bandwidth": 100})
                links.append(
                    {"a": f"{cn}-wan2", "b": f"{p}-{k}-ar1", "carrier": "unicom", "bandwidth": 50, "role": "backup"}
                )
            for n in (1, 2):
                pairs.append(
                    {
                        "name": f"{cn}-db{n}",
                        "primary": f"{cn}-db{n}",
                        "standby": f"{p}-dr-cdb{j + 1}",
                        "level": 4,
                        "rto": "4h",
                        "rpo": "1h",
                        "replication": "async",
                    }
                )
        dr = {
            "name": f"{p}-dr",
            "kind": "dr",
            "loopbacks": 28,
            "zones": [
                {"name": "core", "kind": "core", "vlan": 10, "prefix": 27},
                {"name": "production", "kind": "production", "vlan": 110, "prefix": 25, "firewall": f"{p}-dr-fw1"},
            ],
            "devices": [
                {
                    "name": f"{p}-dr-wan1",
                    "role": "wan_router",
                    "platform": "huawei_vrp",
                    "zone": "core",
                    "loopback": True,
                },
                {"name": f"{p}-dr-fw1", "role": "firewall", "platform": "huawei_vrp", "zone": "core", "loopback": True},
                {"name": f"{p}-dr-db{{n}}", "count": 4, "role": "db_server", "platform": "linux", "zone": "production"},
                {
                    "name": f"{p}-dr-cdb{{n}}",
                    "count": len(cities),
                    "role": "db_server",
                    "platform": "linux",
                    "zone": "production",
                },
            ],
        }
        sites.append(dr)
        links.append({"a": f"{p}-wan3", "b": f"{p}-dr-wan1", "type": "dr", "carrier": "dedicated", "bandwidth": 10000})
        for n in range(1, 5):
            pairs.append(
                {
                    "name": f"{p}-core-db{n}",
                    "primary": f"{p}-db{n}",
                    "standby": f"{p}-dr-db{n}",
                    "level": 5,
                    "rto": "30m",
                    "rpo": "0s",
                    "replication": "sync",
                }
            )
        (target / f"{p}.yml").write_text(
            yaml.safe_dump({"sites": sites, "links": links, "dr_pairs": pairs}, allow_unicode=True, width=200)
        )
    return copies
