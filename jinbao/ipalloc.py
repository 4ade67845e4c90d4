"""First-fit, aligned carving of IPv4 blocks and hosts. Deterministic: same YAML, same addresses."""

from __future__ import annotations

import bisect
from ipaddress import IPv4Address, IPv4Network


class Pool:
    """Carves aligned subnets out of one network. Explicit blocks are reserved first so that
    automatic allocation never lands on them; overlaps between explicit blocks are left for the
    validator to report, with their sources."""

    def __init__(self, network: IPv4Network):
        self.network = network
        self._lo = int(network.network_address)
        self._hi = int(network.broadcast_address)
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._cursor = self._lo

    def reserve(self, net: IPv4Network) -> None:
        if not net.subnet_of(self.network):
            return  # not this pool's to give away; the validator reports the stray block
        s, e = int(net.network_address), int(net.broadcast_address)
        i = bisect.bisect_left(self._starts, s)
        self._starts.insert(i, s)
        self._ends.insert(i, e)

    def _clash(self, s: int, e: int) -> int | None:
        """End of a reserved range overlapping [s, e], or None.

        Reserved ranges are disjoint unless the estate itself is wrong (which the validator
        reports), so the range starting last at or before e is the only one to look at.
        """
        i = bisect.bisect_right(self._starts, e)
        for j in range(max(0, i - 2), i):
            if self._ends[j] >= s:
                return max(self._ends[j], e)
        return None

    def allocate(self, prefixlen: int) -> IPv4Network | None:
        if prefixlen < self.network.prefixlen:
            return None
        size = 1 << (32 - prefixlen)
        cand = (self._cursor + size - 1) // size * size
        while cand + size - 1 <= self._hi:
            clash = self._clash(cand, cand + size - 1)
            if clash is None:
                net = IPv4Network((cand, prefixlen))
                self.reserve(net)
                self._cursor = cand + size
                return net
            cand = (clash + 1 + size - 1) // size * size
        return None


class Hosts:
    """Hands out host addresses of one subnet in order, skipping ones already taken."""

    def __init__(self, net: IPv4Network, skip_first: int = 0):
        self.net = net
        self._taken: set[int] = set()
        self._next = int(net.network_address) + (1 if net.prefixlen < 31 else 0) + skip_first
        self._last = int(net.broadcast_address) - (1 if net.prefixlen < 31 else 0)

    def take(self, addr: IPv4Address) -> None:
        self._taken.add(int(addr))

    def next(self) -> IPv4Address | None:
        while self._next <= self._last:
            a = self._next
            self._next += 1
            if a not in self._taken:
                self._taken.add(a)
                return IPv4Address(a)
        return None
