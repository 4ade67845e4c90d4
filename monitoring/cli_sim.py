"""`jinbao monitor sim`: poll estate devices as snmpsim serves their recordings (monitoring/sim/).

For people to see what the poller makes of every recorded device class, without a lab: the
simulator runs on loopback for the length of the command, with SNMPv3 keys made for this run.
"""

from __future__ import annotations

import json
import secrets

import click

from jinbao.classes import device_class
from jinbao.console import finish
from jinbao.errors import JinbaoError
from jinbao.estate import load_estate
from jinbao.model import Device, Estate
from jinbao.names import did_you_mean
from jinbao.target import Target

from . import alerts, poller, thresholds
from .cli import _table
from .profiles import profile_of
from .sim import recordings
from .simulator import RECORDINGS, Simulator
from .snmp import Credentials
from .state import PollState

# Which device of the estate a recording stands for by default: (class, platform or None, nth).
# The Cisco recording is polled as the estate's first router with platform cisco_ios.
DEFAULT = {
    "ups": ("ups", None, 0),
    "ups-on-battery": ("ups", None, 1),
    "env_sensor": ("env_sensor", None, 0),
    "storage": ("storage", None, 0),
    "router-cisco": ("router", None, 0),
    "switch-h3c": ("switch", "h3c_comware", 0),
}
PLATFORM = {"router-cisco": "cisco_ios", "switch-h3c": "h3c_comware"}


def default_map(estate: Estate) -> dict[str, str]:
    """Each recording as the device its sysName names, else the nth device of its class."""
    out = {}
    for rec, (cls, platform, nth) in DEFAULT.items():
        named = str(recordings.value(rec, "1.3.6.1.2.1.1.5.0"))
        if named in estate.devices and named not in out:
            out[named] = rec
            continue
        found = sorted(
            n for n, d in estate.devices.items() if device_class(d) == cls and platform in (None, d.platform)
        )
        if len(found) > nth:
            out[found[nth]] = rec
    return out


def as_recorded(d: Device, rec: str) -> Device:
    """The device with the platform its recording speaks (its health MIB follows the platform)."""
    return d.model_copy(update={"platform": PLATFORM[rec]}) if rec in PLATFORM else d


@click.command(name="sim")
@click.option("--estate", default="province", show_default=True, help="The estate the devices belong to.")
@click.option("--map", "pairs", multiple=True, help="DEVICE=RECORDING (repeatable); default: one device per recording.")
@click.option("--json", "as_json", is_flag=True, help="Every result and alert event as JSON on stdout.")
def sim_cmd(estate, pairs, as_json):
    """Poll estate devices against snmpsim serving the recordings of monitoring/sim/."""
    model = load_estate(estate)
    known = sorted(p.stem for p in RECORDINGS.glob("*.snmprec"))
    mapping = {}
    for pair in pairs:
        dev, sep, rec = pair.partition("=")
        if not sep or dev not in model.devices or rec not in known:
            hint = did_you_mean(dev, model.devices) if dev not in model.devices else f"recordings: {', '.join(known)}"
            raise JinbaoError(f"--map {pair!r}: want DEVICE=RECORDING of estate {model.name}; {hint}")
        mapping[dev] = rec
    mapping = mapping or default_map(model)
    user, auth, priv = "jinbao-sim", secrets.token_hex(12), secrets.token_hex(12)
    creds = Credentials(user, "sha", "aes", auth, priv)
    todo = []
    for name, rec in sorted(mapping.items()):
        d = as_recorded(model.devices[name], rec)
        prof = profile_of(d)
        if prof is None:
            raise JinbaoError(f"{name} is a {device_class(d)} and monitoring has no profile for it")
        todo.append((d, prof, rec))
    with Simulator(sorted(set(mapping.values())), user, auth, priv) as s:
        jobs = [
            poller.Job(d, Target(d.name, d.platform, s.host, "", snmp_profile=d.snmp_profile), prof, creds, s.port, rec)
            for d, prof, rec in todo
        ]
        agg = poller.poll(jobs, PollState(), poller.Options(timeout=3, deadline=60))
    events = alerts.evaluate(agg, {d.name: thresholds.effective(model, d, p) for d, p, _ in todo}, {})
    if as_json:
        doc = {"map": mapping, "results": {h: r.as_dict() for h, r in agg.results.items()}, "alerts": events}
        click.echo(json.dumps(doc, ensure_ascii=False, indent=1, default=str))
    else:
        _table(agg, events)
    finish(agg)
