"""The nftables firewall driver: the ruleset is the config.

- check: `nft -c -f` (the kernel's own parser, against the live ruleset, changes nothing);
- replace: one `nft -f` of a file that starts with `flush ruleset`, which nft applies as a single
  transaction: the firewall is never half-configured, and a refused file changes nothing;
- merge: `nft -f` of the lines as given (no flush);
- the previous ruleset stays on the device (`echo flush ruleset; nft list ruleset`) for
  rollback and for the on-device revert timer (netconfig.drivers.confirm).

nft needs CAP_NET_ADMIN. The driver runs it from the account's `~/bin` first, then the sbin
folders: on a real firewall `~/bin/nft` is a one-line `exec sudo -n /usr/sbin/nft "$@"`; the lab
puts a root-owned copy with that one capability there (sudo is not installed).

compare_config compares what nft itself prints: nft prints only what it has applied, so the
candidate is applied in a scratch network namespace of an unprivileged user namespace on the
device (`unshare -rn`, which touches nothing of the firewall's own) and listed there. Two
spellings of one rule therefore compare equal. Where the device forbids user namespaces, the
compare falls back to the candidate's text (then a rule written in another style shows as changed).
"""

from __future__ import annotations

import difflib
import re

from jinbao.target import Target

from . import linux, vtysh
from .base import Configs, Facts, Interface, OspfNeighbor, Routes
from .confirm import ShellLifecycle
from .ssh import Shell

FLUSH = "flush ruleset"


def _norm(text: str) -> list[str]:
    return [s for line in text.splitlines() if (s := line.strip()) and not s.startswith("#") and s != FLUSH]


class NftablesDriver(ShellLifecycle):
    """A Linux firewall whose policy is its nftables ruleset (FRR beside it is read, not written)."""

    PRELUDE = 'export PATH="$HOME/bin:/usr/sbin:/sbin:$PATH"\n'
    SAVE = f"echo '{FLUSH}' && nft list ruleset"
    APPLY = "nft -f {file}"
    MERGE = "nft -f {file}"
    CHECK = "nft -c -f {file}"

    def __init__(self, target: Target, timeout: float = 30.0):
        self.target = target
        self.name = target.name
        self.sh = Shell(target, timeout)
        self._candidate = None

    def open(self) -> None:
        self.sh.open()

    def close(self) -> None:
        self.sh.close()

    def _nft(self, args: str) -> str:
        return self.sh.check(f"{self.PRELUDE}nft {args}", what=f"nft {args}")

    def _prepare(self, config: str, mode: str) -> str:
        # A replace is a whole ruleset: start from nothing, in the same transaction.
        if mode == "replace" and FLUSH not in _norm_head(config):
            return f"{FLUSH}\n{config}"
        return config

    def compare_config(self) -> str:
        if self._candidate is None:
            return ""
        if self._mode == "merge":
            return self.masked("".join(f"+ {line}\n" for line in _norm(self._candidate)))
        running = _norm(self._nft("list ruleset"))
        candidate = _norm(self._as_listed() or self._candidate)
        diff = difflib.unified_diff(running, candidate, "running", "candidate", lineterm="", n=2)
        return self.masked("\n".join(diff) + "\n") if running != candidate else ""

    def _as_listed(self) -> str | None:
        """The candidate as nft lists it once applied, from a throwaway namespace; None if the
        device cannot make one. /usr/sbin/nft, not ~/bin's: a user namespace grants it every
        capability it needs there, and file capabilities do not carry into one."""
        r = self.sh.run(
            self._script(f"unshare -rn sh -c '/usr/sbin/nft -f {self.candidate_file} && /usr/sbin/nft list ruleset'")
        )
        return r.out if r.rc == 0 else None

    # -- getters ------------------------------------------------------------------------------------
    def get_facts(self) -> Facts:
        version = re.search(r"v(\S+)", self._nft("-v"))
        return linux.facts(self.sh, os_version=f"nftables {version[1] if version else '?'}")

    def get_interfaces(self) -> dict[str, Interface]:
        return linux.interfaces(self.sh)

    def get_config(self, retrieve: str = "all") -> Configs:
        want = {"running", "candidate"} if retrieve == "all" else {retrieve}
        return Configs(
            running=self._nft("list ruleset") if "running" in want else "",
            startup="",  # the lab loads its ruleset at node start; no file is read at boot
            candidate=(self._candidate or "") if "candidate" in want else "",
        )

    def get_ospf_neighbors(self) -> list[OspfNeighbor]:
        # The lab's firewalls run FRR to advertise their zones; a firewall without vtysh has none.
        if self.sh.run("command -v vtysh >/dev/null").rc != 0:
            return []
        return vtysh.ospf_neighbors(self.sh)

    def get_route_to(self, destination: str) -> Routes:
        return linux.route_to(self.sh, destination)


def _norm_head(config: str) -> list[str]:
    return [s for line in config.splitlines()[:5] if (s := line.strip())]
