"""Running a drill: each step's action, its checks and its budget, measured; on a failed check,
an overrun budget, an error or Ctrl-C, the starting state is restored (dr.restore).

Measured, never configured. For each fault (a stop_db or kill_db step marked `fault`):
- RTO: from the fault to the canary's first acknowledged write through the service address on
  the new primary;
- RPO: rows the canary saw acknowledged by the old primary that the new primary does not have
  (read from it), as a count and as seconds of writes; rows whose outcome is unknown are listed
  apart with what the new primary says of them;
- detection (witness), promotion and route change, each from the fault.
"""

from __future__ import annotations

import secrets
import time

from .probes import NodeProcess
from .remote import DrError, Pair, wait_for
from .runbook import Runbook, Step
from .scenarios import ScenarioActions

TABLE = "dr_canary"


class StepFailed(DrError):
    pass


class Drill(ScenarioActions):
    def __init__(self, rb: Runbook, pair: Pair, progress=print, info: dict | None = None):
        self.rb, self.pair, self.say = rb, pair, progress
        self.info = info or {}
        self._init_scenarios()
        self.run_id = time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)
        self.canary: NodeProcess | None = None
        self.witness: NodeProcess | None = None
        self.faults: list[dict] = []
        self.fenced: set[str] = set()
        self.steps: list[dict] = []
        self.changed = False  # set by the first step that changes a device

    # -- the run -------------------------------------------------------------------------------
    def execute(self) -> None:
        for i, step in enumerate(self.rb.steps, 1):
            self.say(f"[{i}/{len(self.rb.steps)}] {step.name} ({step.action}{' ' + step.side if step.side else ''}) …")
            rec = {
                "name": step.name,
                "action": step.action,
                "side": step.side,
                "budget_s": step.budget_s,
                "started": time.time(),
            }
            self.steps.append(rec)
            if step.when and step.when != self.decision:
                rec.update(ok=True, skipped=f"the witness decided {self.decision}", elapsed_s=0.0, commands=[])
                self.say(f"    skipped: the witness decided {self.decision}, this step is for {step.when}")
                continue
            first_cmd = len(self.pair.log)
            try:
                rec["result"] = getattr(self, f"_{step.action}")(step, time.time() + step.budget_s) or {}
                for c in step.checks:
                    self._check(c)
                rec["elapsed_s"] = time.time() - rec["started"]
                if rec["elapsed_s"] > step.budget_s:
                    raise StepFailed(
                        f"step {step.name!r} took {rec['elapsed_s']:.2f} s, over its budget of {step.budget_s:g} s"
                    )
                rec["ok"] = True
                self.say(f"    ok in {rec['elapsed_s']:.2f} s (budget {step.budget_s:g} s) {_brief(rec['result'])}")
            except BaseException as e:
                rec.update(ok=False, elapsed_s=time.time() - rec["started"], error=str(e) or type(e).__name__)
                raise
            finally:
                rec["commands"] = self.pair.log[first_cmd:]

    def _check(self, name: str) -> None:
        p = self.pair
        ok = {
            "roles": lambda: p.role("primary") == "primary" and p.role("standby") == "standby",
            "streaming": lambda: p.streaming("primary", "standby"),
            "service_on_primary": lambda: (
                p.advertised("primary") == p.facts["metrics"]["primary"]
                and p.advertised("standby") == p.facts["metrics"]["standby"]
            ),
            "witness": lambda: self.witness is not None and self.witness_verdict("primary") == "up",
            "canary_writes": lambda: self.canary is not None and bool(self.canary.seen("ack")),
            "rpo_zero": lambda: not self.faults or self.faults[-1].get("lost_rows") == 0,
            "one_primary": self._one_primary,
            "failed_over": lambda: (
                p.role("standby") == "primary" and p.advertised("standby") == p.facts["metrics"]["primary"]
            ),
        }[name]
        if not ok():
            raise StepFailed(f"check {name} failed")

    def _one_primary(self) -> bool:
        brain = self.split_brain()
        if self.faults:
            self.faults[-1]["split_brain"] = brain
        return not brain

    # -- actions (each gets its step and the deadline its budget sets) -------------------------
    def _precheck(self, step: Step, deadline: float) -> dict:
        p = self.pair
        if self.rb.witness:
            w = self.rb.witness
            self.witness = NodeProcess(
                p.lab_id,
                w["node"],
                [
                    "watch",
                    "--host",
                    p.side("primary")["ip"],
                    "--user",
                    p.facts["user"],
                    "--interval",
                    str(w.get("interval", 0.2)),
                    "--failures",
                    str(w.get("failures", 3)),
                    "--standby",
                    p.side("standby")["ip"],
                ],
            )
            self.witness.wait(
                "the witness's first verdict",
                lambda e: e["ev"] in ("up", "dead") and e.get("who", "primary") == "primary",
                max(1.0, deadline - time.time()),
            )
        return {"lag_bytes": p.lag_bytes("primary", "standby")}

    def _canary_start(self, step: Step, deadline: float) -> dict:
        p = self.pair
        # where the primary is now: a failback starts with DR holding it
        now = "primary" if p.role("primary") == "primary" else "standby"
        p.psql(now, f"create table if not exists {TABLE} (run text, n int, t double precision, primary key (run, n))")
        c = self.rb.canary
        self.canary = NodeProcess(
            p.lab_id,
            c["node"],
            [
                "write",
                "--host",
                p.facts["service_address"],
                "--user",
                p.facts["user"],
                "--run",
                self.run_id,
                "--rate",
                str(c.get("rate", 50)),
                "--table",
                TABLE,
            ],
        )
        # Under load before the fault: a second of acknowledged writes (rate rows), not just one.
        want = max(1, int(float(c.get("rate", 50))))
        self.canary.wait(
            f"{want} acknowledged canary writes",
            lambda e: e["ev"] == "ack" and e["n"] >= want,
            max(1.0, deadline - time.time()),
        )
        return {"rate": c.get("rate", 50), "lag_bytes_under_load": p.lag_bytes("primary", "standby")}

    def _fault(self, side: str, kind: str, t: float) -> dict:
        if self.frozen_at is not None:  # a frozen switchover: the outage starts at the freeze
            t, kind, self.frozen_at = self.frozen_at, f"{kind} (frozen first)", None
        f = {
            "kind": kind,
            "side": side,
            "node": self.pair.side(side)["node"],
            "t": t,
            "new_primary": self.pair.other(side),
        }
        self.faults.append(f)
        return {"fault_at": t}

    def _stop_db(self, step: Step, deadline: float) -> dict:
        self.changed = True
        return self._fault(step.side or "", "clean stop", self.pair.stop(step.side or ""))

    def _kill_db(self, step: Step, deadline: float) -> dict:
        self.changed = True
        return self._fault(step.side or "", "kill -9", self.pair.kill(step.side or ""))

    def _await_replay(self, step: Step, deadline: float) -> dict:
        side = step.side or ""
        lsn = self.pair.checkpoint_lsn(self.pair.other(side))
        wait_for(
            f"{self.pair.side(side)['node']} to replay {lsn}",
            lambda: self.pair.replayed_past(side, lsn),
            deadline - time.time(),
        )
        return {"checkpoint_lsn": lsn}

    def _detect(self, step: Step, deadline: float) -> dict:
        assert self.witness, "a detect step needs a witness:"
        f = self.faults[-1]
        ev = self.witness.wait(
            "the witness to declare the primary dead",
            lambda e: e["ev"] == "dead" and e["t"] >= f["t"] and e.get("who", "primary") == "primary",
            deadline - time.time(),
        )
        f["detect_s"] = ev["t"] - f["t"]
        return {"detect_s": f["detect_s"]}

    def _fence(self, step: Step, deadline: float) -> dict:
        side = step.side or ""
        self.changed = True
        self.pair.route(side, None)
        self.fenced.add(side)
        if not self._reachable(self.pair.side(side)["node"]):
            # cut off or down: stopped the moment it is reachable again (heal), before it can serve
            self.unfenced.add(side)
            return {"withdrawn_from": self.pair.side(side)["firewall"], "stopped": "on contact"}
        if not self.pair.stopped(side):
            self.pair.stop(side, "immediate")
        return {"withdrawn_from": self.pair.side(side)["firewall"], "stopped": "now"}

    def _promote(self, step: Step, deadline: float) -> dict:
        self.changed = True
        self.pair.promote(step.side or "")
        if self.faults:
            self.faults[-1]["promote_s"] = time.time() - self.faults[-1]["t"]
        return {}

    def _route(self, step: Step, deadline: float) -> dict:
        side = step.side or ""
        self.changed = True
        self.pair.route(side, self.pair.facts["metrics"]["primary"])
        other = self.pair.other(side)
        if other not in self.fenced:
            self.pair.route(other, self.pair.facts["metrics"]["standby"])
        if self.faults:
            self.faults[-1]["route_s"] = time.time() - self.faults[-1]["t"]
        return {}

    def _verify(self, step: Step, deadline: float) -> dict:
        assert self.canary, "verify needs a canary_start step before it"
        p, f = self.pair, self.faults[-1]
        new_dir = p.side(f["new_primary"])["pgdata"]
        old_dir = p.side(f["side"])["pgdata"]
        # Held (no promotion): writes resume on the same primary, after it stopped waiting for
        # its cut-off synchronous standby if it had to; an ack already in flight at the fault is not it.
        since = f.get("degraded_at", f["t"])
        first = self.canary.wait(
            "the canary's first write on the new primary",
            lambda e: e["ev"] == "ack" and e["t"] > since and e["server"] == new_dir,
            deadline - time.time(),
        )
        f["rto_s"] = first["t"] - f["t"]
        # Only acks before the read can be asked of it: held on the same primary, writes go on.
        read_at = time.time()
        present = self.rows(f["new_primary"])
        acked_old = {e["n"]: e["t"] for e in self.canary.seen("ack") if e["server"] == old_dir and e["t"] < read_at}
        lost = sorted(n for n in acked_old if n not in present)
        unknown = [e["n"] for e in self.canary.seen("unknown")]
        tick = 1.0 / float(self.rb.canary.get("rate", 50))
        f.update(
            acked_on_old=len(acked_old),
            lost_rows=len(lost),
            lost=lost,
            lost_seconds=(acked_old[lost[-1]] - acked_old[lost[0]] + tick) if lost else 0.0,
            unknown={str(n): (n in present) for n in unknown},
        )
        return {"rto_s": f["rto_s"], "lost_rows": len(lost)}

    def _inspect(self, step: Step, deadline: float) -> dict:
        """The old primary, alone: how many of the rows counted lost it holds (the cross-check)."""
        side, f = step.side or "", self.faults[-1]
        self.pair.start(side, "-c listen_addresses= -c synchronous_standby_names=")
        try:
            ids = ",".join(str(n) for n in f["lost"]) or "null"
            held = self.pair.psql(side, f"select count(*) from {TABLE} where run = '{self.run_id}' and n in ({ids})")
            f["old_primary_holds_lost"] = int(held)
        finally:
            self.pair.stop(side, "fast")
        return {"old_primary_holds_lost": f["old_primary_holds_lost"], "lost_rows": f["lost_rows"]}

    def _rejoin(self, step: Step, deadline: float) -> dict:
        side = step.side or ""
        self.changed = True
        if not self.pair.stopped(side):
            self.pair.stop(side, "fast")
        how = self.pair.make_standby(side, self.pair.other(side))
        self.fenced.discard(side)
        self.pair.route(side, self.pair.facts["metrics"]["standby"])
        return {"how": how}

    def _canary_stop(self, step: Step, deadline: float) -> dict:
        self.stop_probes()
        primary = "primary" if self.pair.role("primary") == "primary" else "standby"
        present = self.rows(primary)
        acked = {e["n"] for e in (self.canary.events if self.canary else []) if e["ev"] == "ack"}
        counted = {n for f in self.faults for n in f.get("lost", [])}
        missing = sorted(acked - present - counted)
        if missing:
            raise StepFailed(
                f"{len(missing)} acknowledged rows are missing and were never counted lost: {missing[:10]}"
            )
        return {"acked": len(acked), "present": len(present), "counted_lost": len(counted)}

    # -- helpers ---------------------------------------------------------------------------------
    def rows(self, side: str) -> set[int]:
        out = self.pair.psql(side, f"select n from {TABLE} where run = '{self.run_id}'")
        return {int(x) for x in out.split()}

    def stop_probes(self) -> None:
        for proc in (self.canary, self.witness):
            if proc is not None:
                proc.stop()


def _brief(result: dict) -> str:
    keep = {
        k: (round(v, 3) if isinstance(v, float) else v) for k, v in result.items() if not isinstance(v, list | dict)
    }
    return " ".join(f"{k}={v}" for k, v in keep.items())
