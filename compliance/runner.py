"""`jinbao audit run`: collect every kind of evidence, evaluate every rule, keep the run.

Runs are kept in the state folder (compliance/runs/<time>.json) so `audit report` can render
the newest and compare it with the one before (the trend). A source that cannot be read (no
CA, no drill yet, monitoring never polled) gives "no evidence" for its rules, never "conforms".
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from jinbao.errors import JinbaoError
from jinbao.state import write_whole

from . import keptruns, waivers
from .registry import registry
from .sources import configs, dr, inventory, monitoring, pki, servers
from .verdicts import Run, Verdict


def run(
    estate_arg: str,
    site: str | None = None,
    lab: str | None = None,
    ca_dir: Path = pki.DEFAULT_CA_DIR,
    pki_as: str | None = None,
    waivers_file: Path | None = None,
    with_monitoring: bool = True,
    ocsp_url: str | None = None,
) -> Run:
    reg = registry()
    live = waivers.load(waivers_file, reg)
    estate, raw, where = inventory.load(estate_arg)
    if site and site not in estate.sites:
        raise JinbaoError(f"no site {site!r} in estate {estate.name}")
    r = Run()
    r.verdicts += inventory.evaluate(estate, raw, where, reg.of("inventory"))
    r.sources["inventory"] = f"estate {estate.name}: the core's design checks"
    source = f"lab:{lab}" if lab else f"estate:{estate.name}"
    v, read = configs.evaluate(estate, reg.of("device_config"), source, site)
    r.verdicts += v
    r.sources["device_config"] = (
        f"{read['backup']} device(s) from backups in {configs.backups(source)}, "
        f"{read['rendered']} from the rendered intent"
        + (
            f"; {len(read['unreadable'])} backup(s) could not be read, so the intent was judged"
            f" for their devices: {'; '.join(read['unreadable'])}"
            if read["unreadable"]
            else ""
        )
    )
    v, said = servers.evaluate(estate, reg.of("servers"), source, site)
    r.verdicts += v
    r.sources["servers"] = said
    v, said = pki.evaluate(reg.of("pki"), ca_dir, pki_as, ocsp_url=ocsp_url, lab_only=bool(lab))
    r.verdicts += v
    r.sources["pki"] = said
    v, said = dr.evaluate(estate, reg.of("dr"), site)
    r.verdicts += v
    r.sources["dr"] = said
    if with_monitoring:
        v, said = monitoring.evaluate(estate, estate_arg, reg.of("monitoring"), site, source if lab else None)
        r.verdicts += v
        r.sources["monitoring"] = said
    else:
        r.verdicts += [
            Verdict(x.id, f"estate {estate.name}", "no_evidence", note="monitoring not read (--no-monitoring)")
            for x in reg.of("monitoring")
        ]
        r.sources["monitoring"] = "not read (--no-monitoring)"
    r.verdicts = waivers.apply(r.verdicts, live)
    return r


def save(r: Run, estate: str, site: str | None) -> Path:
    now = dt.datetime.now(dt.UTC)
    body = {
        "estate": estate,
        "site": site,
        "at": now.isoformat(timespec="seconds"),
        "sources": r.sources,
        "verdicts": [v.as_dict() for v in r.verdicts],
    }
    path = keptruns.runs_dir() / f"{now:%Y%m%dT%H%M%S%f}.json"
    # A kept run quotes device config lines: the folder 0700 and each run 0600, the owner's only.
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_whole(path, json.dumps(body, ensure_ascii=False, indent=1), 0o600)
    return path
