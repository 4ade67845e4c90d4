"""Sockets opened inside a named network namespace, for Python transports (paramiko, netmiko, pysnmp).

A Target's management network may be reachable only from a namespace (the lab's operator seat).
OpenSSH gets there with `ip netns exec`; a Python library cannot, but a socket is bound to the
namespace it was *created* in, not to the thread that later uses it. So one short-lived thread
enters the namespace with setns(2), creates and connects the socket, and hands it back; the
caller's threads never change namespace. This costs no extra process per session, unlike a
ProxyCommand (`ip netns exec NS nc %h %p`) would, and needs no `nc` on the machine.

setns on the network namespace needs CAP_SYS_ADMIN (root), as `ip netns exec` does.
"""

from __future__ import annotations

import ctypes
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from .errors import JinbaoError

NETNS_DIR = Path("/run/netns")  # where `ip netns add` pins named namespaces
CLONE_NEWNET = 0x40000000
T = TypeVar("T")

_libc = ctypes.CDLL(None, use_errno=True)


class NetnsError(JinbaoError):
    """A named namespace does not exist, or this process may not enter it."""


def _setns(fd: int) -> None:
    # os.setns arrived in Python 3.12; libc's setns is the same call.
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def connect(host: str, port: int, netns: str | None = None, timeout: float = 10.0) -> socket.socket:
    """A TCP socket connected to host:port from inside netns (or from here when netns is None).

    Raises NetnsError when the namespace is missing or cannot be entered, and OSError (e.g.
    ConnectionRefusedError, TimeoutError) when the peer does not answer, as socket.create_connection."""
    return inside(netns, lambda: socket.create_connection((host, port), timeout=timeout))


def udp_socket(netns: str | None = None) -> socket.socket:
    """An unbound IPv4 UDP socket of netns, for a datagram transport (pysnmp) to send from.

    Like a TCP socket, it stays in the namespace it was created in whichever thread uses it, so
    an asyncio loop in the caller's namespace can serve devices of several namespaces at once."""
    return inside(netns, lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM))


def inside(netns: str | None, make: Callable[[], T]) -> T:
    """make() run in netns (here when None) by a short-lived thread; its result or its exception."""
    if not netns:
        return make()
    path = NETNS_DIR / netns
    if "/" in netns or not path.exists():
        raise NetnsError(f"no network namespace {netns!r} (looked for {path})")
    box: dict[str, object] = {}

    def run() -> None:
        # setns changes only this thread's namespace; the thread ends right after, so no other
        # work ever runs in a namespace it did not expect.
        try:
            with open(path, "rb") as f:
                _setns(f.fileno())
            box["value"] = make()
        except PermissionError as e:
            box["error"] = NetnsError(f"cannot enter network namespace {netns!r}: {e} (needs root)")
        except BaseException as e:
            box["error"] = e

    t = threading.Thread(target=run, name=f"netns:{netns}", daemon=True)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]
