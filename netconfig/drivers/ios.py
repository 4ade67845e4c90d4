"""Cisco IOS / IOS XE: `configure replace … time M` with `configure confirm`, and `archive` for rollback.

IOS replaces its running config with a file: `configure replace flash:FILE force` computes and
applies the difference itself. With `time M` it becomes a Rollback Confirmed Change: unless
`configure confirm` follows within M minutes, the device reverts by itself. Both need the
`archive` feature (`archive` / `path flash:…`), which the estate's rendered configs carry; the
archive is also where the config from before a commit is kept for `rollback`.
"""

from __future__ import annotations

import re

from .base import CommitFailed
from .vendor import VendorDriver, minutes

CANDIDATE = "jinbao-candidate.cfg"


class IosDriver(VendorDriver):
    platform = "cisco_ios"
    VENDOR = "Cisco"
    SHOW_VERSION = "show version"
    SHOW_INTERFACES = "show ip interface brief"
    SHOW_RUNNING = "show running-config"
    SHOW_STARTUP = "show startup-config"
    SHOW_OSPF = "show ip ospf neighbor"
    SHOW_ROUTE = "show ip route {destination}"
    HOSTNAME = "hostname"
    PROMPT = r"[\w.-]+(?:\([\w-]+\))?#"
    ERROR = re.compile(r"^\s*%\s*(Invalid input|Incomplete command|Ambiguous command|.*[Ff]ailed)|^\s*%[A-Z]")

    _archived: str | None = None

    def _running(self) -> str:
        """`show running-config` starts with `Building configuration...` and a byte count, which are
        not config: dropped, so the text can go back to the device as a `configure replace` file."""
        text = super()._running()
        return re.sub(r"\A\s*Building configuration\.\.\.\s*\n(\s*Current configuration : \d+ bytes\s*\n)?", "", text)

    def _version(self, record: dict[str, object]) -> tuple[str, str, str, str]:
        """TextFSM gives hardware and serial as lists (one per stack member): the first is the chassis."""
        hardware = record.get("hardware") or [""]
        serial = record.get("serial") or [""]
        assert isinstance(hardware, list) and isinstance(serial, list)
        return str(hardware[0]), f"IOS {record['version']}", str(serial[0]), str(record["uptime"])

    def _link(self, record: dict[str, object]) -> tuple[bool, bool]:
        status, proto = str(record["status"]), str(record["proto"])
        return status == "up" and proto == "up", status != "administratively down"

    def _archive(self) -> str:
        """`archive config` writes the running config to the archive path; `show archive` marks the
        newest file `<- Most Recent`. That file is what rollback replaces with."""
        self._apply("archive config")
        out = self._send("show archive")
        m = re.search(r"(\S+)\s*<-\s*Most Recent", out)
        if not m:
            raise CommitFailed(f"{self.name}: the archive is off or empty (`archive` / `path` missing): {out.strip()}")
        return m[1]

    def _push(self, lines: list[str], revert_in: int | None, message: str) -> None:
        """A replace copies the whole candidate to flash and has IOS replace with it; a merge
        types the lines in `configure terminal` (with `revert timer M` when asked).

        The timer is in whole minutes (1–120): revert_in is rounded up. `force` skips the
        "Enter Y if you are sure you want to proceed" question. IOS reports a failed replace in
        its output, not by refusing the command (`%Failed to apply command …`, or `Rollback
        aborted`), so that output is searched for the error too.
        """
        archived = self._archive()
        timer = f" time {minutes(revert_in)}" if revert_in else ""
        if self._mode == "replace":
            assert self._candidate is not None
            assert self._t is not None
            self._t.put_file(CANDIDATE, self._candidate)
            out = self._apply(f"configure replace flash:{CANDIDATE} force{timer}", timeout=300)
            if "Rollback Done" not in out:
                raise CommitFailed(f"{self.name}: configure replace did not finish: {out.strip()[-500:]}")
        else:
            self._apply(f"configure terminal revert timer {minutes(revert_in)}" if revert_in else "configure terminal")
            try:
                for line in lines:
                    self._apply(line)
            except CommitFailed:
                # Lines apply as typed: put back the archive taken a moment ago, then say why.
                self._send("end")
                self._send(f"configure replace {archived} force", timeout=300)
                raise
            self._send("end")
        self._archived = archived

    def _pending(self) -> bool:
        out = self._send("show archive config rollback timer")
        return "No Rollback Confirmed Change pending" not in out and bool(re.search(r"Timer value", out))

    def _confirm(self) -> None:
        self._apply("configure confirm")

    def _rollback(self) -> None:
        """A pending timer is fired at once with `configure revert now` (IOS restores the config it
        archived before the change); otherwise the archive taken before our commit is replaced back."""
        if self._pending():
            self._apply("configure revert now", timeout=300)
            return
        if self._archived is None:
            raise CommitFailed(f"{self.name}: no commit by this session to roll back to")
        out = self._apply(f"configure replace {self._archived} force", timeout=300)
        if "Rollback Done" not in out:
            raise CommitFailed(f"{self.name}: rollback did not finish: {out.strip()[-500:]}")
        self._archived = None
