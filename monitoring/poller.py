"""Poll devices per their class's profile, all at once, each within its own deadline.

Every device is one coroutine on one asyncio loop; a device that is dead, slow, or answers
garbage holds only its own slot, for at most its deadline, and ends as a failed Result naming
why. Whatever a device does, the others' results are unaffected (tests/monitoring prove it
against a stopped lab node and a garbage responder).

Why a device failed, as far as SNMP lets it be told:
- `wrong_auth_key` / `unknown_user`: the agent said so (usmStatsWrongDigests, usmStatsUnknownUserNames reports);
- `wrong_priv_key`: requests time out, but the same user without privacy is answered (net-snmp
  drops what it cannot decrypt without a report, so this takes a second look);
- `garbage`: datagrams came back from the agent's address, none of them an answer to the request;
- `unreachable`: nothing came back at all;
- `malformed`: the agent answered with values of the wrong type or a walk that does not end.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from dataclasses import dataclass, field

from jinbao.classes import device_class
from jinbao.errors import JinbaoError
from jinbao.model import Device, Estate
from jinbao.result import AggregatedResult, Result
from jinbao.target import Target

from . import collect, fastsnmp, fastsnmp_session
from . import oids as O
from .profiles import Profile, health_mib, profile_of
from .snmp import AUTH, PRIV, Credentials, Engine, Session, SnmpFailure, gather_bounded
from .state import PollState

TASK = "monitor poll"

WHY = {
    "timeout": "no answer",
    "unreachable": "unreachable: no answer at all from its SNMP agent",
    "wrong_auth_key": "wrong SNMPv3 authentication key (the agent reported a wrong digest)",
    "unknown_user": "the agent does not know this SNMPv3 user",
    "wrong_priv_key": "wrong SNMPv3 privacy key: the agent answers this user without privacy, never with it",
    "garbage": "its address answers, but with nothing that is an SNMP answer to the request",
}


ENGINES = ("fast", "pysnmp")
ENGINE_HELP = "SNMP engine: fast (jinbao's own BER/USM) or pysnmp (DES privacy always goes to pysnmp)."
AnyEngine = Engine | fastsnmp.Engine
AnySession = Session | fastsnmp_session.Session


@dataclass(frozen=True)
class Options:
    timeout: float = 2.0  # per request, seconds
    retries: int = 1
    deadline: float = 20.0  # per device, from the moment its poll starts
    concurrency: int = 16
    # "fast": monitoring/fastsnmp*.py, our own BER and USM, ~1/10 of pysnmp's CPU a device-poll
    # (docs/monitoring.md, Benchmark); "pysnmp": monitoring/snmp.py. Credentials the fast engine
    # cannot speak (DES privacy) go to pysnmp whatever this says.
    engine: str = "fast"


def make_engine(netns: str | None, creds: Credentials, opt: Options) -> AnyEngine:
    if opt.engine not in ENGINES:
        raise JinbaoError(f"SNMP engine {opt.engine!r}: choose one of {', '.join(ENGINES)}")
    if opt.engine == "fast" and fastsnmp.supports(creds):
        return fastsnmp.Engine(netns)
    return Engine(netns)


def session(eng: AnyEngine, job: Job, opt: Options) -> AnySession:
    args = (job.target.host, job.port, job.creds, opt.timeout, opt.retries, job.context)
    if isinstance(eng, fastsnmp.Engine):
        return fastsnmp_session.Session(eng, *args)
    return Session(eng, *args)


@dataclass(frozen=True)
class Job:
    """One device to poll: what it is (the estate), how to reach it (the target), with what."""

    device: Device
    target: Target
    profile: Profile
    creds: Credentials = field(repr=False)
    port: int = 161
    context: str = ""  # SNMPv3 context name (a simulator's recording; empty for a device's own agent)


def credentials(estate: Estate, target: Target) -> Credentials:
    """The device's SNMP credentials, secrets resolved through the target (secrets_file first)."""
    name = target.snmp_profile
    if name not in estate.snmp_profiles:
        raise JinbaoError(f"{target.name}: SNMP profile {name!r} is not in estate {estate.name}")
    p = estate.snmp_profiles[name]
    if p.community_based:
        assert p.community is not None  # the validator guarantees it
        return Credentials("", "", "", "", "", version=str(p.version), community=target.secret(p.community.ref))
    if p.auth_protocol not in AUTH or p.priv_protocol not in PRIV:
        raise JinbaoError(
            f"SNMP profile {name}: auth {p.auth_protocol}/priv {p.priv_protocol} is not supported "
            f"(auth: {', '.join(AUTH)}; priv: {', '.join(PRIV)})"
        )
    assert p.auth_key is not None
    auth = target.secret(p.auth_key.ref)
    priv = target.secret(p.priv_key.ref) if p.priv_key and p.security_level == "authPriv" else ""
    return Credentials(p.user, p.auth_protocol, p.priv_protocol, auth, priv)


def jobs(estate: Estate, found: dict[str, Target]) -> list[Job]:
    """A job per target that is a device of the estate with a monitoring profile. Keys are
    resolved here, before any device is contacted: a missing secret is bad input (exit 2)."""
    out = []
    for name, t in sorted(found.items()):
        d = estate.devices.get(name)
        if d is None:
            continue
        prof = profile_of(d)
        if prof is None:
            raise JinbaoError(f"{name} is a {device_class(d)} and monitoring has no profile for it")
        out.append(Job(d, t, prof, credentials(estate, t)))
    return out


async def _diagnose(s: AnySession, eng: AnyEngine, job: Job) -> str:
    """After a timeout: dead agent, wrong privacy key, or an address answering garbage?"""
    before = eng.received_from(job.target.host, job.port)
    if not job.creds.v3 or not job.creds.priv_key:
        # A wrong community is dropped without a word (net-snmp, snmpsim): it looks like a dead agent.
        return "garbage" if before else "unreachable"
    probe = await s.probe_without_privacy(O.sysUpTime)
    if probe in ("answered", "status", "security_level"):
        return "wrong_priv_key"
    if probe in ("wrong_auth_key", "unknown_user"):
        return probe
    return "garbage" if max(before, eng.received_from(job.target.host, job.port)) else "unreachable"


async def poll_one(job: Job, s: AnySession, st: dict) -> Result:
    d, prof, eng = job.device, job.profile, s.engine
    data: dict = {"class": prof.class_, "platform": d.platform, "address": job.target.host, "status": "ok"}
    started = time.monotonic()
    notes: list[str] = []
    try:
        sysinfo = await collect.system(s, st, "interfaces" in prof.collect)
        data["system"] = sysinfo
        if "interfaces" in prof.collect:
            data["interfaces"] = await collect.interfaces(s, st, sysinfo)
            # The estate's intent: an interface that carries a link must be up, whatever its
            # admin status says (a link taken down by hand is still a link down).
            links = {i.name: i.link for i in d.interfaces if i.link}
            for row in data["interfaces"]:
                row["link"] = links.get(row["name"])
            data["interfaces_static_read"] = st.get("if_static_read", False)
        if "health" in prof.collect:
            data["health"] = await collect.health(s, health_mib(d))
        if "ospf" in prof.collect:
            data["ospf"] = await collect.ospf(s)
            if not data["ospf"]["exposed"]:
                notes.append("OSPF-MIB not exposed by the agent")
        if "ups" in prof.collect:
            data["ups"] = await collect.ups(s)
        if "sensors" in prof.collect:
            data["sensors"] = await collect.sensors(s)
    except SnmpFailure as f:
        kind = await _diagnose(s, eng, job) if f.kind == "timeout" else f.kind
        data["status"] = kind
        why = WHY.get(kind, str(f)) if kind != "malformed" else f"malformed answer: {f}"
        return Result(d.name, TASK, failed=True, data=_stats(data, s, started), problems=(why,))
    data["notes"] = notes
    return Result(d.name, TASK, data=_stats(data, s, started))


def _stats(data: dict, s: AnySession, started: float) -> dict:
    data.update(requests=s.requests, varbinds=s.varbinds, seconds=round(time.monotonic() - started, 3))
    return data


async def _bounded(job: Job, eng: AnyEngine, st: dict, opt: Options) -> Result:
    s = session(eng, job, opt)
    started = time.monotonic()
    try:
        return await asyncio.wait_for(poll_one(job, s, st), opt.deadline)
    except TimeoutError:
        # Cut off before its own diagnosis ended (a loaded machine stretches every timeout):
        # still say what was seen. Answers to some requests: slow. Datagrams but no answer:
        # garbage. Nothing at all: unreachable.
        status = (
            "deadline" if s.answered else "garbage" if eng.received_from(job.target.host, job.port) else "unreachable"
        )
        why = (
            f"{WHY.get(status, 'answered, but not all of its profile')} (cut off at its deadline of {opt.deadline:g} s)"
        )
        data = {"status": status, "class": job.profile.class_, "address": job.target.host}
        return Result(job.device.name, TASK, failed=True, data=_stats(data, s, started), problems=(why,))
    except Exception as e:
        # Whatever one device does to the poller, it is that device's failed result.
        return Result(
            job.device.name,
            TASK,
            failed=True,
            data={"status": "error", "class": job.profile.class_, "trace": traceback.format_exc(limit=3)},
            exception=f"{type(e).__name__}: {e}",
        )


async def poll_async(todo: list[Job], state: PollState, opt: Options) -> AggregatedResult:
    engines: dict[tuple, AnyEngine] = {}
    try:
        for j in todo:
            key = (j.target.netns, j.creds)
            if key not in engines:
                engines[key] = make_engine(j.target.netns, j.creds, opt)
        results = await gather_bounded(
            [_bounded(j, engines[(j.target.netns, j.creds)], state.device(j.device.name), opt) for j in todo],
            opt.concurrency,
        )
    finally:
        for eng in engines.values():
            eng.close()
    agg = AggregatedResult(TASK)
    for r in results:
        agg.add(r)
    return agg


def poll(todo: list[Job], state: PollState | None = None, opt: Options | None = None) -> AggregatedResult:
    """Poll every job once; state (counters, caches) is updated in place and saved."""
    state = state if state is not None else PollState()
    agg = asyncio.run(poll_async(todo, state, opt or Options()))
    state.save()
    return agg
