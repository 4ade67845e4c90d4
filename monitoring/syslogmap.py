"""What a syslog message means, as the poller's and the trap receiver's alerts.

A message is matched against RULES, the known events, by its text; the first rule that matches
names the event and the alert changes it asks for (trapmap.Change), applied with trapmap.apply,
so a raise is deduplicated against whatever raised the same key first (a poll, a trap, another
message). Anything else is recorded and means no alert.

The texts are the daemons' own, as read from the lab's nodes (FRR 8.4, OpenSSH 9.2):
- FRR ospfd with `log-adjacency-changes` (netconfig renders it): `AdjChg: Nbr 10.90.24.1, NbrIP
  10.90.240.10 (default) on eth4:10.90.240.9: Full -> Deleted (KillNbr)`, and back with
  `Loading -> Full (LoadingDone)`. A neighbour leaving Full raises
  `ospf_adjacency:<interface>:<router-id>`; reaching Full again clears it.
- Cisco IOS (System Message Guide; no IOS runs here): `%OSPF-5-ADJCHG: Process 1, Nbr 10.0.0.2
  on GigabitEthernet0/1 from FULL to DOWN, Neighbor Down: …`, the same alert; `%LINK-3-UPDOWN:
  Interface GigabitEthernet0/1, changed state to down`, the linkDown trap's `if_down:<interface>`.
- OpenSSH sshd: `Failed password for jinbao from … port …`, `Invalid user mallory from … port …`,
  and on a key-only server `Connection closed by authenticating user jinbao 10.91.255.254 port
  33620 [preauth]`: `ssh_auth_failure`, momentary like the authenticationFailure trap (held,
  then cleared by the receiver).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .alerts import Condition
from .syslogparse import Message
from .trapmap import Change

FULL = "full"


@dataclass(frozen=True)
class Rule:
    event: str
    pattern: re.Pattern[str]
    apps: tuple[str, ...] | None  # the APP-NAMEs it applies to (prefix match); None: any sender
    meaning: Callable[[re.Match[str]], list[Change]]


def _adjacency(m: re.Match[str], source: str) -> list[Change]:
    ifc, rid, old, new = m["ifc"], m["rid"], m["old"].lower(), m["new"].lower()
    key = f"ospf_adjacency:{ifc}:{rid}"
    text = f"OSPF neighbour {rid} on {ifc}: {m['old']} -> {m['new']} ({m['why'].strip()}), by {source}"
    if new == FULL:
        return [Change("clear", Condition(key, text))]
    if old == FULL:
        return [Change("raise", Condition(key, text))]
    return []


def _link(m: re.Match[str]) -> list[Change]:
    state = m["state"]
    c = Condition(f"if_down:{m['ifc']}", f"interface {m['ifc']} changed state to {state}, by syslog %LINK-3-UPDOWN")
    return [Change("clear" if state == "up" else "raise", c)]


def _ssh(m: re.Match[str], invalid: bool = False, method: str | None = None) -> list[Change]:
    d = m.groupdict()
    who = f"{'invalid user ' if invalid or d.get('invalid') else ''}{d['user'] or '(none)'}"
    text = f"failed SSH {method or d.get('method') or 'login'} for {who} from {d['ip']}"
    return [Change("raise", Condition("ssh_auth_failure", text))]


_IP = r"\d{1,3}(?:\.\d{1,3}){3}"
_FROM = rf"(?P<ip>{_IP}|[0-9A-Fa-f:]+) port"
_FAILED = (
    r"Failed (?P<method>password|keyboard-interactive(?:/pam)?) for (?P<invalid>invalid user )?"
    rf"(?P<user>\S*) from {_FROM}"
)
# FRR 8.4 prints the neighbour's address and VRF after its router id; older FRR, the VRF only.
_FRR_ADJCHG = (
    rf"AdjChg: Nbr (?P<rid>{_IP})(?:, NbrIP \S+)? ?(?:\([^)]*\))? on (?P<ifc>[^\s:]+)(?::\S+)?: "
    r"(?P<old>[\w-]+) -> (?P<new>[\w-]+) \((?P<why>[^)]*)\)"
)
_IOS_ADJCHG = (
    rf"%OSPF-5-ADJCHG: Process \d+, Nbr (?P<rid>{_IP}) on (?P<ifc>\S+) "
    r"from (?P<old>\S+) to (?P<new>[^\s,]+),?(?P<why>.*)$"
)
RULES: tuple[Rule, ...] = (
    Rule(
        "ospf_adjacency",
        # ospfd: `Nbr <router-id>(<vrf>) on <ifname>:<address>: <old> -> <new> (<event>)`
        re.compile(_FRR_ADJCHG),
        None,
        lambda m: _adjacency(m, "ospfd AdjChg"),
    ),
    Rule(
        "ospf_adjacency",
        re.compile(_IOS_ADJCHG),
        None,
        lambda m: _adjacency(m, "%OSPF-5-ADJCHG"),
    ),
    Rule(
        "link_updown",
        re.compile(r"%LINK-3-UPDOWN: Interface (?P<ifc>[^,\s]+), changed state to (?P<state>up|down|admin[a-z]* down)"),
        None,
        _link,
    ),
    # A password (or keyboard-interactive) that was wrong. Not `Failed publickey`: a client
    # offers each of its keys in turn, and one refused before the right one is no failed login.
    Rule(
        "ssh_auth_failure",
        re.compile(_FAILED),
        ("sshd",),
        _ssh,
    ),
    Rule(
        "ssh_auth_failure",
        re.compile(rf"Invalid user (?P<user>\S*) from {_FROM}"),
        ("sshd",),
        lambda m: _ssh(m, invalid=True),
    ),
    # A key-only server (PasswordAuthentication no, as the estate's are) refuses a password before
    # checking it and logs no `Failed password`: what it logs is the client giving up (measured
    # on the lab's OpenSSH 9.2 with LogLevel VERBOSE, after a password login attempt).
    Rule(
        "ssh_auth_failure",
        re.compile(
            rf"(?:Connection closed by|Disconnecting) authenticating user (?P<user>\S+) {_FROM} \d+.*\[preauth\]"
        ),
        ("sshd",),
        lambda m: _ssh(m, method="login (every method refused)"),
    ),
)


def meaning(msg: Message) -> tuple[str | None, list[Change]]:
    """(event name, alert changes) for a message; (None, []) for one that means no alert."""
    for rule in RULES:
        if rule.apps is not None and msg.app is not None and not msg.app.startswith(rule.apps):
            continue
        m = rule.pattern.search(msg.msg)
        if m:
            return rule.event, rule.meaning(m)
    return None, []
