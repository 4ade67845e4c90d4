"""The driver contract: what every platform driver does, in NAPALM's shape, as small protocols.

Two protocols, not one base class: `Getters` (reading a device) and `ConfigLifecycle` (changing
it). A driver declares what it implements by its methods; the registry checks that once when it
is built, so "this platform cannot be configured" is known before any device is touched
(`NotSupported`), not discovered half-way through a run as NAPALM's NotImplementedError is.

Return values are TypedDicts. Where NAPALM has a getter, the shape is NAPALM's (`get_facts`,
`get_interfaces`, `get_config`, `get_route_to`), so NAPALM-literate code reads them unchanged.
NAPALM has no OSPF getter; `get_ospf_neighbors` returns a list, because one router may be
adjacent to the same neighbour over two links.

Every error a driver raises on purpose derives from `DriverError`, itself a
`jinbao.errors.JinbaoError`: one root for the whole of jinbao.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol, TypedDict, runtime_checkable

from jinbao.errors import JinbaoError
from jinbao.target import Target


class DriverError(JinbaoError):
    """Root of every deliberate driver error."""


class ConnectionFailed(DriverError):
    """The device could not be reached or refused the login."""


class NotSupported(DriverError):
    """The platform has no driver, or its driver lacks what was asked (e.g. config on a server)."""


class BadDestination(DriverError):
    """get_route_to was given something that is not an IPv4 address or prefix."""


def destination(text: str) -> str:
    """An IPv4 address or prefix, normalised, or BadDestination. Checked before it reaches a
    device: vtysh runs every line of a -c argument, so an unchecked newline would be a command."""
    try:
        return str(ipaddress.ip_network(text.strip(), strict=False) if "/" in text else ipaddress.ip_address(text))
    except ValueError:
        raise BadDestination(f"{text!r} is not an IPv4 address or prefix (e.g. 10.90.0.1 or 10.90.0.0/16)") from None


class CandidateInvalid(DriverError):
    """The device's own checker refused the candidate (nothing was changed)."""


class CommitFailed(DriverError):
    """Applying, confirming or rolling back did not succeed; the message says what state is left."""


# -- getter shapes (NAPALM's where NAPALM has one) ---------------------------------------------
class Facts(TypedDict):
    hostname: str
    fqdn: str
    vendor: str
    model: str
    os_version: str
    serial_number: str
    uptime: float  # seconds
    interface_list: list[str]


class Interface(TypedDict):
    is_up: bool
    is_enabled: bool
    description: str
    last_flapped: float  # -1.0: unknown, as NAPALM says
    speed: float  # Mbit/s; 0 when the kernel does not know (veth)
    mtu: int
    mac_address: str
    # Not in NAPALM's get_interfaces (it has get_interfaces_ip); one call is enough here.
    ipv4: list[str]  # "address/prefixlen"


class Configs(TypedDict):
    running: str
    startup: str
    candidate: str


class OspfNeighbor(TypedDict):
    router_id: str
    address: str  # the neighbour's interface address
    interface: str  # ours
    state: str  # e.g. "Full/DR", "Full/-"


class RouteEntry(TypedDict):
    protocol: str
    current_active: bool
    next_hop: str  # "" for a connected route
    outgoing_interface: str
    preference: int  # administrative distance
    age: int  # seconds; -1 unknown
    routing_table: str


# get_route_to: {prefix: [RouteEntry, ...]} as NAPALM returns it
Routes = dict[str, list[RouteEntry]]


# -- the two protocols -------------------------------------------------------------------------
@runtime_checkable
class Getters(Protocol):
    """Reading a device. Every registered driver implements this."""

    name: str  # the target's name, for results and messages
    target: Target

    def open(self) -> None:
        """Connect and log in; raises ConnectionFailed."""

    def close(self) -> None:
        """Disconnect; safe to call twice, and after a failed open."""

    def get_facts(self) -> Facts:
        """Hostname, OS, model/serial where the device tells, uptime, interface names."""

    def get_interfaces(self) -> dict[str, Interface]:
        """Every interface by name."""

    def get_config(self, retrieve: str = "all") -> Configs:
        """running / startup / candidate ("" where the platform has no such thing)."""

    def get_ospf_neighbors(self) -> list[OspfNeighbor]:
        """OSPF adjacencies; [] on a device that runs no OSPF."""

    def get_route_to(self, destination: str) -> Routes:
        """The route the device would use to reach destination (an address or prefix)."""


@runtime_checkable
class ConfigLifecycle(Protocol):
    """Changing a device: a candidate, its diff, a commit with an optional on-device revert timer."""

    def load_replace_candidate(self, config: str) -> None:
        """The whole intended config; the device's checker runs now (CandidateInvalid)."""

    def load_merge_candidate(self, config: str) -> None:
        """Lines to add to the running config; checked now where the platform can."""

    def compare_config(self) -> str:
        """What commit would change, as +/- lines; "" when nothing (or nothing loaded)."""

    def commit_config(self, message: str = "", revert_in: int | None = None) -> None:
        """Apply the candidate. With revert_in, the device itself restores the previous config
        after that many seconds unless confirm_commit() comes first, even if jinbao dies."""

    def confirm_commit(self) -> None:
        """Keep a commit made with revert_in: stop the device's revert timer."""

    def has_pending_commit(self) -> bool:
        """A commit awaits confirmation (its revert timer is running on the device)."""

    def discard_config(self) -> None:
        """Drop the candidate; the device's running config is not touched."""

    def rollback(self) -> None:
        """Restore the config from before the last commit (and cancel its timer, if any)."""


class Driver(Getters, ConfigLifecycle, Protocol):
    """A driver that can both read and change its device."""


@contextmanager
def session(driver: Getters) -> Iterator[Getters]:
    """Open a driver for a block; on the way out, a candidate not committed is always discarded,
    whatever happened inside, and the connection is closed."""
    driver.open()
    try:
        yield driver
    finally:
        try:
            if isinstance(driver, ConfigLifecycle):
                driver.discard_config()
        finally:
            driver.close()
