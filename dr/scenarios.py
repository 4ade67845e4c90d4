"""Unplanned scenarios beyond a killed database: a stopped node, a cut province–DR link, an
isolated site; and the rule that decides them: the witness's quorum.

Who may promote: the pair's standby, the witness (in a city, outside both sites) and the primary
are three voters. The standby is promoted only when the witness says the primary is dead AND the
witness still reaches the standby: then the standby and the witness are two of three. A standby
that has merely lost its primary (a cut province–DR link) has one vote and holds; so does a
standby whose whole side is cut off with the primary. The standby's own view (its WAL receiver)
is recorded next to the decision, to show what it would have done alone.

Faults land through the core's `jinbao.faults` seam (the lab's own functions, in this process,
so their moment is known); they are lifted with the lab's commands (`jinbao lab link up`,
`lab node start`). Every one is remembered so that `heal` (and an aborted drill) lifts them.
"""

from __future__ import annotations

import time

from jinbao import faults

from .remote import DrError, lab_cli, wait_for
from .runbook import Step

# Added to the witness's own bound (failures × (interval + timeout)) before holding: its verdict
# travels through `lab exec` and a pipe on a busy 2-core machine.
VERDICT_SLACK_S = 2.0


class ScenarioActions:
    """Drill actions for the scenarios; mixed into dr.drill.Drill (which holds pair, faults …)."""

    pair: object
    faults: list
    fenced: set
    info: dict
    rb: object

    def _init_scenarios(self) -> None:
        self.broken: list[tuple[str, ...]] = []  # ("link", a, b) or ("node", name), in order
        self.decision: str | None = None
        self.degraded = False
        self.unfenced: set[str] = set()  # promoted past, not reachable yet to be stopped
        self.frozen_at: float | None = None
        self.stalled: tuple[str, list[str]] | None = None

    # -- faults --------------------------------------------------------------------------------
    def _lab(self, kind: str, *names: str) -> float:
        """Apply a lab fault in this process (jinbao.faults); returns when it was applied."""
        return faults.inject(f"lab:{self.pair.lab_id}", kind, *names)

    def _cut(self, links) -> float:
        t = time.time()
        for a, b in links:  # an isolated site: the fault is complete when its last link is cut
            self.broken.append(("link", a, b))
            t = self._lab("link", a, b)
        return t

    def _stop_node(self, step: Step, deadline: float) -> dict:
        self.changed = True
        node = self.pair.side(step.side)["node"]
        self.broken.append(("node", node))
        return self._fault(step.side, "node stopped", self._lab("node", node))

    def _cut_link(self, step: Step, deadline: float) -> dict:
        self.changed = True
        t = self._cut([self.info["dr_link"]])
        return self._fault("primary", "province–DR link cut", t)

    def _isolate_site(self, step: Step, deadline: float) -> dict:
        self.changed = True
        t = self._cut(self.info[step.side]["site_links"])
        return self._fault(step.side, f"site {self.info[step.side]['site']} isolated", t)

    # -- the decision --------------------------------------------------------------------------
    def _arbitrate(self, step: Step, deadline: float) -> dict:
        assert self.witness, "arbitrate needs a witness:"
        f, w = self.faults[-1], self.rb.witness
        bound = float(w.get("failures", 3)) * (float(w.get("interval", 0.2)) + 1.0) + VERDICT_SLACK_S
        until = min(deadline, max(time.time(), f["t"]) + bound)
        dead = None
        while time.time() < until and dead is None:
            dead = next(
                (e for e in self.witness.seen("dead", after=f["t"]) if e.get("who", "primary") == "primary"), None
            )
            time.sleep(0.05)
        standby = self._standby_after(dead["t"], deadline) if dead is not None else self.witness_verdict("standby")
        standby_alone = self._standby_lost_primary(step.side)
        self.decision = "promote" if dead is not None and standby == "up" else "hold"
        f.update(
            decision=self.decision,
            quorum={
                "witness_says_primary": "dead" if dead else self.witness_verdict("primary"),
                "witness_reaches_standby": standby == "up",
                "standby_lost_primary": standby_alone,
            },
        )
        if dead is not None:
            f["detect_s"] = dead["t"] - f["t"]
        if self.decision == "hold":
            f["new_primary"] = f["side"]
        return {"decision": self.decision, **f["quorum"]}

    def _standby_after(self, t: float, deadline: float) -> str | None:
        """The witness's word on the standby from a probe that started after t: "up" or "down"
        (None if none finished in time). Its last state change may predate the fault."""
        w = self.rb.witness
        probe_s = float(w.get("timeout", 1.0)) + float(w.get("interval", 0.2))
        until = min(deadline, time.time() + probe_s + VERDICT_SLACK_S)
        while True:
            probe = next((e for e in self.witness.seen("probe", after=t) if e.get("started", 0) >= t), None)
            if probe is not None:
                return "up" if probe["ok"] else "down"
            if time.time() >= until:
                return None
            time.sleep(0.02)

    def witness_verdict(self, who: str) -> str | None:
        seen = [e for e in self.witness.seen() if e.get("who", "primary") == who and e["ev"] in ("up", "dead")]
        return seen[-1]["ev"] if seen else None

    def _standby_lost_primary(self, side: str) -> bool | None:
        """The standby's own view, read out of band: its WAL receiver no longer streams, or has
        heard nothing from its primary for over a second while the canary writes 50 rows/s. (A
        silent cut leaves the receiver "streaming" until wal_receiver_timeout, 60 s by default.)"""
        try:
            r = self.pair.psql(
                side,
                "select status, extract(epoch from now() - last_msg_receipt_time) > 1 from pg_stat_wal_receiver",
                check=False,
                timeout=10,
            )
        except DrError:
            return None
        return r != "streaming|f"

    def _stall_replication(self, step: Step, deadline: float) -> dict:
        """Rows the new primary will not have, on purpose: in the lab the standby receives WAL as
        fast as it is written (a kill leaves nothing unsent; its lag is replay, which a promotion
        finishes), so an asynchronous pair loses rows only when sending stalls. The stopped
        senders die with their node, or are continued by the drill's heal/restore."""
        side = step.side or ""
        self.changed = True
        pids = self.pair.psql(side, "select pid from pg_stat_replication").split()
        if not pids:
            raise DrError(f"{self.pair.side(side)['node']} has no WAL sender to stall")
        assert self.canary, "stall_replication needs a canary_start step before it"
        self.pair.run(self.pair.side(side)["node"], "kill -STOP " + " ".join(pids))
        # From when the stop is known done, not from before the remote command: rows acknowledged
        # while it travelled were still sent (seen in CI: 11 counted "past the stall", 9 lost).
        t = time.time()
        n0 = max((e["n"] for e in self.canary.seen("ack")), default=0)
        self.stalled = (side, pids)
        # (the check runs under the canary's event lock: it must not call seen() itself)
        self.canary.wait(
            "10 canary writes acknowledged past the stall",
            lambda e: e["ev"] == "ack" and e["t"] > t and e["n"] >= n0 + 10,
            max(1.0, deadline - time.time()),
        )
        return {"stalled_pids": pids, "acked_past_stall": len(self.canary.seen("ack", after=t))}

    def _freeze(self, step: Step, deadline: float) -> dict:
        """Planned switchover's optional freeze. ALTER SYSTEM writes the primary's own
        postgresql.auto.conf, which is not replicated: the standby, once promoted, takes writes.
        The old primary keeps the freeze in its file when its rejoin needs no rewind (seen after a
        clean stop), so every promotion thaws (Pair.promote)."""
        self.changed = True
        self.pair.psql(step.side, "alter system set default_transaction_read_only = on")
        self.pair.psql(step.side, "select pg_reload_conf()")
        self.frozen_at = time.time()
        # frozen when a new session is read-only (reload reaches backends asynchronously)
        wait_for(
            f"{self.pair.side(step.side)['node']} to be frozen",
            lambda: self.pair.psql(step.side, "show default_transaction_read_only") == "on",
            max(1.0, deadline - time.time()),
        )
        return {"frozen_at": self.frozen_at}

    def _degrade(self, step: Step, deadline: float) -> dict:
        if self.witness_verdict("primary") != "up":
            # the primary is cut off from the witness too (an isolated site): no quorum, it keeps waiting
            return {"degraded": False, "why": "the witness does not reach the primary either"}
        self.changed = True
        self.pair.psql(step.side, "alter system reset synchronous_standby_names")
        self.pair.psql(step.side, "select pg_reload_conf()")
        self.degraded = True
        f = self.faults[-1]
        f["degraded_at"] = time.time()
        f["degrade_s"] = f["degraded_at"] - f["t"]
        return {"degrade_s": f["degrade_s"]}

    # -- after the fault -----------------------------------------------------------------------
    def heal_all(self) -> list[str]:
        """Lift every fault this drill applied, newest first; what was done, as sentences."""
        did = []
        while self.broken:
            b = self.broken.pop()
            if b[0] == "link":
                lab_cli(self.pair.lab_id, "link", "up", b[1], b[2])
                did.append(f"link {b[1]}—{b[2]} up")
            else:
                lab_cli(self.pair.lab_id, "node", "start", b[1])
                wait_for(f"{b[1]} to answer over SSH", lambda n=b[1]: self._reachable(n), 60, every=0.2)
                did.append(f"node {b[1]} started")
        if self.stalled:  # a sender that outlived its stall (its node never stopped) goes on
            side, pids = self.stalled
            self.pair.run(self.pair.side(side)["node"], "kill -CONT " + " ".join(pids) + " 2>/dev/null; true")
            self.stalled = None
        return did

    def _reachable(self, node: str) -> bool:
        try:
            self.pair.run(node, "true", timeout=10)
            return True
        except Exception:
            return False

    def _heal(self, step: Step, deadline: float) -> dict:
        did = self.heal_all()
        if self.faults:
            self.faults[-1]["healed_s"] = time.time() - self.faults[-1]["t"]
        # Fencing on contact: an old primary that could not be stopped while cut off is stopped
        # the moment it is reachable again, before anything else can write to it.
        for side in sorted(self.unfenced):
            if not self.pair.stopped(side):
                self.pair.stop(side, "immediate")
            did.append(f"{self.pair.side(side)['node']} fenced on contact")
        self.unfenced.clear()
        return {"healed": "; ".join(did)}

    def _resync(self, step: Step, deadline: float) -> dict:
        side = step.side or ""
        other = self.pair.other(side)
        wait_for(
            f"{self.pair.side(side)['node']} to stream again",
            lambda: self.pair.streaming(other, side),
            max(1.0, deadline - time.time()),
        )
        # caught up with what was written while it was cut off, before it counts as a sync standby again
        lsn = self.pair.psql(other, "select pg_current_wal_lsn()")
        wait_for(
            f"{self.pair.side(side)['node']} to replay {lsn}",
            lambda: self.pair.replayed_past(side, lsn),
            max(1.0, deadline - time.time()),
        )
        if self.pair.facts["replication"] == "sync":
            self.pair.psql(other, f"alter system set synchronous_standby_names = '\"{self.pair.app_name(side)}\"'")
            self.pair.psql(other, "select pg_reload_conf()")
        self.degraded = False
        return {"lag_bytes": self.pair.lag_bytes(other, side)}

    def split_brain(self) -> bool:
        """More than one database accepting writes, or more than one side advertised as primary."""
        sides = ("primary", "standby")
        roles = [self.pair.role(s) if self._reachable(self.pair.side(s)["node"]) else None for s in sides]
        m = self.pair.facts["metrics"]["primary"]
        adv = [self.pair.advertised(s) for s in ("primary", "standby")]
        return roles.count("primary") > 1 or adv.count(m) > 1
