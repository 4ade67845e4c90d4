"""Did a wave break the network? Routing state before the wave against state after it.

A device's state is what the network does, not what its config says: its OSPF adjacencies that
are up, the loopbacks of the estate it has an active route to (`get_route_to`), and its
interfaces that are up. After a wave's commits the routers are polled until nothing that was up
before is down, unless the intent itself takes it away (a neighbour or loopback that is no longer
in the estate, an interface the device no longer has), and that holds for two OSPF dead
intervals: an adjacency that is about to drop (a hello mismatch) takes a dead interval to do so.
No fixed sleeps: polls stop as soon as the state has held, or at the deadline.

Blame: a loss seen on a device of the wave is that device's. A loss seen elsewhere is put on the
wave device it involves (the neighbour that went, the loopback no longer reached); a loss that
involves no device of the wave is put on every device of the wave, since one of them caused it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from jinbao.model import Estate
from jinbao.target import Target

from .drivers import driver_for, session


@dataclass(frozen=True)
class State:
    adjacencies: frozenset[tuple[str, str]]  # (our interface, neighbour router id), up
    routes: frozenset[str]  # loopbacks with an active route
    interfaces: frozenset[str]  # interfaces up


def adjacency_up(state: str) -> bool:
    # On a LAN two DROthers stop at 2-Way by design; everything else must reach Full.
    return state.startswith("Full") or state.startswith("2-Way/DROther")


def loopbacks(estate: Estate) -> dict[str, str]:
    """Loopback address → device name, for every device of the estate that has one."""
    return {str(d.loopback): n for n, d in estate.devices.items() if d.loopback}


def read_state(target: Target, to: Iterable[str]) -> State:
    """One device's routing state, in one session."""
    with session(driver_for(target)) as d:
        adj = frozenset((n["interface"], n["router_id"]) for n in d.get_ospf_neighbors() if adjacency_up(n["state"]))
        routes = set()
        for lo in to:
            found = d.get_route_to(lo)
            if any(e.get("current_active") for entries in found.values() for e in entries):
                routes.add(lo)
        up = frozenset(name for name, i in d.get_interfaces().items() if i["is_up"])
    return State(adj, frozenset(routes), up)


def losses(host: str, before: State, after: State, estate: Estate) -> list[tuple[str, str | None]]:
    """(what was lost, the device it involves or None) for everything up before and not after
    that the intent (estate) does not take away."""
    owner = loopbacks(estate)
    device = estate.devices.get(host)
    keeps = {i.name for i in device.interfaces} if device else set()
    out: list[tuple[str, str | None]] = []
    for iface, rid in sorted(before.adjacencies - after.adjacencies):
        if rid in owner:
            out.append((f"lost OSPF adjacency with {owner[rid]} ({rid}) on {iface}", owner[rid]))
    for lo in sorted(before.routes - after.routes):
        if lo in owner:
            out.append((f"lost its route to {owner[lo]}'s loopback {lo}", owner[lo]))
    for iface in sorted(before.interfaces - after.interfaces):
        if iface in keeps:
            out.append((f"interface {iface} went down", None))
    return out


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


def snapshot(targets: list[Target], estate: Estate, workers: int = 8) -> dict[str, State]:
    """The state of every target that answers (one that does not is left out: nothing to lose)."""
    to = sorted(loopbacks(estate))

    def one(t: Target) -> tuple[str, State | None]:
        try:
            return t.name, read_state(t, to)
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
        seen = {h: losses(h, before[h], s, estate) for h, s in now_state.items()}
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
