"""Did a wave break the network? Routing state before the wave against state after it.

A device's state is what the network does, not what its config says: its OSPF adjacencies that
are up, the loopbacks and announced prefixes of the estate it has an active route to
(`get_route_to`), and its interfaces that are up. After a wave's commits the routers are polled
until nothing that was up before is down, unless the intent itself takes it away (a neighbour,
loopback or announced prefix that is no longer in the estate, an interface the device no longer
has), and that holds for two OSPF dead intervals: an adjacency that is about to drop (a hello
mismatch) takes a dead interval to do so.
No fixed sleeps: polls stop as soon as the state has held, or at the deadline.

The intended effect is checked too: every prefix announced by a device of the wave (the intent's
`announce`) must be routed on every router polled, whether it was before or not. OSPF advertises
an announced prefix from a loopback address as the /32 of its first host (RFC 2328 9.1, and what
FRR 8.4's ospfd does), so a router routes the prefix when it has an active route for that first
host that lies within the prefix (a default route does not count). A prefix the intent no longer
announces may go.

Blame: a loss seen on a device of the wave is that device's. A loss seen elsewhere is put on the
wave device it involves (the neighbour that went, the loopback no longer reached); a loss that
involves no device of the wave is put on every device of the wave, since one of them caused it.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

from jinbao.intent import announced_address
from jinbao.model import Estate
from jinbao.target import Target

from .drivers import Getters, driver_for, session


@dataclass(frozen=True)
class State:
    adjacencies: frozenset[tuple[str, str]]  # (our interface, neighbour router id), up
    routes: frozenset[str]  # loopbacks and announced prefixes with an active route
    interfaces: frozenset[str]  # interfaces up


def adjacency_up(state: str) -> bool:
    # On a LAN two DROthers stop at 2-Way by design; everything else must reach Full.
    return state.startswith("Full") or state.startswith("2-Way/DROther")


def loopbacks(estate: Estate) -> dict[str, str]:
    """Loopback address → device name, for every device of the estate that has one."""
    return {str(d.loopback): n for n, d in estate.devices.items() if d.loopback}


def announced(estate: Estate) -> dict[str, str]:
    """Announced prefix → the device that announces it."""
    return {str(n): name for name, d in estate.devices.items() for n in d.announce}


# What one lookup asks: the address to look up, and the prefix the route found must lie within
# (None: any active route will do, as for loopbacks).
Lookup = tuple[str, IPv4Network | None]


def lookups(estate: Estate) -> dict[str, Lookup]:
    """Every destination the state check reads, by the name losses are told by: each loopback,
    and each announced prefix looked up by the first host its loopback address advertises."""
    out: dict[str, Lookup] = {lo: (lo, None) for lo in loopbacks(estate)}
    for d in estate.devices.values():
        for n in d.announce:
            out[str(n)] = (str(announced_address(n).ip), n)
    return out


def _routed(found: dict, within: IPv4Network | None) -> bool:
    for prefix, entries in found.items():
        if within is not None and not IPv4Network(prefix, strict=False).subnet_of(within):
            continue
        if any(e.get("current_active") for e in entries):
            return True
    return False


def route_lookup(d) -> Callable[[str], dict]:
    """How to ask d for the route to an address. A NAPALM driver (FRR) hands over its whole table
    in one call (`get_route_to("0.0.0.0/0", longer=True)`), and each address is then matched here,
    longest prefix first, as the router does: one call instead of one per loopback and announced
    prefix of the estate, which at 57 routers was 57 x 57 vtysh runs per state read. Any other
    driver is asked once per address."""
    if "longer" not in inspect.signature(d.get_route_to).parameters:
        return d.get_route_to
    return table_lookup(d.get_route_to("0.0.0.0/0", longer=True))


def table_lookup(table: dict) -> Callable[[str], dict]:
    """A lookup in a whole table (get_route_to's shape): longest prefix first, as the router does.
    By prefix length, one dict lookup per length the table has: a poll asks every router for every
    loopback, and testing each address against every prefix of a 61-node table was most of the
    poll's time in jinbao's own process."""
    by_len: dict[int, dict[int, str]] = {}
    for p in table:
        net = IPv4Network(p)
        by_len.setdefault(net.prefixlen, {}).setdefault(int(net.network_address), p)
    lengths = sorted(by_len, reverse=True)

    def lookup(addr: str) -> dict:
        a = int(IPv4Address(addr.split("/")[0]))
        for n in lengths:
            p = by_len[n].get(a & (0xFFFFFFFF << (32 - n)) & 0xFFFFFFFF)
            if p is not None:
                return {p: table[p]}
        return {}

    return lookup


def _read(d, asks: dict[str, Lookup]) -> State:
    if hasattr(d, "get_routing_state"):  # FRR: all of it in one round trip
        nbrs, table, up = d.get_routing_state()
        route = table_lookup(table)
    else:
        nbrs, route = d.get_ospf_neighbors(), route_lookup(d)
        up = frozenset(name for name, i in d.get_interfaces().items() if i["is_up"])
    adj = frozenset((n["interface"], n["router_id"]) for n in nbrs if adjacency_up(n["state"]))
    routes = {dest for dest, (addr, within) in asks.items() if _routed(route(addr), within)}
    return State(adj, frozenset(routes), up)


class Readers:
    """Sessions kept open for one apply: its plan, the state read before each wave, every poll
    after it, and the commits (see netconfig.apply) share one login per device; a poll of 55
    routers was 55 SSH logins, each costing both ends CPU. A kept session that fails (the change
    cut it, sshd restarted) is dropped and the read tried once more on a fresh login, so a stale
    session is never taken for a device that stopped answering. A session the plan left a
    candidate loaded in carries the config it loaded and the running config it diffed against
    (`planned`), so the commit can use that candidate instead of loading it again. close()
    discards any candidate left and ends them all; one thread uses a given device's session at a
    time (take() hands it over, keep() gives it back)."""

    def __init__(self) -> None:
        self._open: dict[str, Getters] = {}
        self._lock = threading.Lock()
        # device -> (the config its kept session has loaded as a candidate, the running config
        # that candidate was diffed against)
        self.planned: dict[str, tuple[str, str]] = {}

    def take(self, name: str) -> tuple[Getters | None, tuple[str, str] | None]:
        """The device's kept session, now the caller's alone (give it back with keep()), and what
        the plan left loaded in it (None: no candidate)."""
        with self._lock:
            return self._open.pop(name, None), self.planned.pop(name, None)

    def keep(self, target: Target, d: Getters, planned: tuple[str, str] | None = None) -> None:
        with self._lock:
            self._open[target.name] = d
            if planned is not None:
                self.planned[target.name] = planned

    def read(self, target: Target, asks: dict[str, Lookup]) -> State:
        with self._lock:
            d = self._open.pop(target.name, None)
        if d is not None:
            try:
                state = _read(d, asks)
            except Exception:
                with self._lock:
                    self.planned.pop(target.name, None)  # its candidate went with the session
                d.close()
            else:
                self.keep(target, d)
                return state
        d = driver_for(target)
        d.open()
        try:
            state = _read(d, asks)
        except BaseException:
            d.close()
            raise
        self.keep(target, d)
        return state

    def close(self) -> None:
        with self._lock:
            kept, self._open = self._open, {}
            loaded, self.planned = set(self.planned), {}
        for name, d in kept.items():
            try:
                if name in loaded:  # a plan's candidate that was never committed
                    d.discard_config()  # type: ignore[attr-defined]
            except Exception:  # its session died: the device keeps a stray candidate file, no more
                pass
            finally:
                d.close()


def read_state(target: Target, to: Iterable[str] | dict[str, Lookup], readers: Readers | None = None) -> State:
    """One device's routing state, in one session (one of readers' kept sessions when given)."""
    asks = to if isinstance(to, dict) else {dest: (dest, None) for dest in to}
    if readers is not None:
        return readers.read(target, asks)
    with session(driver_for(target)) as d:
        return _read(d, asks)


def losses(host: str, before: State, after: State, estate: Estate) -> list[tuple[str, str | None]]:
    """(what was lost, the device it involves or None) for everything up before and not after
    that the intent (estate) does not take away."""
    owner = loopbacks(estate)
    prefixes = announced(estate)
    device = estate.devices.get(host)
    keeps = {i.name for i in device.interfaces} if device else set()
    out: list[tuple[str, str | None]] = []
    for iface, rid in sorted(before.adjacencies - after.adjacencies):
        if rid in owner:
            out.append((f"lost OSPF adjacency with {owner[rid]} ({rid}) on {iface}", owner[rid]))
    for dest in sorted(before.routes - after.routes):
        if dest in owner:
            out.append((f"lost its route to {owner[dest]}'s loopback {dest}", owner[dest]))
        elif dest in prefixes:
            out.append((f"lost its route to {dest}, announced by {prefixes[dest]}", prefixes[dest]))
    for iface in sorted(before.interfaces - after.interfaces):
        if iface in keeps:
            out.append((f"interface {iface} went down", None))
    return out


def not_yet_routed(host: str, after: State, wave: set[str], estate: Estate) -> list[tuple[str, str | None]]:
    """The intended effect: each prefix a device of the wave announces, not (yet) routed on host."""
    return [
        (f"does not route {prefix}, which {owner} now announces", owner)
        for prefix, owner in sorted(announced(estate).items())
        if owner in wave and prefix not in after.routes
    ]


def blame(seen: dict[str, list[tuple[str, str | None]]], wave: set[str]) -> dict[str, list[str]]:
    """Per wave device, the losses put on it (see the module's docstring)."""
    out: dict[str, list[str]] = {}
    for host, found in sorted(seen.items()):
        for what, involves in found:
            if host in wave:
                out.setdefault(host, []).append(what)
            elif involves in wave:
                out.setdefault(str(involves), []).append(f"{host} {what}")
            else:
                for w in sorted(wave):
                    out.setdefault(w, []).append(f"{host} {what} (not attributable to one device of the wave)")
    return out


def describe(states: dict[str, State]) -> str:
    """One line an operator reads: what the check will hold the wave to."""
    adj = sum(len(s.adjacencies) for s in states.values())
    routes = sum(len(s.routes) for s in states.values())
    up = sum(len(s.interfaces) for s in states.values())
    return f"{adj} OSPF adjacencies, {routes} loopback routes, {up} interfaces up, on {len(states)} routers"


def snapshot(
    targets: list[Target], estate: Estate, workers: int = 8, readers: Readers | None = None
) -> dict[str, State]:
    """The state of every target that answers (one that does not is left out: nothing to lose)."""
    to = lookups(estate)

    def one(t: Target) -> tuple[str, State | None]:
        try:
            return t.name, read_state(t, to, readers)
        except Exception:
            return t.name, None

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(targets) or 1))) as pool:
        return {n: s for n, s in pool.map(one, targets) if s is not None}


def verify(
    targets: list[Target],
    before: dict[str, State],
    wave: set[str],
    estate: Estate,
    *,
    deadline_s: float,
    hold_s: float,
    read: Callable[[list[Target], Estate], dict[str, State]] = snapshot,
    clock: Callable[[], float] = time.monotonic,
    pause: Callable[[float], None] = time.sleep,
) -> dict[str, list[str]]:
    """Poll until no loss has been seen for hold_s, or deadline_s passes; {} when the wave is good,
    else the problems per wave device (a wave device that stops answering is one)."""
    polled = [t for t in targets if t.name in before]
    t0 = clock()
    clean_since: float | None = None
    while True:
        now_state = read(polled, estate)
        seen = {h: losses(h, before[h], s, estate) + not_yet_routed(h, s, wave, estate) for h, s in now_state.items()}
        problems = blame({h: f for h, f in seen.items() if f}, wave)
        for h in sorted(wave & before.keys() - now_state.keys()):
            problems.setdefault(h, []).append("did not answer the state check")
        now = clock()
        if problems:
            clean_since = None
            if now - t0 >= deadline_s:
                return problems
        else:
            clean_since = clean_since if clean_since is not None else now
            if now - clean_since >= hold_s:
                return {}
        pause(1.0)
