"""Runbooks: a drill as YAML in dr/drills/, checked with file, line and fix, and its plan.

A runbook names a DR pair of the estate, where the canary writes from and where the witness
watches from, and its steps in order. Each step has an action (one of ACTIONS), the side of the
pair it acts on where the action needs one (`primary` and `standby` are the pair's roles in the
inventory, whatever roles the databases hold at the time), checks that must hold after it, and
a time budget: a step that overruns it fails, and the drill restores the starting state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from jinbao.errors import JinbaoError
from jinbao.model import Estate
from jinbao.problems import Problem, ProblemList
from jinbao.yamlsrc import Origin, YamlShapeError, parse

DRILLS = Path(__file__).resolve().parent / "drills"

# action: (needs a side, what it does: a sentence with {node}, {fw}, {other}, {other_node} filled in)
ACTIONS: dict[str, tuple[bool, str]] = {
    "precheck": (
        False,
        "check the pair is as the inventory says: roles, streaming, service address, witness; refuse "
        "to start otherwise",
    ),
    "canary_start": (
        False,
        "start the canary writer on {canary} (through the service address) and the witness on {witness}",
    ),
    "freeze": (
        True,
        "freeze writes on {node} (default_transaction_read_only, reloaded: every session, at its next "
        "statement) so nothing is acknowledged that the switchover could lose; the new primary is not frozen",
    ),
    "stop_db": (True, "stop PostgreSQL on {node} cleanly (pg_ctl stop -m fast): its last WAL goes to the standby"),
    "kill_db": (True, "kill -9 the postmaster of {node}, by the PID in its postmaster.pid"),
    "stop_node": (True, "stop the whole node {node} (every process: PostgreSQL, sshd, all; power loss)"),
    "cut_link": (False, "cut the province–DR link {dr_link} silently (every frame dropped, carrier up)"),
    "isolate_site": (True, "cut every WAN link of {node}'s site ({site_links}) silently"),
    "arbitrate": (
        True,
        "decide whether {node} may be promoted: only if the witness on {witness} says the primary is dead "
        "AND reaches {node} (two of three); otherwise hold (no promotion, no split brain)",
    ),
    "stall_replication": (
        True,
        "stall {node}'s WAL senders (SIGSTOP, as a congested WAN would): an asynchronous primary goes on "
        "acknowledging what its standby never receives; the canary writes past the stall before the next step",
    ),
    "degrade": (
        True,
        "with the witness's quorum, {node} stops waiting for its cut-off synchronous standby (non-strict "
        "synchronous mode, as Patroni's); synchronous again once the standby streams",
    ),
    "heal": (
        False,
        "lift every fault this drill applied (links up, stopped nodes started); fence a promoted "
        "pair's old primary as soon as it is reachable",
    ),
    "resync": (True, "wait until {node} streams again from its primary; synchronous again if the pair is"),
    "await_replay": (
        True,
        "wait until {node} has replayed the stopped primary's last checkpoint (nothing acknowledged is lost)",
    ),
    "detect": (
        False,
        "wait for the witness on {witness} to declare the primary dead (bounded: failures × (interval + timeout))",
    ),
    "fence": (
        True,
        "fence {node}: withdraw the service address from {fw}, and make sure its PostgreSQL is not running",
    ),
    "promote": (True, "promote {node} (pg_ctl promote), then drop its synchronous standby until one is attached"),
    "route": (
        True,
        "move the service address to {node}: {fw} advertises it with the primary metric, {other_fw} "
        "with the standby metric",
    ),
    "verify": (
        False,
        "wait for the canary's first write through the service address on the new primary; count rows lost against it",
    ),
    "inspect": (
        True,
        "start {node} alone (socket only, no network) to count the acknowledged rows it holds, then stop it cleanly",
    ),
    "rejoin": (True, "rebuild {node} as a streaming standby of {other_node} (pg_rewind, else a fresh base backup)"),
    "canary_stop": (False, "stop the canary and the witness; check every acknowledged row against the primary"),
}
CHECKS = {
    "roles": "the primary is primary and the standby a standby, as in the inventory",
    "streaming": "the standby is streaming from the primary",
    "service_on_primary": "the service address is advertised from the primary's side with the primary metric",
    "witness": "the witness reaches the primary",
    "canary_writes": "the canary's writes are acknowledged",
    "rpo_zero": "no acknowledged row was lost",
    "failed_over": "the standby side is the primary and holds the service address (where a failback starts)",
    "one_primary": "at most one database accepts writes, one firewall advertises the primary metric (no split brain)",
}
FAULTS = ("stop_db", "kill_db", "stop_node", "cut_link", "isolate_site")
WHEN = ("promote", "hold")
SIDES = ("primary", "standby")
TOP = {"drill", "title", "kind", "pair", "canary", "witness", "steps"}
KINDS = ("switchover", "failover", "failback")
STEP_KEYS = {"name", "action", "side", "budget", "checks", "fault", "when"}
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(ms|s|m)$")


class RunbookError(JinbaoError):
    """The runbook is not valid; carries every problem (file, line, field, fix)."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class Step:
    name: str
    action: str
    side: str | None
    budget_s: float
    checks: tuple[str, ...]
    fault: bool
    origin: Origin
    when: str | None = None  # run only if the last arbitrate step decided this (promote or hold)


@dataclass(frozen=True)
class Runbook:
    drill: str
    title: str
    kind: str
    pair: str
    canary: dict
    witness: dict
    steps: tuple[Step, ...]
    file: str
    problems: list = field(default_factory=list)


def duration(text) -> float | None:
    m = _DURATION.match(str(text).strip())
    if not m:
        return None
    return float(m[1]) * {"ms": 0.001, "s": 1, "m": 60}[m[2]]


def find(drill: str) -> Path:
    """A drill by name (dr/drills/<name>.yml) or a path to a runbook file."""
    p = Path(drill)
    if p.suffix in (".yml", ".yaml") and p.exists():
        return p
    f = DRILLS / f"{drill}.yml"
    if not f.exists():
        known = ", ".join(sorted(x.stem for x in DRILLS.glob("*.yml")))
        raise JinbaoError(f"no drill {drill!r}; drills: {known} (or give a runbook's path)")
    return f


def load(path: Path, shown_as: str | None = None) -> Runbook:
    """Parse and check one runbook; RunbookError lists every problem at once."""
    shown = shown_as or str(path)
    probs = ProblemList()
    try:
        doc = parse(path.read_text(), shown)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise RunbookError(
            [Problem(Origin(shown, line), "yaml", str(e).splitlines()[0], "fix the YAML syntax")]
        ) from None
    except YamlShapeError as e:
        raise RunbookError([Problem(Origin(shown, e.line), "yaml", e.message, e.fix)]) from None
    d, pos = doc.data, doc.pos
    if not isinstance(d, dict):
        raise RunbookError(
            [Problem(Origin(shown, 1), "runbook", "expected a mapping", "write drill:, kind:, pair:, steps:")]
        )
    for k in d:
        if k not in TOP:
            probs.add(pos.at((k,)), str(k), "unknown key", f"use one of: {', '.join(sorted(TOP))}")
    for k in ("drill", "kind", "pair", "steps", "canary"):
        if k not in d:
            probs.add(pos.at(()), k, "missing", f"add {k}: to the runbook")
    if "kind" in d and d["kind"] not in KINDS:
        probs.add(pos.at(("kind",)), "kind", f"unknown kind {d['kind']!r}", f"use one of: {', '.join(KINDS)}")
    for k, need in (("canary", ("node",)), ("witness", ("node",))):
        v = d.get(k)
        if v is not None and not (isinstance(v, dict) and all(n in v for n in need)):
            probs.add(
                pos.at((k,)), k, "expected a mapping with node:", f"write {k}: {{node: <device outside both sites>}}"
            )
    steps = []
    raw = d.get("steps") or []
    if not isinstance(raw, list) or not raw:
        probs.add(pos.at(("steps",)), "steps", "expected a list of steps", "add steps: with at least a precheck")
        raw = []
    for i, s in enumerate(raw):
        where = pos.at(("steps", i))
        if not isinstance(s, dict):
            probs.add(where, f"steps[{i}]", "expected a mapping", "write {name: …, action: …, budget: …}")
            continue
        for k in s:
            if k not in STEP_KEYS:
                probs.add(
                    pos.at(("steps", i, k)),
                    f"steps[{i}].{k}",
                    "unknown key",
                    f"use one of: {', '.join(sorted(STEP_KEYS))}",
                )
        action = s.get("action")
        if action not in ACTIONS:
            probs.add(
                pos.at(("steps", i, "action")),
                f"steps[{i}].action",
                f"unknown action {action!r}",
                f"use one of: {', '.join(ACTIONS)}",
            )
            continue
        needs_side = ACTIONS[action][0]
        side = s.get("side")
        if needs_side and side not in SIDES:
            probs.add(
                pos.at(("steps", i, "side")),
                f"steps[{i}].side",
                f"{action} needs side: primary or standby (got {side!r})",
                "add side: primary or side: standby",
            )
        if not needs_side and side is not None:
            probs.add(pos.at(("steps", i, "side")), f"steps[{i}].side", f"{action} takes no side", "remove side:")
        budget = duration(s.get("budget", ""))
        if budget is None or budget <= 0:
            probs.add(
                pos.at(("steps", i, "budget")),
                f"steps[{i}].budget",
                f"budget {s.get('budget')!r} is not a time",
                "write a budget such as 500ms, 10s or 2m",
            )
        checks = s.get("checks") or []
        bad = [c for c in checks if c not in CHECKS] if isinstance(checks, list) else [checks]
        for c in bad:
            probs.add(
                pos.at(("steps", i, "checks")),
                f"steps[{i}].checks",
                f"unknown check {c!r}",
                f"use one of: {', '.join(CHECKS)}",
            )
        fault = s.get("fault", False)
        if fault and action not in FAULTS:
            probs.add(
                pos.at(("steps", i, "fault")),
                f"steps[{i}].fault",
                f"only {', '.join(FAULTS)} can be the fault",
                "remove fault:, or mark the step that breaks something",
            )
        when = s.get("when")
        if when is not None and when not in WHEN:
            probs.add(pos.at(("steps", i, "when")), f"steps[{i}].when", f"unknown when {when!r}", "use promote or hold")
        elif when is not None and not any(x.action == "arbitrate" for x in steps):
            probs.add(
                pos.at(("steps", i, "when")),
                f"steps[{i}].when",
                "when: needs an arbitrate step before it",
                "add {name: witness decides, action: arbitrate, side: standby, budget: 15s} before it",
            )
        steps.append(
            Step(
                str(s.get("name") or action),
                action,
                side,
                budget or 0.0,
                tuple(c for c in checks if c in CHECKS),
                bool(fault),
                where,
                when,
            )
        )
    if steps and steps[0].action != "precheck":
        probs.add(
            steps[0].origin,
            "steps[0].action",
            "the first step must be precheck",
            "start with {name: precheck, action: precheck, budget: 30s}",
        )
    if probs:
        raise RunbookError(probs.folded())
    return Runbook(
        str(d["drill"]),
        str(d.get("title", "")),
        d["kind"],
        str(d["pair"]),
        dict(d["canary"]),
        dict(d.get("witness") or {}),
        tuple(steps),
        shown,
    )


def against(rb: Runbook, e: Estate) -> dict:
    """The runbook's targets from the estate: its DR pair, their firewalls, canary and witness.

    Refuses (exit 2) a pair, node or witness the estate does not have, and a witness inside
    either site of the pair (it would see one side only, and a cut link would read as death)."""
    pair = next((p for p in e.dr_pairs if p.name == rb.pair), None)
    if pair is None:
        raise JinbaoError(
            f"{rb.file}: pair: estate {e.name} has no DR pair {rb.pair!r}; it has: "
            f"{', '.join(p.name for p in e.dr_pairs) or 'none'}"
        )
    info = {"pair": pair, "replication": pair.replication}
    for role, dev in (("primary", pair.primary), ("standby", pair.standby)):
        d = e.devices[dev]
        info[role] = {"node": dev, "site": d.site, "fw": e.sites[d.site].zones[d.zone or ""].firewall}
    sites = {role: info[role]["site"] for role in SIDES}
    for role in SIDES:
        info[role]["site_links"] = [
            (l.a.device, l.b.device)
            for l in e.links
            if (e.devices[l.a.device].site == sites[role]) != (e.devices[l.b.device].site == sites[role])
        ]
    info["dr_link"] = next(
        (
            (l.a.device, l.b.device)
            for l in e.links
            if {e.devices[l.a.device].site, e.devices[l.b.device].site} == set(sites.values())
        ),
        None,
    )
    if info["dr_link"] is None and any(s.action == "cut_link" for s in rb.steps):
        between = " and ".join(sites.values())
        raise JinbaoError(f"{rb.file}: cut_link: estate {e.name} has no link between sites {between}")
    for k in ("canary", "witness"):
        node = (rb.canary if k == "canary" else rb.witness).get("node")
        if node is None:
            continue
        if node not in e.devices:
            raise JinbaoError(f"{rb.file}: {k}.node: estate {e.name} has no device {node!r}")
        if e.devices[node].site in (info["primary"]["site"], info["standby"]["site"]):
            raise JinbaoError(
                f"{rb.file}: {k}.node: {node} is inside a site of pair {pair.name}; put the {k} outside both sites"
            )
        info[k] = node
    return info


def plan_lines(rb: Runbook, info: dict) -> list[str]:
    """Exactly what the drill will do, to which devices, in order."""
    lines = [
        f"drill {rb.drill} ({rb.kind}): {rb.title}",
        f"pair {rb.pair}: primary {info['primary']['node']}, {info['replication']} standby {info['standby']['node']}",
    ]
    for i, s in enumerate(rb.steps, 1):
        side = info.get(s.side or "primary")
        other = info["standby" if s.side == "primary" else "primary"]
        text = ACTIONS[s.action][1].format(
            node=side["node"],
            fw=side["fw"],
            other_fw=other["fw"],
            other_node=other["node"],
            canary=info.get("canary", "-"),
            witness=info.get("witness", "-"),
            dr_link="—".join(info.get("dr_link") or ("?", "?")),
            site_links=", ".join("—".join(x) for x in side.get("site_links", [])),
        )
        extra = f"; then check: {', '.join(s.checks)}" if s.checks else ""
        what = s.action + (f" {s.side}" if s.side else "") + (", the fault" if s.fault else "")
        what += f"; only if the witness decided {s.when}" if s.when else ""
        lines.append(f"{i:2}. {s.name} [{what}; budget {s.budget_s:g} s]: {text}{extra}")
    lines.append(
        "On a failed check, an overrun budget, an error or Ctrl-C: stop, then restore the starting "
        "state (roles, replication, service address)."
    )
    return lines
