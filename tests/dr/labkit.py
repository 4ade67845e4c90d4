"""What the DR pair looks like from outside the drill code, read by the tests themselves."""

from __future__ import annotations

import json
import re

from jinbao.target import targets
from tests.support import run_cli

PSQL = "/usr/lib/postgresql/15/bin/psql -XAtq -h /run/postgresql -d postgres -c"


def sql(lab_id: str, node: str, query: str) -> str:
    r = targets(f"lab:{lab_id}")[node].run(f"{PSQL} {json.dumps(query)}")
    assert r.returncode == 0, r.stderr
    return r.stdout.decode().strip()


def pair_state(lab_id: str) -> dict:
    """What the pair looks like from outside the drill code: roles, streaming, service routes."""
    t = targets(f"lab:{lab_id}")
    routes = {}
    for fw in ("prov-fw1", "dr-fw1"):
        conf = t[fw].run("vtysh -c 'show running-config'").stdout.decode()
        routes[fw] = re.findall(r"^ip route 10\.90\.0\.14/32 \S+ tag (\d+)$", conf, re.M)
    return {
        "prov-db1": sql(lab_id, "prov-db1", "select pg_is_in_recovery()"),
        "dr-db1": sql(lab_id, "dr-db1", "select pg_is_in_recovery()"),
        "streaming": sql(lab_id, "prov-db1", "select application_name, state, sync_state from pg_stat_replication"),
        "routes": routes,
    }


START = {
    "prov-db1": "f",
    "dr-db1": "t",
    "streaming": "dr_db1|streaming|sync",
    "routes": {"prov-fw1": ["10"], "dr-fw1": ["1000"]},
}


def run_drill(lab_id, drill, tmp_path, *extra):
    env = {"JINBAO_STATE_DIR": str(tmp_path)}
    r = run_cli("dr", "run", drill, "--lab", lab_id, *extra, env=env, timeout=600)
    reports = sorted((tmp_path / "drills").glob("*/report.json"))
    rep = json.loads(reports[-1].read_text()) if reports else None
    return r, rep


def acks(rep_dir):
    return [json.loads(l) for l in (rep_dir / "canary.jsonl").read_text().splitlines() if '"ack"' in l]


def put_back(lab_id: str) -> None:
    """A test's finally: the pair as the inventory says, whatever the test left (a database down
    makes pair_state fail, so restore is asked whenever the state cannot be read as START)."""
    try:
        ok = pair_state(lab_id) == START
    except AssertionError:
        ok = False
    if not ok:
        run_cli("dr", "restore", "--lab", lab_id, timeout=600)
