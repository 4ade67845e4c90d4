"""MON-ALERT-DELIVERY from what real delivery leaves in the monitoring state: the poller's alert
path (alerts.deliver, in its own process, targets from JINBAO_ALERT_*) sends to a webhook on
127.0.0.1 and a UDP syslog socket on loopback, then `jinbao audit run` judges the record and
the dead-letter file. The auditor's own environment is no evidence, and no webhook secret (the
Bearer token, or one in the URL's query) reaches the record, the run or the report."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from compliance.registry import registry
from compliance.sources import monitoring
from tests.support import REPO, run_cli
from tests.support.receivers import Syslog, Webhook, until

[RULE] = [r for r in registry().of("monitoring") if r.id == "MON-ALERT-DELIVERY"]
TOKEN = "bearer-tok-9f3Kq"  # a test value, asserted absent from every output
URL_SECRET = "url-secret-7Hc2"


@pytest.fixture
def setting(tmp_path):
    hook, syslog = Webhook(), Syslog()
    yield tmp_path, hook, syslog
    hook.close()
    syslog.sock.close()


def _env(tmp: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JINBAO_ALERT_")}
    return env | {"JINBAO_STATE_DIR": str(tmp / "state"), "HOOK_TOKEN": TOKEN} | extra


def _targets(hook: Webhook, syslog: Syslog) -> dict:
    return {
        "JINBAO_ALERT_WEBHOOK": f"{hook.url}?key={URL_SECRET}",
        "JINBAO_ALERT_WEBHOOK_TOKEN": "env:HOOK_TOKEN",
        "JINBAO_ALERT_SYSLOG": f"udp://127.0.0.1:{syslog.port}",
    }


def _raise(tmp: Path, env: dict, *ats: str) -> None:
    """One poller process raising an alert at each time, through alerts.deliver as `monitor poll` does."""
    code = (
        "import sys; from pathlib import Path; from monitoring import alerts, state\n"
        "for at in sys.argv[1:]:\n"
        "    alerts.deliver([{'at': at, 'event': 'raise', 'device': 'prov-wan1', 'key': 'unreachable',"
        " 'severity': 'critical', 'message': 'no answer'}], state.alert_log())\n"
    )
    r = subprocess.run([sys.executable, "-c", code, *ats], env=env, cwd=REPO, capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr


def _audit(tmp: Path, **auditor_env: str) -> tuple[dict, str]:
    r = run_cli(
        "--estate", "lab", "audit", "run", "--pki-dir", str(tmp / "noca"), "--json", env=_env(tmp, **auditor_env)
    )
    assert r.returncode in (0, 1), r.stderr
    [v] = [v for v in json.loads(r.stdout)["verdicts"] if v["rule"] == "MON-ALERT-DELIVERY"]
    return v, r.stdout


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _everything_written(tmp: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in (tmp / "state").rglob("*") if p.is_file())


def test_delivered_alerts_conform_naming_each_target_and_its_last_success(setting):
    tmp, hook, syslog = setting
    _raise(tmp, _env(tmp, **_targets(hook, syslog)), _now())
    assert [p["key"] for p in hook.posts] == ["unreachable"]
    assert hook.headers[0]["Authorization"] == f"Bearer {TOKEN}"  # the token was sent, so it was known
    assert until(syslog.drain)
    v, said = _audit(tmp)
    assert v["status"] == "conforms", v
    port = hook.url.split(":")[2].split("/")[0]
    assert f"webhook http://127.0.0.1:{port}: last delivered at 20" in v["note"]
    assert f"syslog udp://127.0.0.1:{syslog.port}: last delivered at 20" in v["note"]
    out = tmp / "report"
    r = run_cli("audit", "report", "--out", str(out), "--no-pdf", env=_env(tmp))
    assert r.returncode == 0, r.stderr
    shown = said + _everything_written(tmp) + "".join(p.read_text() for p in out.iterdir())
    assert "MON-ALERT-DELIVERY" in shown and f"127.0.0.1:{port}" in shown
    assert TOKEN not in shown and URL_SECRET not in shown and "/alerts" not in v["note"]


def test_a_webhook_that_stops_answering_is_one_finding_with_count_and_first_time(setting):
    tmp, hook, syslog = setting
    env = _env(tmp, **_targets(hook, syslog))
    _raise(tmp, env, _now())
    hook.fail = True
    first, later = _now(), (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)).isoformat(timespec="seconds")
    _raise(tmp, env, first, later)  # both dead-lettered after their retries; syslog still takes them
    assert len(hook.posts) == 1
    v, said = _audit(tmp)
    assert v["status"] == "finding", v
    [f] = v["findings"]  # syslog delivered: only the webhook is named
    port = hook.url.split(":")[2].split("/")[0]
    assert f["ref"] == f"webhook http://127.0.0.1:{port}"
    assert "2 alert event(s) undelivered since its last success at 20" in f["message"]
    assert f"the first at {first}" in f["message"] and f["file"].endswith("alerts-undelivered.jsonl")
    assert TOKEN not in said + _everything_written(tmp) and URL_SECRET not in said + _everything_written(tmp)
    # Delivering again settles it: what failed before the newest success is no longer a finding.
    hook.fail = False
    _raise(tmp, env, _now())
    assert _audit(tmp)[0]["status"] == "conforms"


def test_alerts_with_no_target_are_a_local_log_only_whatever_the_auditor_has_set(setting):
    tmp, hook, syslog = setting
    _raise(tmp, _env(tmp), _now())
    assert hook.posts == []
    v, _ = _audit(tmp, **_targets(hook, syslog))  # the auditor's variables are not the estate's
    assert v["status"] == "finding"
    [f] = v["findings"]
    assert f["message"] == "alerts are only written to a local log"
    assert "named no webhook or syslog target; 1 alert(s) raised" in f["text"]
    assert hook.posts == []  # and the audit itself sent nothing


def test_no_monitoring_state_is_no_evidence(tmp_path):
    v, _ = _audit(tmp_path)
    assert v["status"] == "no_evidence" and "no monitoring state" in v["note"]


def test_a_target_quiet_for_days_while_alerts_were_raised_is_a_finding():
    now = dt.datetime(2026, 6, 10, tzinfo=dt.UTC)
    hook = "webhook https://noc.example"
    body = {
        "state": True,
        "folder": "/s/monitoring",
        "alerts_raised": 3,
        "last_raise": "2026-06-09T08:00:00+00:00",
        "last_run": {"at": "2026-06-09T08:00:00+00:00", "targets": [hook]},
        "targets": {hook: {"sent": 5, "last_success": "2026-05-20T08:00:00+00:00", "undelivered": 0}},
    }
    v = monitoring.delivery(RULE, body, "estate x", now)
    assert v.status == "finding" and "no successful delivery in 7 days" in v.findings[0].message
    body["targets"][hook]["last_success"] = "2026-06-09T08:00:05+00:00"  # it took the newest raise
    assert monitoring.delivery(RULE, body, "estate x", now).status == "conforms"
    body["targets"][hook]["last_success"] = "2026-05-20T08:00:00+00:00"
    body["last_raise"] = "2026-05-01T00:00:00+00:00"  # nothing raised since it last delivered
    assert monitoring.delivery(RULE, body, "estate x", now).status == "conforms"
