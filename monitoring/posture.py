"""What weakens monitoring of the estate, as a list of findings: `jinbao monitor posture`.

- SNMP profiles weaker than SNMPv3 authPriv with SHA and AES (v2c, v1, authNoPriv, MD5, DES),
  each with the devices that use it and the reason the inventory gave (`insecure_because`);
- communities that are a vendor's default (public, private...): the secret is resolved and
  compared here, and never printed;
- agents that do not answer: from the last poll's active alerts (the state file of the source),
  or from a fresh poll;
- devices with no monitoring: a class without a profile, or a device whose management does not
  allow SNMP.

A finding is data (kind, severity, subject, message, fix); only the CLI prints it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from jinbao.classes import device_class
from jinbao.errors import JinbaoError
from jinbao.model import Estate, SnmpProfile
from jinbao.result import AggregatedResult
from jinbao.secrets import resolve_from
from jinbao.target import Target

from .profiles import profile_of

# Communities agents ship with, or that people set first; a scanner tries these before anything.
DEFAULT_COMMUNITIES = frozenset({"public", "private", "community", "snmp", "admin", "manager", "cisco", "default"})
# Alert keys (monitoring/alerts.py) that mean the agent does not answer as it should.
SILENT = {
    "unreachable": "does not answer",
    "snmp_credentials": "refuses the credentials",
    "snmp_malformed": "answers malformed data",
}


@dataclass(frozen=True)
class Finding:
    kind: str
    severity: str
    subject: str
    message: str
    fix: str
    devices: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        return asdict(self)


def _weak(p: SnmpProfile) -> list[tuple[str, str, str]]:
    """(kind, severity, what) for each weakness of a profile."""
    out = []
    if p.community_based:
        out.append((f"snmp_{p.version}", "major", f"SNMP{p.version}: the community travels in clear text"))
    else:
        if p.security_level == "authNoPriv":
            out.append(("snmp_auth_no_priv", "major", "authNoPriv: every value travels in clear text"))
        if p.auth_protocol == "md5":
            out.append(("snmp_md5", "minor", "MD5 authentication (broken hash)"))
        if p.security_level == "authPriv" and p.priv_protocol == "des":
            out.append(("snmp_des", "major", "DES privacy (56-bit key)"))
    return out


def profiles(estate: Estate, secret_of=None) -> list[Finding]:
    """Findings on the estate's SNMP profiles. secret_of(ref) resolves a community to compare it
    with the defaults (None: not compared); a community that cannot be resolved is said so."""
    users: dict[str, list[str]] = {}
    for d in estate.devices.values():
        users.setdefault(d.snmp_profile, []).append(d.name)
    out = []
    for name, p in sorted(estate.snmp_profiles.items()):
        devs = tuple(sorted(users.get(name, [])))
        why = f" (accepted: {p.insecure_because})" if p.insecure_because else ""
        for kind, sev, what in _weak(p):
            out.append(
                Finding(
                    kind,
                    sev,
                    f"snmp_profiles.{name}",
                    f"{what}; used by {len(devs)} device(s){why}",
                    "move the devices to SNMPv3 authPriv with SHA and AES where their agents allow it",
                    devs,
                )
            )
        if p.community is not None and secret_of is not None:
            try:
                value = secret_of(p.community.ref)
            except JinbaoError as e:
                msg = f"its community cannot be checked: {e}"
                out.append(
                    Finding("community_unresolved", "minor", f"snmp_profiles.{name}", msg, "set the secret", devs)
                )
                continue
            if value.strip().lower() in DEFAULT_COMMUNITIES:
                out.append(
                    Finding(
                        "default_community",
                        "critical",
                        f"snmp_profiles.{name}",
                        f"the community ({p.community.ref}) is a well-known default, which anyone may guess",
                        "set a long random community on the devices and in the secret store",
                        devs,
                    )
                )
    return out


def unmonitored(estate: Estate) -> list[Finding]:
    out = []
    for d in sorted(estate.devices.values(), key=lambda d: d.name):
        if profile_of(d) is None:
            out.append(
                Finding(
                    "no_profile",
                    "major",
                    d.name,
                    f"a {device_class(d)} with no monitoring profile: nothing is polled",
                    f"add monitoring/profiles/{device_class(d)}.yml",
                    (d.name,),
                )
            )
        elif "snmp" not in d.management:
            out.append(
                Finding(
                    "snmp_not_allowed",
                    "major",
                    d.name,
                    "its management protocols do not include snmp: its agent is not polled",
                    "add snmp to the device's management: list (or the estate's)",
                    (d.name,),
                )
            )
    return out


def silent_from_alerts(active: dict[str, dict]) -> list[Finding]:
    """Agents that did not answer at the last poll: its active failure alerts."""
    out = []
    for a in sorted(active.values(), key=lambda a: (a["device"], a["key"])):
        what = SILENT.get(a["key"])
        if what:
            out.append(
                Finding(
                    "agent_" + a["key"],
                    a["severity"],
                    a["device"],
                    f"its SNMP agent {what} (since {a['since']}): {a['message']}",
                    "check the agent, its address and its credentials",
                    (a["device"],),
                )
            )
    return out


def silent_from_poll(agg: AggregatedResult) -> list[Finding]:
    out = []
    for host in agg.failed_hosts:
        r = agg.results[host]
        status = (r.data or {}).get("status", "error")
        out.append(
            Finding(
                f"agent_{status}",
                "critical" if status in ("unreachable", "garbage", "deadline") else "major",
                host,
                f"its SNMP agent did not answer the poll: {r.why or status}",
                "check the agent, its address and its credentials",
                (host,),
            )
        )
    return out


def secret_resolver(found: dict[str, Target]):
    """Resolve a reference as the targets would (their secrets file first), else from the environment."""
    any_target = next(iter(found.values()), None)

    def resolve(ref: str) -> str:
        return any_target.secret(ref) if any_target is not None else resolve_from(ref, None)

    return resolve
