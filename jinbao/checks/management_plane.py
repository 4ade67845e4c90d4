"""The management plane's references and MLPS rules: time and log servers in a management zone,
separated administrator roles, no default accounts."""

from __future__ import annotations

from ..model import Estate
from ..names import did_you_mean
from ..problems import ProblemList
from . import at

# MLPS 2.0 level 3 (8.1.4.2 b): default accounts are renamed or removed. Names a scanner tries first.
DEFAULT_ACCOUNTS = frozenset(
    {"admin", "administrator", "root", "cisco", "huawei", "h3c", "guest", "user", "test", "manager", "super"}
)
ROLES = ("system", "security", "audit")


def check(e: Estate, p: ProblemList, where) -> None:
    mp = e.management_plane
    if mp is None:
        return
    src = where.management_plane
    mgmt_hosts = [
        d.name
        for d in e.devices.values()
        if d.zone
        and d.site in e.sites
        and e.sites[d.site].zones.get(d.zone, None) is not None
        and e.sites[d.site].zones[d.zone].kind == "management"
    ]
    for fieldname in ("ntp", "syslog"):
        listed: set[str] = set()
        for i, name in enumerate(getattr(mp, fieldname)):
            origin = at(src, mp.origin, fieldname, i)
            dev = e.devices.get(name)
            if name in listed:
                # A repeated server looks like redundancy in review but is one point of failure,
                # and devices reject (or silently merge) the second identical line.
                p.add(
                    origin,
                    f"management_plane.{fieldname}",
                    f"{name} is listed twice",
                    "list each server once; for redundancy name a second, different server",
                    "reference",
                )
                continue
            listed.add(name)
            if dev is None:
                if not where.lost(name):
                    p.add(
                        origin,
                        f"management_plane.{fieldname}",
                        f"{name!r} is not a device of the estate",
                        did_you_mean(name, mgmt_hosts, "name a server in a management zone"),
                        "reference",
                    )
            elif name not in mgmt_hosts:
                p.add(
                    origin,
                    f"management_plane.{fieldname}",
                    f"{name} is in zone {dev.site}/{dev.zone or '-'}, not a management zone",
                    "name a server in a management zone (central collection, MLPS)"
                    + (f", such as {mgmt_hosts[0]}" if mgmt_hosts else ""),
                    "design",
                )
    seen: dict[str, int] = {}
    password_of: dict[str, str] = {}
    for i, u in enumerate(mp.users):
        # Separated administrators (MLPS 8.1.4.2 c) who log in with one password are one person
        # to the device. The reference is not printed: nothing in a secret field is echoed.
        other = password_of.setdefault(u.password.ref, u.name)
        if other != u.name:
            p.add(
                at(src, mp.origin, "users", i, "password"),
                "management_plane.users.password",
                f"user {u.name} has the same password reference as user {other}, so the two accounts share "
                "one password",
                "give each administrator a password of their own (a reference of its own)",
                "design",
            )
        if u.name in seen:
            p.add(
                at(src, mp.origin, "users", i, "name"),
                "management_plane.users.name",
                f"user {u.name} is listed twice",
                "give each administrator one account with one role",
                "reference",
            )
        seen.setdefault(u.name, i)
        if u.name in DEFAULT_ACCOUNTS:
            p.add(
                at(src, mp.origin, "users", i, "name"),
                "management_plane.users.name",
                f"{u.name!r} is a default account name, the first a password guesser tries",
                "use a personal or role name such as netadmin, secadmin, auditor (MLPS: no default accounts)",
                "design",
            )
    missing = [r for r in ROLES if r not in {u.role for u in mp.users}]
    if missing:
        p.add(
            at(src, mp.origin, "users"),
            "management_plane.users",
            f"no administrator with role {', '.join(missing)}; MLPS 2.0 level 3 separates system, security and "
            "audit administrators",
            f"add a user with role: {missing[0]}",
            "design",
        )
