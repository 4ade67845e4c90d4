"""The names non-device rules may use in `check:`, known to the registry before any evidence is read.

`core_check` names a check module of the core (jinbao/checks/) that `jinbao inventory validate`
runs: the rule reuses it, so its logic lives once. The probes are the evidence readers of
compliance/sources/ that know the servers' testinfra results, the CA, DR drills and monitoring
posture. A `testinfra` rule's `field:` picks the checks it reads by their label ("role: test").
"""

from __future__ import annotations

from types import MappingProxyType

CORE_CHECKS = ("written", "design", "uplinks", "management_plane", "dr", "routes")

PROBES = MappingProxyType(
    {
        "inventory": (),
        "servers": ("testinfra",),
        "pki": (
            "ca_keys",
            "cert_validity",
            "crl_fresh",
            "audit_chain",
            "ocsp_answers",
            "role_separation",
            "revoked_deployed",
        ),
        "dr": ("drill_recent",),
        "monitoring": ("snmp_v3_only", "coverage", "alert_delivery"),
    }
)
