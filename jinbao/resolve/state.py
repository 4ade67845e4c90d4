"""The resolver's working state: drafts of sites and devices, and where each was written.

The stages (sites, devices, links, build) are plain functions over one State, run in a fixed
order by resolve(); the helpers every stage needs (placeholders, for_each, zone lists,
interfaces) live here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Literal

from ..loader import RawEstateFiles, Src
from ..model import Interface, Link, SiteKind
from ..names import did_you_mean
from ..platforms import facts
from ..problems import ProblemList
from ..schema import RawDevice, RawZone
from ..yamlsrc import Origin

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def suggest(name: str, options) -> str:
    return did_you_mean(name, options)


def sub(src: Src, *more) -> Src:
    """The source of a part of an item (its zones, its j-th device)."""
    return Src(src.pos, src.path + more)


def interface_ip(addr: IPv4Address, net: IPv4Network) -> IPv4Interface:
    # From integers: parsing "a.b.c.d/n" strings was a third of the resolver's time.
    return IPv4Interface((int(addr), net.prefixlen))


@dataclass
class Where:
    """Where each resolved item was written, so a check can name the line of one of its fields.

    A device or zone made from a template points into the template: that is the line to change.
    """

    estate: Src | None  # None when validate() is called without the loader's sources
    routing: Src | None = None
    management_plane: Src | None = None
    sites: dict[str, Src] = field(default_factory=dict)
    devices: dict[str, Src] = field(default_factory=dict)
    zones: dict[tuple[str, str], Src] = field(default_factory=dict)
    links: dict[str, Src] = field(default_factory=dict)
    dr_pairs: list[Src] = field(default_factory=list)
    # The site kind of each policy entry written with for_each, by its line: a fix for a policy
    # that repeats one must not ask to edit an entry every site of that kind shares.
    policy_each: dict[Origin, str] = field(default_factory=dict)
    # Sites and devices that were written but could not be built (a problem says why), and
    # whether some links could not be: checks skip what they would only report as missing.
    unbuilt: set[str] = field(default_factory=set)
    links_incomplete: bool = False
    # Sites whose entry could not be read at all (an unknown template, no kind): their devices
    # were never named, so a reference to '<site>-…' is lost with them, not a new mistake.
    lost_sites: set[str] = field(default_factory=set)
    # Device names defined twice (reported): a reference from the second one's site finds the
    # first, at another site, which says nothing new.
    duplicated: set[str] = field(default_factory=set)

    def lost(self, name: str) -> bool:
        """Whether a name that resolves to nothing belongs to something already reported."""
        return name in self.unbuilt or name in self.lost_sites or any(name.startswith(f"{s}-") for s in self.lost_sites)


@dataclass
class SiteDraft:
    name: str
    kind: SiteKind
    title: str
    parent: str | None
    block: IPv4Network | None
    prefix: int | None  # None: no size given anywhere (reported)
    prefix_at: tuple[Origin, str]  # where the prefix was set: the site, its template or the estate
    loopbacks: int
    loopbacks_at: tuple[Origin, str]
    area: int | Literal["auto"]  # every site has a number once sites._areas has run
    zones: list[tuple[RawZone, Src]]
    devices: list[tuple[RawDevice, Origin, Src]]  # origin: the site entry; Src: the device entry
    origin: Origin
    src: Src
    zone_blocks: dict[str, IPv4Network | None] = field(default_factory=dict)  # None: no room (reported)
    loop_pool: IPv4Network | None = None
    mgmt_block: IPv4Network | None = None
    parent_lost: bool = False  # its parent was missing or wrong (reported); {parent} is unknown

    def parent_var(self) -> str | None:
        """What {parent} and {each_parent} stand for: None (unknown) after a reported parent."""
        return None if self.parent_lost else self.parent or ""


@dataclass
class DevDraft:
    name: str
    site: str
    raw: RawDevice
    zone: str | None
    origin: Origin
    src: Src
    interfaces: list[Interface] = field(default_factory=list)
    loopback: IPv4Address | None = None
    mgmt_ip: IPv4Address | None = None


class _Unknown(Exception):
    """A placeholder whose value is unknown because of a problem already reported."""


class State:
    """Everything the stages share: the raw files, the drafts so far, the problems met."""

    def __init__(self, raw: RawEstateFiles):
        self.raw = raw
        self.p = ProblemList()
        # read_estate() raises when no file defines the estate, so a loaded estate has one.
        assert raw.estate is not None
        self.est, self.est_src = raw.estate
        self.where = Where(
            estate=self.est_src,
            routing=raw.routing[1] if raw.routing else None,
            management_plane=raw.management_plane[1] if raw.management_plane else None,
        )
        self.sites: dict[str, SiteDraft] = {}  # filled by the stages, in order
        self.devices: dict[str, DevDraft] = {}
        self.links: list[Link] = []
        self.zone_firewalls: dict[tuple[str, str], str] = {}
        self.area_flagged: set[str] = set()  # sites whose area is already reported
        self.template_zones = {
            name: self.zone_list(t.zones, sub(src, "zones"), f"template {name}")
            for name, (t, src) in raw.site_templates.items()
        }

    def subst(self, text, vars_, where: Src | Origin, fieldname):
        """Fill in {placeholders}; where is the entry (or the line) to blame for an unknown one."""
        if text is None or "{" not in text:
            return text

        def rep(m):
            if m.group(1) not in vars_:
                raise KeyError(m.group(1))
            if vars_[m.group(1)] is None:
                raise _Unknown
            return str(vars_[m.group(1)])

        try:
            return _PLACEHOLDER.sub(rep, text)
        except _Unknown:
            # The value is unknown because of a problem already reported (a county's parent):
            # '-wan1' would only add a wrong problem, and a worse suggestion, on top of it.
            return None
        except KeyError as k:
            origin = where.at(fieldname) if isinstance(where, Src) else where
            self.p.add(
                origin,
                fieldname,
                f"unknown placeholder {{{k.args[0]}}} in {text!r}",
                f"use one of {', '.join(f'{{{v}}}' for v in sorted(vars_))}",
            )
            return None

    def for_each(self, fe, vars_):
        """Yield variable sets: once plainly, or once per site of the kind for_each names."""
        if fe is None:
            yield vars_
            return
        for s in self.sites.values():
            if s.kind == fe.kind:
                yield {**vars_, "each": s.name, "each_parent": s.parent_var(), "each_title": s.title}

    def zone_list(self, zones, src: Src, owner: str) -> list[tuple[RawZone, Src]]:
        """A site's (or template's) zones, each once: a second zone of the same name is reported,
        never allowed to replace the first silently."""
        out: list[tuple[RawZone, Src]] = []
        seen: dict[str, Origin] = {}
        for j, z in enumerate(zones or []):
            zsrc = sub(src, j)
            if z.name in seen:
                self.p.add(
                    zsrc.at("name"),
                    f"zones.{z.name}.name",
                    f"{owner} already has a zone named {z.name!r} (at {seen[z.name]})",
                    "give every zone of a site its own name",
                    "reference",
                )
                continue
            seen[z.name] = zsrc.at("name")
            out.append((z, zsrc))
        return out

    def add_interface(self, d: DevDraft, ip, zone=None, link=None, description="", name=None):
        if name is None:
            port = facts(d.raw.platform)
            used = {i.name for i in d.interfaces}
            k = len(d.interfaces)
            while port.interface_name(k) in used:  # step around names given by hand on links
                k += 1
            name = port.interface_name(k)
        iface = Interface(name=name, ip=ip, zone=zone, link=link, description=description)
        d.interfaces.append(iface)
        return iface
