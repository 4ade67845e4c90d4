"""The poller's own SNMP engine: the same Engine/Session interface as monitoring/snmp.py, without
pysnmp. `poller.Options(engine="fast")` (`--engine fast`) selects it.

Why: pysnmp spends ~200 ms of CPU per device-poll of a 100-interface router, most of it in
pyasn1 building objects for every varbind (docs/monitoring.md, Benchmark). This engine encodes
and decodes exactly the PDUs the poller uses (fastsnmp_ber.py) and does USM itself
(fastsnmp_usm.py): discovery, localised keys cached per agent engine, HMAC, AES, the time
window. Values come back as plain Python values (see fastsnmp_ber's table), which collect.py reads
alike from either engine.

Failure kinds are the pysnmp engine's (snmp.KINDS): `timeout`, `wrong_auth_key` (a
usmStatsWrongDigests report), `unknown_user`, `wrong_priv_key` (usmStatsDecryptionErrors, where an
agent reports it), `security_level`, `time_window`; `status` for an error-status, `malformed`
for a datagram that authenticated as the agent's answer but does not decode. A datagram that is
not an answer to a pending request (garbage, a stray, a forgery) is counted per peer and
dropped, so the poller can tell a garbage-answering address from a dead one.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections import Counter

from jinbao.netns import udp_socket

from . import fastsnmp_ber as ber
from . import fastsnmp_usm as usm
from .snmp import Credentials, SnmpFailure

_TIMEOUT = object()
_STATS = (1, 3, 6, 1, 6, 3, 15, 1, 1)  # usmStats
REPORTS = {
    _STATS + (1, 0): "security_level",  # usmStatsUnsupportedSecLevels
    _STATS + (2, 0): "time_window",  # usmStatsNotInTimeWindows
    _STATS + (3, 0): "unknown_user",  # usmStatsUnknownUserNames
    _STATS + (4, 0): "unknown_engine",  # usmStatsUnknownEngineIDs: discovery's answer
    _STATS + (5, 0): "wrong_auth_key",  # usmStatsWrongDigests
    _STATS + (6, 0): "wrong_priv_key",  # usmStatsDecryptionErrors
}
# RFC 3416's error-status names, by number.
STATUS = [
    *("noError", "tooBig", "noSuchName", "badValue", "readOnly", "genErr", "noAccess", "wrongType"),
    *("wrongLength", "wrongEncoding", "wrongValue", "noCreation", "inconsistentValue", "resourceUnavailable"),
    *("commitFailed", "undoFailed", "authorizationError", "notWritable", "inconsistentName"),
]


def supports(creds: Credentials) -> bool:
    """Can this engine speak for these credentials? (DES privacy is left to pysnmp.)"""
    if not creds.v3:
        return True
    return creds.auth_protocol in usm.AUTH and (not creds.priv_key or creds.priv_protocol in usm.PRIV)


class _Pending:
    """One request in flight: its peer, the user it was sent as, the future its answer sets."""

    __slots__ = ("community", "fut", "peer", "user", "version")

    def __init__(self, peer: tuple[str, int], user: usm.User | None, version: int, community: bytes):
        self.peer, self.user, self.version, self.community = peer, user, version, community
        self.fut: asyncio.Future | None = None


class Engine(asyncio.DatagramProtocol):
    """One UDP socket in one namespace, shared by the sessions of the devices it polls, and what
    it learnt of each agent (its engine id, boots and time)."""

    def __init__(self, netns: str | None):
        self.netns = netns
        self.received: Counter[tuple[str, int]] = Counter()
        self.dropped = 0
        self._transport: asyncio.DatagramTransport | None = None
        self._opening: asyncio.Future | None = None
        self._pending: dict[int, _Pending] = {}
        self._ids = itertools.count(secrets.randbelow(1 << 30) + 1)
        self._salt = itertools.count(secrets.randbits(63))
        # (host, port) -> [engine id, boots, time, monotonic when time was learnt]
        self.agents: dict[tuple[str, int], list] = {}
        self._discovering: dict[tuple[str, int], asyncio.Future] = {}

    # -- transport ------------------------------------------------------------------------
    async def open(self) -> None:
        if self._transport is not None:
            return
        if self._opening is None:
            loop = asyncio.get_running_loop()
            self._opening = loop.create_future()
            try:
                await loop.create_datagram_endpoint(lambda: self, sock=udp_socket(self.netns))
                self._opening.set_result(None)
            except BaseException as e:
                self._opening.set_exception(e)
                self._opening = None
                raise
            return
        await asyncio.shield(self._opening)

    def connection_made(self, transport) -> None:
        self._transport = transport

    def received_from(self, host: str, port: int) -> int:
        return self.received[(host, port)]

    def probe(self) -> Engine:
        """The pysnmp engine needs a second engine to ask without privacy; this one does not."""
        return self

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def next_id(self) -> int:
        return next(self._ids) & 0x7FFFFFFF or 1

    def next_salt(self) -> bytes:
        return (next(self._salt) & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")

    def send(self, data: bytes, peer: tuple[str, int]) -> None:
        if self._transport is None:
            raise SnmpFailure("timeout", "the engine's socket is closed")
        self._transport.sendto(data, peer)

    # -- answers --------------------------------------------------------------------------
    def datagram_received(self, data: bytes, addr) -> None:
        peer = (str(addr[0]), int(addr[1]))
        self.received[peer] += 1
        try:
            self._dispatch(data, peer)
        except (ber.Malformed, ValueError, OverflowError, IndexError):
            self.dropped += 1  # garbage, or not ours: the request it may have aimed at times out

    def error_received(self, exc) -> None:
        # An ICMP port unreachable on an unconnected socket: no request is told which; each
        # times out on its own, as with pysnmp.
        pass

    def _dispatch(self, data: bytes, peer: tuple[str, int]) -> None:
        pos, stop = ber.expect(data, 0, len(data), ber.SEQ, "message")
        version, _ = ber.read_int(data, pos, stop, "version")
        if version == 3:
            m = usm.parse(data)
            p = self._pending.get(m.msg_id)
            if p is None or p.peer != peer or p.fut is None or p.fut.done():
                raise ber.Malformed("not an answer to a request in flight")
            self._v3_answer(m, p)
            return
        v, community, at = usm.parse_community(data)
        tag, rid, status, index, vbs = ber.pdu(data, at, len(data))
        p = self._pending.get(rid)
        if p is None or p.peer != peer or p.fut is None or p.fut.done() or p.user is not None:
            raise ber.Malformed("not an answer to a request in flight")
        if v != p.version or community != p.community or tag != ber.RESPONSE:
            raise ber.Malformed("a community answer that does not match the request")
        p.fut.set_result((tag, status, index, vbs, None))

    def _v3_answer(self, m: usm.Message, p: _Pending) -> None:
        assert p.fut is not None
        user = p.user
        authenticated = bool(m.flags & usm.FLAG_AUTH)
        if authenticated and (user is None or not usm.authentic(m, user)):
            raise ber.Malformed("a message whose MAC is not the user's")
        if not authenticated and m.flags & usm.FLAG_PRIV:
            raise ber.Malformed("encrypted without authentication")
        try:
            buf, start, stop = usm.scoped(m, user)
            _, _, at = usm.scoped_contents(buf, start, stop)
            tag, _, status, index, vbs = ber.pdu(buf, at, stop)
        except (ber.Malformed, ValueError, OverflowError, IndexError) as e:
            if not authenticated or isinstance(e, ber.NotAnAnswer):
                raise
            # The agent's own answer (its MAC checks out) that does not decode: say so now
            # rather than wait for a retry that would get the same.
            p.fut.set_exception(SnmpFailure("malformed", f"the agent's answer does not decode: {e}"))
            return
        if tag != ber.REPORT and (not authenticated and user is not None and user.auth):
            # Only reports may come back unauthenticated (a wrong digest is reported so).
            raise ber.Malformed("an unauthenticated response to an authenticated request")
        p.fut.set_result((tag, status, index, vbs, m))

    # -- requests -------------------------------------------------------------------------
    async def exchange(self, p: _Pending, build, timeout: float, retries: int):
        """Send build(msg_id) and wait for its answer, retrying with a fresh msgID (and so a
        fresh salt and engine time) each time; (tag, status, index, varbinds, message) or
        _TIMEOUT. An answer to an earlier attempt that arrives late still counts."""
        await self.open()
        loop = asyncio.get_running_loop()
        ids = []
        try:
            for _ in range(retries + 1):
                fut = loop.create_future()
                p.fut = fut
                msg_id = self.next_id()
                ids.append(msg_id)
                self._pending[msg_id] = p
                self.send(build(msg_id), p.peer)
                timer = loop.call_later(timeout, _expire, fut)
                try:
                    got = await fut
                finally:
                    timer.cancel()
                if got is not _TIMEOUT:
                    return got
            return _TIMEOUT
        finally:
            for i in ids:
                self._pending.pop(i, None)

    async def agent(self, peer: tuple[str, int], timeout: float, retries: int) -> list:
        """The agent's [engine id, boots, time, learnt at], discovered once per engine
        (RFC 3414 §4: an unauthenticated request of no user, answered by a report)."""
        known = self.agents.get(peer)
        if known is not None:
            return known
        waiting = self._discovering.get(peer)
        if waiting is not None:
            return await asyncio.shield(waiting)
        fut = asyncio.get_running_loop().create_future()
        self._discovering[peer] = fut
        try:
            nobody = usm.User(b"")
            p = _Pending(peer, nobody, 3, b"")

            def build(msg_id: int) -> bytes:
                pdu = ber.request_pdu(ber.GET, msg_id, [])
                return usm.encode(msg_id, nobody, (b"", 0, 0), usm.scoped_pdu(b"", b"", pdu))

            got = await self.exchange(p, build, timeout, retries)
            if got is _TIMEOUT:
                raise SnmpFailure("timeout", "engine discovery: no SNMP response received before timeout")
            m = got[4]
            if m is None or not m.engine_id or not (0 <= m.boots < 2**31 and 0 <= m.time < 2**31):
                raise SnmpFailure("malformed", "engine discovery: no engine id, or boots or time out of range")
            known = [m.engine_id, m.boots, m.time, time.monotonic()]
            self.agents[peer] = known
            fut.set_result(known)
            return known
        except BaseException as e:
            fut.set_exception(e)
            fut.exception()  # retrieved: nobody else may be waiting
            raise
        finally:
            del self._discovering[peer]


def _expire(fut: asyncio.Future) -> None:
    if not fut.done():
        fut.set_result(_TIMEOUT)
