"""Explicit blocks against the plan: a block written by hand must not take the place the plan gives
a block nobody wrote.

Automatic blocks step around explicit ones (docs/inventory.md), so a city's `block:` written where
the plan puts the provincial DC moves the province to the next free place: every one of its
addresses changes, and nothing else would say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network

from ..ipalloc import Pool
from ..yamlsrc import Origin
from .state import State


@dataclass(frozen=True)
class _Place:
    """One block a pool gives out, in the order the plan carves them."""

    label: str
    prefix: int | None  # None: no size known (reported); not carved
    written: IPv4Network | None  # the block written by hand, if any
    got: IPv4Network | None  # the block it has now
    origin: Origin | None = None
    field: str = "block"


def displacing_blocks(r: State, pinned: set[str], children: dict) -> None:
    """Check each pool the resolver carved: the supernet, then each site's block. Said at the
    explicit block, with where the other block moved and a place the plan leaves free."""
    est = r.est

    def site_place(s) -> _Place:
        # Planned at the size it would have without block: (its prefix, its template's or the estate's).
        if s.name in pinned and s.block is not None:
            size = s.prefix if s.prefix is not None else s.block.prefixlen
            return _Place(f"{s.kind} {s.name}", size, s.block, s.block, s.src.at("block"))
        return _Place(f"{s.kind} {s.name}", s.prefix, None, s.block)

    fixed = [est.links.block] if est.links.block.subnet_of(est.supernet) else []
    _displaced(r, est.supernet, fixed, [site_place(s) for s in children.get(None, [])])
    for s in r.sites.values():
        if s.block is None:
            continue
        places = [_Place(f"{s.name}'s loopback pool", s.loopbacks, None, s.loop_pool)]
        for z, zsrc in s.zones:
            size = z.block.prefixlen if z.block is not None and "prefix" not in z.model_fields_set else z.prefix
            got = s.zone_blocks.get(z.name)
            places.append(
                _Place(f"zone {s.name}/{z.name}", size, z.block, got, zsrc.at("block"), f"zones.{z.name}.block")
            )
        places += [site_place(k) for k in children.get(s.name, [])]
        _displaced(r, s.block, [], places)


def _displaced(r: State, network, fixed: list, places: list[_Place]) -> None:
    written = [
        (i, p, p.written) for i, p in enumerate(places) if p.written is not None and p.written.subnet_of(network)
    ]
    if not written:
        return  # the usual case: nothing written by hand, nothing to compare
    # The plan as if no block were written: every place carved in order, at its own size.
    plan = Pool(network)
    for f in fixed:
        plan.reserve(f)
    planned: dict[int, IPv4Network] = {}
    for i, p in enumerate(places):
        blk = plan.allocate(p.prefix) if p.prefix is not None else None
        if blk is not None:
            planned[i] = blk
    for j, w, block in written:
        hit = [
            (p, planned[i])
            for i, p in enumerate(places)
            if p.written is None and i in planned and planned[i].overlaps(block) and p.got != planned[i]
        ]
        if not hit:
            continue
        other, there = hit[0]
        moved = f"moves to {other.got}" if other.got is not None else "finds no room"
        more = f" (and {len(hit) - 1} more block(s) the plan places there)" if len(hit) > 1 else ""
        # A place free of the plan's blocks and of every block written by hand.
        free = Pool(network)
        for blk in [*fixed, *planned.values(), *(b for _, _, b in written)]:
            free.reserve(blk)
        spare = free.allocate(block.prefixlen)
        own = planned.get(j)
        r.p.add(
            w.origin,
            w.field,
            f"{w.label}'s block {block} lies where the plan puts {other.label} ({there}) when no block is "
            f"written, so {other.label} {moved} and every address in it changes{more}",
            "drop block:"
            + (f" ({w.label} then gets {own})" if own else "")
            + (f", or choose a block the plan leaves free, such as {spare}" if spare else ""),
            "ip_plan",
        )
