"""Huawei VRP: two-stage commit, `commit trial` as the revert timer, commit points for rollback.

VRP in two-stage mode stages what is typed in `system-view` (the prompt shows `[~host]`, and
`[*host]` once something is staged) and applies it only at `commit`. `commit trial N` applies it
for N seconds: unless `commit` follows, the device rolls back by itself, so the timer lives on the
device. Every commit leaves a rollback point (`display configuration commit list`), and
`rollback configuration to commit-id ID` returns to one.
"""

from __future__ import annotations

import re

from .base import CommitFailed
from .vendor import VendorDriver

ENTER = "system-view"
LEAVE = "return"


class VrpDriver(VendorDriver):
    platform = "huawei_vrp"
    VENDOR = "Huawei"
    SHOW_VERSION = "display version"
    SHOW_INTERFACES = "display interface brief"
    SHOW_RUNNING = "display current-configuration"
    SHOW_STARTUP = "display saved-configuration"
    SHOW_OSPF = "display ospf peer"
    SHOW_ROUTE = "display ip routing-table {destination}"
    HOSTNAME = "sysname"
    PROMPT = r"<[\w.-]+>|\[[~*]?[\w./:-]+\]"  # two-stage: [~host] nothing staged, [*host] staged
    ERROR = re.compile(r"^\s*Error:")

    _rollback_to: str | None = None

    def _version(self, record: dict[str, object]) -> tuple[str, str, str, str]:
        """VRP's `display version` names no serial number (that is `display esn`): left empty."""
        os_version = f"VRP {record['vrp_version']} ({record['product_version']})"
        return str(record["model"]), os_version, "", str(record["uptime"])

    def _link(self, record: dict[str, object]) -> tuple[bool, bool]:
        """PHY `*down` is administratively down; Protocol `up(s)` is a spoofed (always-up) loopback."""
        phy, proto = str(record["phy"]), str(record["protocol"])
        return phy == "up" and proto.startswith("up"), not phy.startswith("*")

    def _latest_commit(self) -> str | None:
        out = self._send("display configuration commit list 1")
        m = re.search(r"^\s*1\s+(\d{10})\b", out, re.M)
        return m[1] if m else None

    def _abandon(self) -> None:
        """Drop what is staged and leave system view, so a failed push changes nothing.

        In two-stage mode `return` with staged lines asks whether to commit them; clearing the
        candidate first (`clear configuration candidate`) means it never asks.
        """
        self._send("clear configuration candidate")
        self._send(LEAVE)

    def _push(self, lines: list[str], revert_in: int | None, message: str) -> None:
        """Stage the lines, then `commit trial N` (or `commit`): nothing applies until then.

        `commit trial` takes 60–65535 seconds: a shorter revert_in is raised to 60 (the device
        would refuse it), and one over 65535 is refused here. A line the device refuses while
        staging (`Error: Unrecognized command found at '^' position.`) leaves nothing applied: the
        staged lines are cleared and CommitFailed carries the device's message.
        """
        if revert_in is not None and revert_in > 65535:
            raise CommitFailed(f"{self.name}: VRP's commit trial allows at most 65535 seconds")
        before = self._latest_commit()
        self._send(ENTER)
        try:
            for line in lines:
                self._apply(line)
            commit = f"commit trial {max(60, revert_in)}" if revert_in else "commit"
            if message:
                commit += f" description {message[:60]}"
            self._apply(commit, timeout=300)
        except CommitFailed:
            self._abandon()
            raise
        self._send(LEAVE)
        self._rollback_to = before

    def _pending(self) -> bool:
        """`display configuration trial status` says whether a trial commit is running."""
        out = self._send("display configuration trial status")
        return bool(re.search(r"Trial status\s*:\s*running", out, re.I))

    def _confirm(self) -> None:
        """A plain `commit` in system view ends the trial and keeps its configuration."""
        self._send(ENTER)
        self._apply("commit")
        self._send(LEAVE)

    def _rollback(self) -> None:
        """A running trial is stopped with `abort trial` (the device rolls it back at once, after a
        Y/N question); otherwise back to the commit point taken before our commit, by its id, so a
        commit someone else made since is not silently undone by a `rollback configuration last 1`."""
        if self._pending():
            self._send(ENTER)
            self._send("abort trial", expect=r"\[Y/N\]")
            self._apply("Y", timeout=300)
            self._send(LEAVE)
            return
        if self._rollback_to is None:
            raise CommitFailed(f"{self.name}: no commit by this session to roll back to")
        self._send(f"rollback configuration to commit-id {self._rollback_to}", expect=r"\[Y/N\]")
        self._apply("Y", timeout=300)
        self._rollback_to = None
