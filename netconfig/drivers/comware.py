"""H3C Comware 7: `configuration commit delay` as the revert timer, `configuration replace file`
for rollback.

Comware applies each line as it is typed: there is no candidate store. Its safety net is
`configuration commit delay M` in system view: unless `configuration commit` follows within M
minutes, the device rolls back to the configuration it had when the delay was set, by itself.
"""

from __future__ import annotations

import re
import time

from .base import CommitFailed
from .vendor import VendorDriver, minutes

ENTER = "system-view"
LEAVE = "return"
SAVED = "flash:/jinbao-rollback.cfg"

# `display interface brief` prints abbreviated names; the config, OSPF and routes need full ones.
_ABBREVIATIONS = (
    ("M-GE", "M-GigabitEthernet"),
    ("XGE", "Ten-GigabitEthernet"),
    ("FGE", "FortyGigE"),
    ("HGE", "HundredGigE"),
    ("GE", "GigabitEthernet"),
    ("InLoop", "InLoopBack"),
    ("Loop", "LoopBack"),
    ("REG", "Register-Tunnel"),
    ("Vlan", "Vlan-interface"),
    ("BAGG", "Bridge-Aggregation"),
    ("RAGG", "Route-Aggregation"),
)


class ComwareDriver(VendorDriver):
    platform = "h3c_comware"
    VENDOR = "H3C"
    SHOW_VERSION = "display version"
    SHOW_INTERFACES = "display interface brief"
    SHOW_RUNNING = "display current-configuration"
    SHOW_STARTUP = "display saved-configuration"
    SHOW_OSPF = "display ospf peer"
    SHOW_ROUTE = "display ip routing-table {destination}"
    HOSTNAME = r"\s*sysname"  # Comware indents its global commands by one space
    PROMPT = r"<[\w.-]+>|\[[\w./:-]+\]"
    ERROR = re.compile(r"^\s*(% )?(Unrecognized command|Incomplete command|Wrong parameter|Too many parameters|Error:)")

    _deadline: float | None = None

    def interface_name(self, name: str) -> str:
        """Comware's brief tables, `display ospf peer` and the routing table print `GE1/0/1` for
        `GigabitEthernet1/0/1`; the config (and every other platform) uses the full name."""
        for short, full in _ABBREVIATIONS:
            if re.fullmatch(rf"{re.escape(short)}\d.*", name) and not name.startswith(full):
                return full + name[len(short) :]
        return name

    def _version(self, record: dict[str, object]) -> tuple[str, str, str, str]:
        """Comware prints its version and release apart ('7.1.064', 'Release 9628P2415')."""
        os_version = f"Comware {record['software_version']} Release {record['release']}"
        return str(record["model"]), os_version, "", str(record["uptime"])

    def _link(self, record: dict[str, object]) -> tuple[bool, bool]:
        """Link `ADM` is administratively down; Protocol `UP(s)` is spoofed (loopbacks, NULL)."""
        link, proto = str(record["link"]), str(record["protocol"])
        return link == "UP" and proto.startswith("UP"), link != "ADM"

    def _route_protocol(self, record: dict[str, object]) -> str:
        # O_INTRA / O_INTER / O_ASE1 are OSPF; Direct, Static, BGP as printed.
        proto = str(record["protocol"])
        return "ospf" if proto.startswith("O_") else proto.lower()

    def _save_running(self) -> None:
        """`save FILE` asks before writing; it saves to that file only, not as the next-startup
        config, so the startup config is left as it was."""
        self._send(f"save {SAVED}", expect=r"\[Y/N\]")
        self._apply("Y", timeout=120)

    def _push(self, lines: list[str], revert_in: int | None, message: str) -> None:
        """Save the running config, set the delay, then send the lines one by one.

        The delay is in whole minutes (1–65535): revert_in is rounded up, never down. Lines apply
        as typed, so a refused line (`% Unrecognized command found at '^' position.`) leaves the
        earlier ones applied: the driver then restores the saved file at once with
        `configuration replace file` (after `configuration commit`, which stops the delay timer so
        it does not fire later over the restored config), and raises CommitFailed with the
        device's message.
        """
        self._save_running()
        self._send(ENTER)
        if revert_in:
            self._apply(f"configuration commit delay {minutes(revert_in, 1, 65535)}")
        try:
            for line in lines:
                self._apply(line)
        except CommitFailed:
            # Back to system view from whatever section the refused line was typed in.
            self._send(LEAVE)
            self._send(ENTER)
            if revert_in:
                self._send("configuration commit")
            self._replace_with_saved()
            self._send(LEAVE)
            raise
        self._send(LEAVE)
        self._deadline = time.monotonic() + 60 * minutes(revert_in, 1, 65535) if revert_in else None

    def _replace_with_saved(self) -> None:
        """`configuration replace file` asks whether to save the config it is about to replace: no."""
        self._send(f"configuration replace file {SAVED}", expect=r"\[Y/N\]")
        self._apply("N", timeout=300)

    def _pending(self) -> bool:
        """Comware has no command that shows a running commit delay, so the driver keeps its deadline:
        a new session cannot see a delay an earlier one set (the device still honours it)."""
        return self._deadline is not None and time.monotonic() < self._deadline

    def _confirm(self) -> None:
        self._send(ENTER)
        self._apply("configuration commit")
        self._send(LEAVE)
        self._deadline = None

    def _rollback(self) -> None:
        """Back to the file saved before the last commit; a pending delay is committed first so its
        timer cannot roll back again afterwards."""
        self._send(ENTER)
        if self._pending():
            self._apply("configuration commit")
            self._deadline = None
        self._replace_with_saved()
        self._send(LEAVE)
