"""The poller's requests (monitoring/snmp.py) against a real snmpd on loopback: raw numeric
varbinds give the same values as net-snmp's own tools, and no request OID goes through the MIB
(what made hlapi's requests cost a tenth of the poller's CPU, and a MIB compiler per engine
where pysmi is installed)."""

from __future__ import annotations

import asyncio
import subprocess

from pysnmp.smi import rfc1902

from monitoring import oids as O
from monitoring.snmp import Credentials, Engine, Session

from .test_loopback_agent import AUTH, PRIV, USER, agent  # noqa: F401 - the fixture

V3 = ["-v3", "-l", "authPriv", "-u", USER, "-a", "SHA", "-A", AUTH, "-x", "AES", "-X", PRIV, "-On", "-Oqv"]


def _netsnmp(tool: str, port: int, oid: str) -> list[str]:
    out = subprocess.run([tool, *V3, f"127.0.0.1:{port}", oid], capture_output=True, text=True, check=True)
    return [line.strip().strip('"') for line in out.stdout.splitlines() if line.strip()]


def test_gets_and_walks_match_net_snmp_and_resolve_nothing_through_the_mib(agent, monkeypatch):  # noqa: F811
    a = agent()
    resolved = []
    real = rfc1902.ObjectIdentity.resolve_with_mib

    def counting(self, *args, **kwargs):
        resolved.append(self)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(rfc1902.ObjectIdentity, "resolve_with_mib", counting)

    async def run():
        eng = Engine(None)
        try:
            s = Session(eng, "127.0.0.1", a.port, Credentials(USER, "sha", "aes", AUTH, PRIV), 2.0, 1)
            got = await s.get(O.sysName, O.ifNumber, O.oid("1.3.6.1.2.1.1.99.0"))
            # max_repetitions 1: a walk of several requests, each continuing from its cursor
            cols = await s.columns([O.ifDescr, O.ifAdminStatus], 1)
            return got, cols, s.requests
        finally:
            eng.close()

    got, cols, requests = asyncio.run(run())
    assert bytes(got[O.sysName]).decode() == _netsnmp("snmpget", a.port, "1.3.6.1.2.1.1.5.0")[0] == "loopback-agent"
    assert int(got[O.ifNumber]) == int(_netsnmp("snmpget", a.port, "1.3.6.1.2.1.2.1.0")[0])
    assert got[O.oid("1.3.6.1.2.1.1.99.0")] is None  # absent from the agent
    descr = [bytes(v).decode() for v in cols[O.ifDescr].values()]
    assert descr == _netsnmp("snmpbulkwalk", a.port, "1.3.6.1.2.1.2.2.1.2") and descr
    assert [int(v) for v in cols[O.ifAdminStatus].values()] == [
        int(x) for x in _netsnmp("snmpbulkwalk", a.port, "1.3.6.1.2.1.2.2.1.7")
    ]
    assert requests >= len(descr) + 1
    assert not resolved


def test_a_wrong_privacy_key_is_told_apart_through_the_probe_engine(agent, lab_estate):  # noqa: F811
    """The probe request (same user without privacy, on a second engine) goes through the same
    raw path: a wrong privacy key is named as such, the right one answers in the same run."""
    from monitoring import poller

    from .test_loopback_agent import _job

    a = agent()
    good = _job(lab_estate, a)
    bad = poller.Job(
        good.device.model_copy(update={"name": "wrong-priv"}),
        good.target,
        good.profile,
        Credentials(USER, "sha", "aes", AUTH, "not-the-priv-key"),
        port=a.port,
    )
    agg = poller.poll([good, bad], opt=poller.Options(timeout=1.0, retries=0, deadline=15.0))
    assert not agg.results["loopback-agent"].failed
    assert agg.results["wrong-priv"].data["status"] == "wrong_priv_key"
