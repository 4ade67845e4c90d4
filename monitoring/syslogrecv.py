"""The syslog receiver: UDP (RFC 5426) and, optionally, TCP with RFC 6587 framing.

Every datagram or TCP frame ends as one record handed to `on_record`, a dict:
{source, transport, device, outcome: accepted|unknown_sender|malformed, why, message fields}.
The device is the inventory device whose management address the message came from (a relay's
or a NAT's address can be named with `--sender`); a source that is no device is recorded as
`unknown_sender` with its address, never dropped. A message that does not parse
(syslogparse.Malformed: garbage, truncated, oversize, neither UTF-8 nor GB18030) is recorded
as `malformed` with why and the first bytes, against its source. Each datagram and frame is
handled inside its own try, so nothing a sender does ends the receiver.

TCP framing (RFC 6587 3.4): a frame that starts with a digit is octet-counted (`LEN SP MSG`),
otherwise it runs to LF (non-transparent framing, what most relays send). A frame longer than
syslogparse.MAX_BYTES is recorded as oversize and the connection is closed: past it, the
stream cannot be framed again.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

from jinbao.netns import inside

from .syslogparse import MAX_BYTES, Malformed, parse

HEAD = 120  # bytes of a malformed message kept in its record


@dataclass
class Config:
    listen: str = "127.0.0.1"
    port: int = 1514
    tcp: bool = False
    netns: str | None = None
    senders: dict[str, str] = field(default_factory=dict)  # management address -> device


def record(data: bytes, source: tuple[str, int], transport: str, senders: dict[str, str]) -> dict:
    """What one message was, from whom: the record the receiver hands on (see module doc)."""
    device = senders.get(source[0])
    rec: dict = {"source": f"{source[0]}:{source[1]}", "transport": transport, "device": device}
    try:
        msg = parse(data)
    except Malformed as e:
        return rec | {
            "outcome": "malformed",
            "why": str(e),
            "bytes": len(data),
            "head": data[:HEAD].decode("utf-8", "backslashreplace"),
        }
    except Exception as e:  # a parser bug must cost one message, not the receiver
        return rec | {"outcome": "malformed", "why": f"unreadable: {type(e).__name__}: {e}", "bytes": len(data)}
    rec |= {"outcome": "accepted" if device else "unknown_sender", **msg.as_dict()}
    if device is None:
        rec["why"] = "the source address is no device of the estate"
    return rec


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, receiver: Receiver):
        self.receiver = receiver

    def datagram_received(self, data: bytes, addr) -> None:
        self.receiver.handle(data, (str(addr[0]), int(addr[1])), "udp")

    def error_received(self, exc: Exception) -> None:
        pass  # an ICMP error for an earlier datagram: nothing was received, nothing to record


class Receiver:
    def __init__(self, cfg: Config, on_record: Callable[[dict], None]):
        self.cfg = cfg
        self.on_record = on_record
        self._closers: list[Callable[[], None]] = []

    def handle(self, data: bytes, source: tuple[str, int], transport: str) -> None:
        try:
            rec = record(data, source, transport, self.cfg.senders)
        except Exception as e:  # never let one message end the receiver
            rec = {"source": f"{source[0]}:{source[1]}", "transport": transport, "device": None}
            rec |= {"outcome": "malformed", "why": f"unreadable: {type(e).__name__}: {e}"}
        self.on_record(rec)

    def _socket(self, kind: int) -> socket.socket:
        def make() -> socket.socket:
            s = socket.socket(socket.AF_INET, kind)
            if kind == socket.SOCK_STREAM:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((self.cfg.listen, self.cfg.port))
            if kind == socket.SOCK_STREAM:
                s.listen(64)
            s.setblocking(False)
            return s

        return inside(self.cfg.netns, make)

    async def open(self) -> list[str]:
        """Bind UDP (and TCP) on the configured address, in cfg.netns when given; what was bound."""
        loop = asyncio.get_running_loop()
        udp = self._socket(socket.SOCK_DGRAM)
        transport, _ = await loop.create_datagram_endpoint(lambda: _Datagrams(self), sock=udp)
        self._closers.append(transport.close)
        host, port = udp.getsockname()[:2]
        bound = [f"udp {host}:{port}"]
        if self.cfg.tcp:
            if self.cfg.port == 0:  # the same port number for both, as a sender expects
                self.cfg.port = port
            tcp = self._socket(socket.SOCK_STREAM)
            server = await asyncio.start_server(self._stream, sock=tcp, limit=MAX_BYTES + 64)
            self._closers.append(server.close)
            bound.append(f"tcp {host}:{tcp.getsockname()[1]}")
        return bound

    def close(self) -> None:
        for close in self._closers:
            close()

    async def _stream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername") or ("?", 0)
        source = (str(peer[0]), int(peer[1]))
        try:
            while True:
                frame = await self._frame(reader, source)
                if frame is None:
                    break
                self.handle(frame, source, "tcp")
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _unframed(self, source: tuple[str, int], why: str) -> None:
        rec = {"source": f"{source[0]}:{source[1]}", "transport": "tcp", "device": self.cfg.senders.get(source[0])}
        self.on_record(rec | {"outcome": "malformed", "why": why + "; connection closed"})

    async def _frame(self, reader: asyncio.StreamReader, source: tuple[str, int]) -> bytes | None:
        """The next frame, or None at the end of the stream or after a frame that cannot be framed."""
        first = await reader.read(1)
        if not first:
            return None
        if first.isdigit():
            try:
                digits = first + await reader.readuntil(b" ")
                size = int(digits[:-1])
            except (ValueError, asyncio.LimitOverrunError):
                self._unframed(source, "octet count is not a number followed by a space")
                return None
            if size > MAX_BYTES:
                self._unframed(source, f"oversize: octet count {size} (this receiver takes {MAX_BYTES})")
                return None
            return await reader.readexactly(size)
        try:
            line = first + await reader.readuntil(b"\n")
        except asyncio.LimitOverrunError:
            self._unframed(source, f"oversize: no LF within {MAX_BYTES} bytes")
            return None
        except asyncio.IncompleteReadError as e:  # the last frame, without its LF
            return (first + e.partial) or None
        return line.rstrip(b"\r\n")
