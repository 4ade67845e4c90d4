"""SNMP requests for the poller, on pysnmp 7's asyncio API.

One SnmpEngine per (network namespace, credentials): an engine costs 0.1-0.3 s of CPU to make,
so one per device would cost more than polling the province. Its one UDP socket is created
inside the namespace the management network lives in (jinbao.netns.udp_socket) and handed to
pysnmp before the first request, so pysnmp never opens a socket of its own in the wrong place;
the asyncio loop itself stays in the caller's namespace and serves every group at once.

Requests run with lookupMib=False and numeric OIDs: it halves pysnmp's CPU (docs/monitoring.md).
Every failure is an SnmpFailure with a `kind` the poller reports; nothing here logs a key.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

from pyasn1.type.univ import Null
from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.entity import config
from pysnmp.entity.rfc3413 import cmdgen
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
    usmAesCfb128Protocol,
    usmAesCfb256Protocol,
    usmDESPrivProtocol,
    usmHMAC192SHA256AuthProtocol,
    usmHMAC384SHA512AuthProtocol,
    usmHMACMD5AuthProtocol,
    usmHMACSHAAuthProtocol,
    usmNoPrivProtocol,
)
from pysnmp.hlapi.v3arch.asyncio.cmdgen import LCD
from pysnmp.proto import errind
from pysnmp.proto.rfc1902 import ObjectName
from pysnmp.proto.rfc1905 import EndOfMibView, NoSuchInstance, NoSuchObject

from jinbao.netns import udp_socket

from .oids import OID

_NULL = Null()

# The estate's protocol names (SnmpProfile.auth_protocol / priv_protocol) in pysnmp's terms.
# MD5 and DES are here for the devices whose profile accepts them explicitly (insecure_because).
AUTH = {
    "sha": usmHMACSHAAuthProtocol,
    "sha256": usmHMAC192SHA256AuthProtocol,
    "sha512": usmHMAC384SHA512AuthProtocol,
    "md5": usmHMACMD5AuthProtocol,
}
PRIV = {"aes": usmAesCfb128Protocol, "aes256": usmAesCfb256Protocol, "des": usmDESPrivProtocol}

# What an SNMP error indication means to an operator, by pysnmp's class.
KINDS: dict[type, str] = {
    errind.RequestTimedOut: "timeout",
    errind.WrongDigest: "wrong_auth_key",  # the agent's usmStatsWrongDigests report
    errind.AuthenticationFailure: "wrong_auth_key",
    errind.UnknownUserName: "unknown_user",  # usmStatsUnknownUserNames
    errind.DecryptionError: "wrong_priv_key",  # usmStatsDecryptionErrors, where an agent sends it
    errind.UnsupportedSecurityLevel: "security_level",
    errind.NotInTimeWindow: "time_window",
}


class SnmpFailure(Exception):
    """A request that got no usable answer; kind is one of KINDS' values, 'status' or 'malformed'."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Credentials:
    """SNMP credentials with their resolved secrets; the secrets never appear in repr or logs.

    SNMPv3 (version "3"): a USM user, authPriv unless priv_key is empty (authNoPriv). v2c and v1:
    a community, only where the inventory accepts it explicitly."""

    user: str
    auth_protocol: str
    priv_protocol: str
    auth_key: str = field(repr=False)
    priv_key: str = field(repr=False)
    version: str = "3"
    community: str = field(default="", repr=False)

    @property
    def v3(self) -> bool:
        return self.version == "3"

    def usm(self, privacy: bool = True) -> UsmUserData | CommunityData:
        if not self.v3:
            # mpModel 0 is SNMPv1, 1 is v2c; the community index is the community itself, so
            # two communities on one engine never share an entry.
            return CommunityData(self.community, mpModel=0 if self.version == "v1" else 1)
        privacy = privacy and bool(self.priv_key)
        return UsmUserData(
            self.user,
            self.auth_key,
            self.priv_key if privacy else None,
            authProtocol=AUTH[self.auth_protocol],
            privProtocol=PRIV[self.priv_protocol] if privacy else usmNoPrivProtocol,
        )


class _CountingTransport(udp.UdpAsyncioTransport):
    """pysnmp's UDP transport, counting datagrams per peer: a peer that sent datagrams none of
    which answered a request is an agent talking garbage, not a dead one."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.received: Counter[tuple[str, int]] = Counter()

    def datagram_received(self, datagram, transportAddress):
        self.received[(str(transportAddress[0]), int(transportAddress[1]))] += 1
        super().datagram_received(datagram, transportAddress)


class Engine:
    """One pysnmp engine and its socket in one namespace, shared by the devices it polls."""

    def __init__(self, netns: str | None):
        self.netns = netns
        self.engine = SnmpEngine()
        # lookupMib=False does not stop the engine's own MIB builder from being used for the
        # USM tables; that part is cheap and per engine, not per request.
        self.transport = _CountingTransport().open_server_mode(sock=udp_socket(netns))
        config.add_transport(self.engine, udp.DOMAIN_NAME, self.transport)

        self._probe: Engine | None = None

    def received_from(self, host: str, port: int) -> int:
        return self.transport.received[(host, port)]

    def probe(self) -> Engine:
        """A second engine for the same namespace and credentials, made on first need and shared
        by every failing device of this one: making an engine blocks the loop for 0.1-0.3 s."""
        if self._probe is None:
            self._probe = Engine(self.netns)
        return self._probe

    def close(self) -> None:
        if self._probe is not None:
            self._probe.close()
        self.engine.close_dispatcher()


class Session:
    """Requests to one agent through a shared Engine."""

    def __init__(
        self, engine: Engine, host: str, port: int, creds: Credentials, timeout: float, retries: int, context: str = ""
    ):
        self.engine, self.host, self.port, self.creds = engine, host, port, creds
        # The SNMPv3 context name: empty on most agents; some serve one device or instance per
        # context (snmpsim, a router's per-VRF contexts).
        self.context = ContextData(contextName=context.encode())
        self.timeout, self.retries = timeout, retries
        self.requests = 0
        self.answered = 0  # requests the agent answered with a response, not an error indication
        self.varbinds = 0
        self._target: UdpTransportTarget | None = None
        self._auth = creds.usm()

    async def _tgt(self) -> UdpTransportTarget:
        if self._target is None:
            self._target = await UdpTransportTarget.create(
                (self.host, self.port), timeout=self.timeout, retries=self.retries
            )
        return self._target

    def _check(self, what: str, ei, es, ex, vbs) -> list[tuple[OID, object]]:
        self.requests += 1
        if ei:
            kind = next((k for cls, k in KINDS.items() if isinstance(ei, cls)), "error")
            raise SnmpFailure(kind, f"{what}: {ei}")
        if es:
            at = f" at {vbs[int(ex) - 1][0]}" if ex and 0 < int(ex) <= len(vbs) else ""
            raise SnmpFailure("status", f"{what}: the agent answered {es.prettyPrint()}{at}")
        self.answered += 1
        out = []
        for vb in vbs:
            name, value = vb[0], vb[1]
            out.append((tuple(name), value))
        self.varbinds += len(out)
        return out

    async def _send(
        self, oids, reps: int | None = None, usm: UsmUserData | CommunityData | None = None, engine=None, target=None
    ):
        """One GET (reps None) or GETBULK of raw (ObjectName, Null) varbinds: (errorIndication,
        errorStatus, errorIndex, varbinds).

        hlapi's get_cmd/bulk_cmd resolve every request OID through a MIB view (even with
        lookupMib=False): a tenth of the poller's CPU, and where pysmi is installed (snmpsim
        brings it) a MIB compiler built per engine, a second of CPU or more. The OIDs here are
        numeric already, so this sends them as they are, through the same engine and LCD."""
        eng = engine or self.engine.engine
        addr, _ = LCD.configure(eng, usm or self._auth, target or await self._tgt(), self.context.contextName)
        fut = asyncio.get_running_loop().create_future()

        def done(_eng, _handle, ei, es, ex, vbs, _ctx):
            if not fut.done():
                fut.set_result((ei, es, ex, vbs))

        vbs = [(ObjectName(o), _NULL) for o in oids]
        ctx = (self.context.contextEngineId, self.context.contextName)
        if reps is None:
            cmdgen.GetCommandGenerator().send_varbinds(eng, addr, *ctx, vbs, done)
        else:
            cmdgen.BulkCommandGeneratorSingleRun().send_varbinds(eng, addr, *ctx, 0, reps, vbs, done)
        return await fut

    async def get(self, *oids: OID, usm: UsmUserData | CommunityData | None = None) -> dict[OID, object]:
        """The values of scalars; one absent from the agent maps to None."""
        got = self._check("get", *await self._send(oids, usm=usm))
        return {o: (None if _absent(v) else v) for o, v in got}

    async def columns(self, cols: list[OID], max_repetitions: int) -> dict[OID, dict[OID, object]]:
        """Walk table columns side by side with GETBULK: {column: {index: value}}.

        One request fetches max_repetitions rows of every column still being walked, so a table
        of N rows costs about N / max_repetitions requests, whatever the number of columns. An
        agent whose OIDs do not increase is malformed (it would make a naive walk loop forever)."""
        out: dict[OID, dict[OID, object]] = {c: {} for c in cols}
        cursor = {c: c for c in cols}
        active = list(cols)
        for _ in range(10_000):  # bounded: a table of 10,000 * max_repetitions rows is not a table
            if not active:
                return out
            got = self._check("getbulk", *await self._send([cursor[c] for c in active], max_repetitions))
            if not got:
                raise SnmpFailure("malformed", "getbulk: an empty answer to a walk")
            done = set()
            for i, (name, value) in enumerate(got):
                col = active[i % len(active)]
                if col in done:
                    continue
                if name[: len(col)] != col or isinstance(value, EndOfMibView | Null):
                    done.add(col)
                    continue
                if name <= cursor[col]:
                    raise SnmpFailure("malformed", f"getbulk: {_dotted(name)} does not follow {_dotted(cursor[col])}")
                out[col][name[len(col) :]] = value
                cursor[col] = name
            active = [c for c in active if c not in done]
        raise SnmpFailure("malformed", "getbulk: a walk that does not end")

    async def probe_without_privacy(self, oid: OID) -> str | None:
        """After a timeout: does the agent answer this user authenticated but unencrypted?

        net-snmp drops a request it cannot decrypt without a word (no usmStatsDecryptionErrors
        report), so a wrong privacy key looks like a dead agent. The same user without privacy
        is answered, with a value or an access error, by a live agent whose auth key is right:
        then the privacy key (or protocol) is what is wrong. On the engine's probe engine, because
        a USM user is configured once per engine."""
        target = await UdpTransportTarget.create((self.host, self.port), timeout=self.timeout, retries=0)
        ei = (
            await self._send([oid], usm=self.creds.usm(privacy=False), engine=self.engine.probe().engine, target=target)
        )[0]
        if ei is None:
            return "answered"
        return next((k for cls, k in KINDS.items() if isinstance(ei, cls)), "error")


def _absent(value) -> bool:
    return isinstance(value, NoSuchObject | NoSuchInstance | EndOfMibView | Null)


def _dotted(o: OID) -> str:
    return ".".join(map(str, o))


async def gather_bounded(coros, limit: int):
    """Run coroutines with at most `limit` in flight (unbounded requests to a slow agent queue
    up past their own timeouts; 16 in flight gave no retries in LAB-NOTES' measurements)."""
    sem = asyncio.Semaphore(limit)

    async def one(c):
        async with sem:
            return await c

    return await asyncio.gather(*(one(c) for c in coros))
