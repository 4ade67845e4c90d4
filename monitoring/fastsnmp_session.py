"""Requests to one agent through a shared fast Engine: the Session the collectors call
(get, columns, probe_without_privacy), with the same results and failures as monitoring/snmp.py's.

RFC 3416 GET and GETBULK (GETNEXT for SNMPv1, which has no GETBULK); RFC 3414 for what a report
means: an unknown engine id is rediscovered once (the agent restarted with a new one), a
usmStatsNotInTimeWindows report re-synchronises boots and time once (from its authenticated
header, as §4 says), and any other report is the failure it names.
"""

from __future__ import annotations

import time

from . import fastsnmp_ber as ber
from . import fastsnmp_usm as usm
from .fastsnmp import _TIMEOUT, REPORTS, STATUS, Engine, _Pending
from .oids import OID
from .snmp import Credentials, SnmpFailure


class Session:
    """Requests to one agent through a shared fast Engine."""

    def __init__(
        self, engine: Engine, host: str, port: int, creds: Credentials, timeout: float, retries: int, context: str = ""
    ):
        self.engine, self.host, self.port, self.creds = engine, host, port, creds
        self.peer = (host, port)
        self.context = context.encode()
        self.timeout, self.retries = timeout, retries
        self.requests = 0
        self.answered = 0
        self.varbinds = 0
        self.version = 3 if creds.v3 else 0 if creds.version == "v1" else 1
        self.user: usm.User | None = None
        if creds.v3:
            privacy = bool(creds.priv_key)
            self.user = usm.User(
                creds.user.encode(),
                creds.auth_protocol,
                creds.auth_key.encode(),
                creds.priv_protocol if privacy else None,
                creds.priv_key.encode() if privacy else b"",
            )

    async def _ask(self, what: str, tag: int, oids: list[OID], a: int = 0, b: int = 0, flags=None, retries=None):
        """(pdu tag, error-status, error-index, varbinds) of the agent's answer, or SnmpFailure."""
        eng, retries = self.engine, self.retries if retries is None else retries
        if self.user is None:
            community = self.creds.community.encode()
            p = _Pending(self.peer, None, self.version, community)

            def build_community(msg_id: int) -> bytes:
                return usm.community_message(self.version, community, ber.request_pdu(tag, msg_id, oids, a, b))

            got = await eng.exchange(p, build_community, self.timeout, retries)
            if got is _TIMEOUT:
                raise SnmpFailure("timeout", f"{what}: No SNMP response received before timeout")
            return got[:4]
        user = self.user
        agent = await eng.agent(self.peer, self.timeout, retries)
        p = _Pending(self.peer, user, 3, b"")
        state = [agent]  # what build() reads: rediscovery or a resync replaces it between tries

        def build(msg_id: int) -> bytes:
            engine_id, boots, etime, learnt = state[0]
            now = etime + int(time.monotonic() - learnt)
            scoped = usm.scoped_pdu(engine_id, self.context, ber.request_pdu(tag, msg_id, oids, a, b))
            return usm.encode(msg_id, user, (engine_id, boots, now), scoped, eng.next_salt(), flags)

        for again in (True, False):
            got = await eng.exchange(p, build, self.timeout, retries)
            if got is _TIMEOUT:
                raise SnmpFailure("timeout", f"{what}: No SNMP response received before timeout")
            rtag, status, index, vbs, m = got
            if rtag != ber.REPORT:
                return rtag, status, index, vbs
            kind = REPORTS.get(vbs[0][0], "error") if vbs else "error"
            if again and kind == "time_window" and m.flags & usm.FLAG_AUTH and 0 <= m.boots < 2**31 > m.time >= 0:
                state[0][1:] = [m.boots, m.time, time.monotonic()]
                continue
            if again and kind == "unknown_engine":
                eng.agents.pop(self.peer, None)
                state[0] = await eng.agent(self.peer, self.timeout, retries)
                continue
            said = ".".join(map(str, vbs[0][0])) if vbs else "an empty report"
            raise SnmpFailure(kind, f"{what}: the agent reported {kind.replace('_', ' ')} ({said})")
        raise SnmpFailure("error", f"{what}: the agent kept reporting")  # not reached: the loop returns or raises

    def _check(self, what: str, got) -> list[tuple[OID, object]]:
        _, status, index, vbs = got
        if status:
            name = STATUS[status] if 0 <= status < len(STATUS) else f"error-status {status}"
            at = f" at {'.'.join(map(str, vbs[index - 1][0]))}" if 0 < index <= len(vbs) else ""
            raise SnmpFailure("status", f"{what}: the agent answered {name}{at}")
        self.answered += 1
        self.varbinds += len(vbs)
        return vbs

    async def get(self, *oids: OID, **_ignored) -> dict[OID, object]:
        """The values of scalars; one absent from the agent maps to None."""
        self.requests += 1
        got = self._check("get", await self._ask("get", ber.GET, list(oids)))
        if len(got) != len(oids):
            raise SnmpFailure("malformed", f"get: {len(got)} varbinds in the answer to {len(oids)}")
        return {o: (None if v is None or v is ber.END_OF_MIB else v) for o, (_, v) in zip(oids, got, strict=True)}

    async def columns(self, cols: list[OID], max_repetitions: int) -> dict[OID, dict[OID, object]]:
        """Walk table columns side by side with GETBULK: {column: {index: value}} (see
        monitoring/snmp.py's Session.columns: the same walk, the same malformed cases)."""
        out: dict[OID, dict[OID, object]] = {c: {} for c in cols}
        cursor = {c: c for c in cols}
        active = list(cols)
        end = ber.END_OF_MIB
        for _ in range(10_000):
            if not active:
                return out
            self.requests += 1
            asked = [cursor[c] for c in active]
            if self.version == 0:
                raw = await self._ask("getnext", ber.GETNEXT, asked)
                if raw[1] == 2 and 0 < raw[2] <= len(active):  # v1's noSuchName: that column ended
                    del active[raw[2] - 1]
                    continue
            else:
                raw = await self._ask("getbulk", ber.GETBULK, asked, 0, max_repetitions)
            got = self._check("getbulk", raw)
            if not got:
                raise SnmpFailure("malformed", "getbulk: an empty answer to a walk")
            done = set()
            n = len(active)
            # The answer interleaves the columns (row 1 of each, row 2 of each, ...): column k's
            # varbinds are every n-th from k. Walked a column at a time, the per-varbind work is
            # one slice, two comparisons and a dict store.
            for k, col in enumerate(active):
                width, dest, cur = len(col), out[col], cursor[col]
                for name, value in got[k::n]:
                    if name[:width] != col or value is None or value is end:
                        done.add(col)
                        break
                    if name <= cur:
                        raise SnmpFailure("malformed", f"getbulk: {_dotted(name)} does not follow {_dotted(cur)}")
                    dest[name[width:]] = value
                    cur = name
                cursor[col] = cur
            active = [c for c in active if c not in done]
        raise SnmpFailure("malformed", "getbulk: a walk that does not end")

    async def probe_without_privacy(self, oid: OID) -> str | None:
        """After a timeout: does the agent answer this user authenticated but unencrypted?
        (monitoring/snmp.py says why.) The same socket serves: the user's flags are per message."""
        try:
            await self._ask("probe", ber.GET, [oid], flags=usm.FLAG_AUTH, retries=0)
            return "answered"
        except SnmpFailure as f:
            return f.kind


def _dotted(o: OID) -> str:
    return ".".join(map(str, o))
