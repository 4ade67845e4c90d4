"""The names non-device rules may use in `check:`, known to the registry before any evidence is read.

`core_check` names a check module of the core (jinbao/checks/) that `jinbao inventory validate`
runs: the rule reuses it, so its logic lives once. The probes are the evidence readers of
compliance/sources/ that know the CA, DR drills and monitoring posture.
"""

from __future__ import annotations

from types import MappingProxyType

CORE_CHECKS = ("written", "design", "uplinks", "management_plane", "dr", "routes")

PROBES = MappingProxyType(
    {
        "inventory": (),
        "pki": ("ca_keys", "cert_validity", "crl_fresh", "audit_chain"),
        "dr": ("drill_recent",),
        "monitoring": ("snmp_v3_only", "coverage"),
    }
)
