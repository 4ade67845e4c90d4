"""The fast SNMP engine (monitoring/fastsnmp*.py) against real agents: net-snmp's snmpd on
loopback and snmpsim. Every value it reads is checked against what pysnmp reads from the same
agent in the same test; every failure is named as the pysnmp engine names it; and no datagram,
however broken, gets further than a dropped datagram or a `malformed` failure of its device."""

from __future__ import annotations

import asyncio
import random
import secrets
import socket
import threading
from pathlib import Path

import pytest

from jinbao.errors import JinbaoError
from monitoring import fastsnmp, fastsnmp_session, poller, snmp
from monitoring import fastsnmp_ber as ber
from monitoring import fastsnmp_usm as usm
from monitoring import oids as O
from monitoring import simulator as simmod
from monitoring.snmp import Credentials, SnmpFailure
from monitoring.state import PollState
from tests.support.loopback_snmpd import AUTH, PRIV, SNMPD, USER, Agent, job

pytestmark = pytest.mark.skipif(not Path(SNMPD).exists(), reason="needs net-snmp's snmpd (make setup installs it)")

GOOD = Credentials(USER, "sha", "aes", AUTH, PRIV)
EDGE = (1, 3, 6, 1, 4, 1, 8072, 9999)  # net-snmp's own test subtree: nothing real lives there
OVERRIDES = """
override 1.3.6.1.4.1.8072.9999.1.0 integer -42
override 1.3.6.1.4.1.8072.9999.2.0 integer -2147483648
override 1.3.6.1.4.1.8072.9999.6.0 object_id 1.3.6.1.4.1.2636.4294967295.1
override 1.3.6.1.4.1.8072.9999.7.0 octet_str ""
override 1.3.6.1.4.1.8072.9999.8.0 counter 4294967295
override 1.3.6.1.4.1.8072.9999.9.0 timeticks 4294967295
override 1.3.6.1.4.1.8072.9999.4294967295.0 unsigned 4294967295
"""
# What both engines walk: interfaces (Counter64 octets), storage, sysORTable (OID values), the edge.
WALKED = [O.ifDescr, O.ifAdminStatus, O.ifHCInOctets, O.ifHCOutOctets, O.ifHighSpeed, O.hrStorageType]
WALKED += [O.oid("1.3.6.1.2.1.1.9.1.2"), EDGE]


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    a = Agent(tmp_path_factory.mktemp("fastsnmp-agent"), OVERRIDES)
    a.start()
    try:
        yield a
    finally:
        a.stop()


def plain(v):
    """A pysnmp value as the fast engine gives it: int, bytes, tuple, None."""
    if v is None:
        return None
    if hasattr(v, "asOctets"):
        return bytes(v.asOctets())
    if hasattr(v, "asTuple"):
        return tuple(v.asTuple())
    if isinstance(v, tuple):
        return tuple(v)
    return int(v)


def read(kind: str, port: int, creds: Credentials = GOOD, what=None, timeout: float = 2.0, retries: int = 1):
    """Run what(session) with the given engine; SnmpFailure is returned, not raised."""

    async def run():
        eng = fastsnmp.Engine(None) if kind == "fast" else snmp.Engine(None)
        cls = fastsnmp_session.Session if kind == "fast" else snmp.Session
        try:
            s = cls(eng, "127.0.0.1", port, creds, timeout, retries)  # type: ignore[arg-type]
            try:
                return await what(s)
            except SnmpFailure as f:
                return f
        finally:
            eng.close()

    return asyncio.run(run())


async def _everything(s):
    got = await s.get(O.sysName, O.sysUpTime, O.oid("1.3.6.1.2.1.1.5.1"), O.oid("1.3.6.1.4.1.8072.9999.99.0"))
    scalars = await s.get(*[EDGE + (i, 0) for i in (1, 2, 6, 7, 8, 9)], EDGE + (4294967295, 0))
    cols = await s.columns(WALKED, 3)
    return got, scalars, cols


def test_walks_give_the_same_values_as_pysnmp(agent):
    fast = read("fast", agent.port, what=_everything)
    slow = read("pysnmp", agent.port, what=_everything)
    assert not isinstance(fast, SnmpFailure), fast
    f_got, f_scalars, f_cols = fast
    s_got, s_scalars, s_cols = slow
    assert f_got[O.sysName] == b"loopback-agent"
    # noSuchInstance and noSuchObject are None to both; sysUpTime moved on between the reads.
    assert f_got[O.oid("1.3.6.1.2.1.1.5.1")] is None and f_got[O.oid("1.3.6.1.4.1.8072.9999.99.0")] is None
    assert 0 <= plain(s_got[O.sysUpTime]) - f_got[O.sysUpTime] < 1000
    assert {o: plain(v) for o, v in s_scalars.items()} == f_scalars
    assert f_scalars[EDGE + (1, 0)] == -42 and f_scalars[EDGE + (2, 0)] == -(2**31)
    assert f_scalars[EDGE + (6, 0)] == (1, 3, 6, 1, 4, 1, 2636, 4294967295, 1)
    assert f_scalars[EDGE + (4294967295, 0)] == 4294967295 and f_scalars[EDGE + (7, 0)] == b""
    # The counters move between the two walks; everything else must be equal.
    moving = {O.ifHCInOctets, O.ifHCOutOctets}
    for col in WALKED:
        assert f_cols[col], col
        assert f_cols[col].keys() == s_cols[col].keys(), col
        if col not in moving:
            assert {i: plain(v) for i, v in s_cols[col].items()} == f_cols[col], col
    assert (4294967295, 0) in f_cols[EDGE]  # a sub-id of 2^32-1 in a walked name


def test_end_of_mib_view_ends_a_walk(agent):
    async def past_the_end(s):
        raw = await s._ask("getbulk", ber.GETBULK, [(2, 999)], 0, 3)
        return raw, await s.columns([(2, 999)], 5)

    (_, status, _, vbs), cols = read("fast", agent.port, what=past_the_end)
    assert status == 0 and vbs and all(v is ber.END_OF_MIB for _, v in vbs)
    assert cols == {(2, 999): {}}


@pytest.mark.parametrize(
    ("creds", "kind"),
    [
        (Credentials(USER, "sha", "aes", "not-the-auth-key", PRIV), "wrong_auth_key"),
        (Credentials("nobody-here", "sha", "aes", AUTH, PRIV), "unknown_user"),
        (Credentials(USER, "sha", "aes", AUTH, "not-the-priv-key"), "timeout"),  # net-snmp drops it unanswered
    ],
)
def test_failures_are_named_as_the_pysnmp_engine_names_them(agent, creds, kind):
    async def get(s):
        return await s.get(O.sysName)

    fast = read("fast", agent.port, creds, get, timeout=1.0, retries=0)
    slow = read("pysnmp", agent.port, creds, get, timeout=1.0, retries=0)
    assert isinstance(fast, SnmpFailure) and isinstance(slow, SnmpFailure)
    assert fast.kind == slow.kind == kind, (fast, slow)
    assert creds.auth_key not in str(fast) and creds.priv_key not in str(fast)


def test_a_silent_port_times_out_after_its_retries():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as quiet:
        quiet.bind(("127.0.0.1", 0))  # bound, never read: no ICMP, no answer

        async def get(s):
            return await s.get(O.sysName)

        got = read("fast", quiet.getsockname()[1], what=get, timeout=0.3, retries=2)
        assert isinstance(got, SnmpFailure) and got.kind == "timeout"
        assert len(quiet.recv(65535)) > 0  # it was asked (discovery)


def test_time_window_and_a_changed_engine_id_are_recovered_once(agent):
    async def run(s):
        await s.get(O.sysName)
        known = s.engine.agents[s.peer]
        known[2] += 100_000  # our idea of its engine time far outside the 150 s window
        late = await s.get(O.sysName)
        known = s.engine.agents[s.peer]
        known[0] = b"\x80\x00\x1f\x88\x04bogus"  # an engine id it does not have
        moved = await s.get(O.sysName)
        return late, moved, s.requests, s.answered

    late, moved, requests, answered = read("fast", agent.port, what=run)
    assert late[O.sysName] == moved[O.sysName] == b"loopback-agent"
    assert requests == answered == 3


def test_the_poller_names_every_failure_and_the_good_device_answers(agent, lab_estate):
    good = job(lab_estate, agent.port)

    def bad(name, creds):
        return poller.Job(
            good.device.model_copy(update={"name": name}), good.target, good.profile, creds, port=agent.port
        )

    todo = [
        good,
        bad("wrong-auth", Credentials(USER, "sha", "aes", "not-the-auth-key", PRIV)),
        bad("wrong-priv", Credentials(USER, "sha", "aes", AUTH, "not-the-priv-key")),
        bad("no-user", Credentials("nobody-here", "sha", "aes", AUTH, PRIV)),
    ]
    agg = poller.poll(todo, PollState(), poller.Options(timeout=1.0, retries=0, deadline=15.0, engine="fast"))
    status = {n: r.data["status"] for n, r in agg.results.items()}
    assert status == {
        "loopback-agent": "ok",
        "wrong-auth": "wrong_auth_key",
        "wrong-priv": "wrong_priv_key",
        "no-user": "unknown_user",
    }, {n: r.problems for n, r in agg.results.items()}


class Mangler:
    """A UDP responder answering every request with a broken copy of it: the request itself
    (authenticated with the right key, but a request, not a response), cut short, bit-flipped,
    or random bytes."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopping = threading.Event()
        self.rng = random.Random(7)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping.is_set():
            try:
                data, peer = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            flipped = bytearray(data)
            flipped[self.rng.randrange(len(data))] ^= 0xFF
            for reply in (data, data[: self.rng.randrange(1, len(data))], bytes(flipped), secrets.token_bytes(40)):
                self.sock.sendto(reply, peer)

    def stop(self):
        self.stopping.set()
        self.thread.join(5)
        self.sock.close()


def test_broken_datagrams_are_garbage_and_never_crash_the_poller(agent, lab_estate):
    m = Mangler()
    try:
        good = job(lab_estate, agent.port)
        broken = job(lab_estate, m.port, name="mangler")
        agg = poller.poll(
            [good, broken], PollState(), poller.Options(timeout=0.5, retries=1, deadline=10, engine="fast")
        )
    finally:
        m.stop()
    assert agg.results["loopback-agent"].data["status"] == "ok"
    assert agg.results["mangler"].data["status"] == "garbage", agg.results["mangler"].problems


def _response(rid: int, vbs: bytes) -> bytes:
    return ber.tlv(ber.RESPONSE, ber.integer(rid) + ber.integer(0) + ber.integer(0) + ber.tlv(ber.SEQ, vbs))


def test_every_truncation_and_mutation_of_a_response_is_malformed_or_decodes():
    vb = [
        ber.tlv(ber.SEQ, ber.tlv(ber.OBJID, ber.encode_oid(EDGE + (i, 0))) + value)
        for i, value in enumerate(
            [
                ber.integer(-42),
                ber.integer(2**64 - 1, 0x46),  # Counter64 at its top
                ber.octets(b"x" * 200),  # a long-form length
                ber.tlv(0x40, bytes((10, 1, 2, 3))),
                ber.tlv(ber.OBJID, ber.encode_oid((1, 3, 6, 1, 4294967295))),
                b"\x80\x00",
                b"\x82\x00",
            ]
        )
    ]
    whole = _response(77, b"".join(vb))
    tag, rid, _, _, got = ber.pdu(whole, 0, len(whole))
    assert (tag, rid) == (ber.RESPONSE, 77)
    values = [v for _, v in got]
    assert values[:2] == [-42, 2**64 - 1] and values[2] == b"x" * 200
    assert values[3] == ber.IpAddress(bytes((10, 1, 2, 3))) and values[4] == (1, 3, 6, 1, 4294967295)
    assert values[5] is None and values[6] is ber.END_OF_MIB
    rng = random.Random(11)
    cases = [whole[:n] for n in range(len(whole))]
    for _ in range(3000):
        b = bytearray(whole)
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        cases.append(bytes(b))
    cases += [secrets.token_bytes(rng.randint(0, 64)) for _ in range(500)]
    decoded = malformed = 0
    for c in cases:
        try:  # anything but Malformed escaping here fails the test
            ber.pdu(c, 0, len(c))
            decoded += 1
        except ber.Malformed:
            malformed += 1
    # Every truncation is refused; some mutations only change a value and still decode.
    assert malformed >= len(whole) and decoded > 0


def test_mangled_v3_answers_are_dropped_by_the_engine(agent):
    """A real authPriv answer from snmpd, then cut and flipped: none decodes (its MAC fails, or
    its framing does), none raises out of the engine, none resolves the request."""
    seen: list[bytes] = []

    async def capture(s):
        real = s.engine.datagram_received

        def keep(data, addr):
            seen.append(data)
            real(data, addr)

        s.engine.datagram_received = keep
        await s.get(O.sysName)
        eng, peer = s.engine, s.peer
        answer = seen[-1]
        msg_id = usm.parse(answer).msg_id
        rng = random.Random(5)
        cases = [answer[:n] for n in range(len(answer))]
        for _ in range(500):
            b = bytearray(answer)
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
            cases.append(bytes(b))
        resolved = 0
        for c in cases:
            p = fastsnmp._Pending(peer, s.user, 3, b"")
            p.fut = asyncio.get_running_loop().create_future()
            eng._pending[msg_id] = p
            eng.datagram_received(c, peer)
            if p.fut.done():
                resolved += 1
                assert isinstance(p.fut.exception(), SnmpFailure)
        eng._pending.pop(msg_id, None)
        return len(cases), resolved, eng.dropped

    n, resolved, dropped = read("fast", agent.port, what=capture)
    assert n > 500 and dropped >= n - resolved


def test_key_localisation_matches_rfc_3414_appendix_a3():
    engine_id = bytes.fromhex("000000000000000000000002")
    assert usm.password_key("md5", b"maplesyrup").hex() == "9faf3283884e92834ebc9847d8edd963"
    assert usm.localised("md5", b"maplesyrup", engine_id).hex() == "526f5eed9fcce26f8964c2930787d82b"
    assert usm.password_key("sha1", b"maplesyrup").hex() == "9fb5cc0381497b3793528939ff788d5d79145211"
    assert usm.localised("sha1", b"maplesyrup", engine_id).hex() == "6695febc9288e36282235fc7151f128497b38f3f"


def test_oids_round_trip_with_large_sub_identifiers():
    for oid in [(1, 3, 6, 1, 2, 1, 1, 5, 0), (1, 3, 6, 1, 4, 1, 4294967295, 128, 16383, 16384), (2, 999, 3)]:
        assert ber.decode_oid(ber.encode_oid(oid)) == oid
    with pytest.raises(ValueError):
        ber.encode_oid((1, 3, 4294967296))
    with pytest.raises(ber.Malformed):
        ber.decode_oid(b"\x2b\x86")  # ends inside a sub-identifier


@pytest.mark.slow
def test_snmpsim_answers_the_same_to_both_engines(tmp_path, monkeypatch):
    """snmpsim (pysnmp's agent) with a recording of edge values: Counter64 at its top, negative
    integers, an IpAddress, OID values, a sub-id of 2^32-1."""
    rows = [
        ("1.3.6.1.2.1.1.3.0", 67, 4294967295),
        ("1.3.6.1.2.1.1.5.0", 4, "edge"),
        ("1.3.6.1.4.1.8072.9999.1.0", 2, -42),
        ("1.3.6.1.4.1.8072.9999.2.0", 70, 18446744073709551615),
        ("1.3.6.1.4.1.8072.9999.3.0", 64, "10.1.2.3"),
        ("1.3.6.1.4.1.8072.9999.4.0", 6, "1.3.6.1.4.1.2636.4294967295"),
        ("1.3.6.1.4.1.8072.9999.5.0", 65, 4294967295),
        ("1.3.6.1.4.1.8072.9999.4294967295.0", 66, 7),
    ]
    (tmp_path / "edge.snmprec").write_text("".join(f"{o}|{t}|{v}\n" for o, t, v in rows))
    monkeypatch.setattr(simmod, "RECORDINGS", tmp_path)
    user, auth, priv = "jinbao-sim", secrets.token_hex(12), secrets.token_hex(12)
    sim = simmod.Simulator(["edge"], user, auth, priv).start(ready_within=120)
    try:
        creds = Credentials(user, "sha", "aes", auth, priv)

        def walk(kind):
            async def run():
                eng = fastsnmp.Engine(None) if kind == "fast" else snmp.Engine(None)
                cls = fastsnmp_session.Session if kind == "fast" else snmp.Session
                try:
                    s = cls(eng, "127.0.0.1", sim.port, creds, 3.0, 1, "edge")  # type: ignore[arg-type]
                    return await s.columns([EDGE, O.oid("1.3.6.1.2.1.1")], 4)
                finally:
                    eng.close()

            return asyncio.run(run())

        fast, slow = walk("fast"), walk("pysnmp")
    finally:
        sim.stop()
    assert {c: {i: plain(v) for i, v in col.items()} for c, col in slow.items()} == fast
    edge = fast[EDGE]
    assert edge[(1, 0)] == -42 and edge[(2, 0)] == 2**64 - 1 and edge[(3, 0)] == bytes((10, 1, 2, 3))
    assert isinstance(edge[(3, 0)], ber.IpAddress)
    assert edge[(4, 0)] == (1, 3, 6, 1, 4, 1, 2636, 4294967295) and edge[(4294967295, 0)] == 7


def test_the_engine_is_chosen_by_options_and_des_goes_to_pysnmp():
    assert fastsnmp.supports(GOOD) and fastsnmp.supports(Credentials("", "", "", "", "", version="2c", community="c"))
    assert not fastsnmp.supports(Credentials(USER, "sha", "des", AUTH, PRIV))
    assert fastsnmp.supports(Credentials(USER, "sha", "des", AUTH, ""))  # authNoPriv: no DES involved
    assert isinstance(poller.make_engine(None, GOOD, poller.Options()), fastsnmp.Engine)
    with pytest.raises(JinbaoError, match="fast, pysnmp"):
        poller.make_engine(None, GOOD, poller.Options(engine="net-snmp"))
