"""The history store on an injected clock: down-sampling, retention, idempotence, two writers,
and `jinbao monitor history`'s sparkline. No agent needed (fast)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jinbao.errors import JinbaoError
from monitoring.charts import BARS, sparkline
from monitoring.history import History, Retention

T0 = 1_800_000_000.0  # a whole hour, so buckets start at T0
DAY = 86400


def jinbao(*args: str, state: Path) -> subprocess.CompletedProcess:
    """The installed `jinbao` command, as an operator runs it (exit codes included)."""
    exe = Path(sys.executable).parent / "jinbao"
    env = {**os.environ, "JINBAO_STATE_DIR": str(state)}
    return subprocess.run([str(exe), *args], capture_output=True, text=True, env=env, timeout=120)


class Clock:
    def __init__(self, t: float):
        self.t = t

    def __call__(self) -> float:
        return self.t


def value_at(ts: float) -> float:
    # A sawtooth with a different value every minute of the hour: min, max and avg all move.
    return float(int(ts // 60) % 60)


def _dump(h: History) -> tuple:
    return (
        h.db.execute("SELECT * FROM rollup ORDER BY step, series, ts").fetchall(),
        h.db.execute("SELECT * FROM raw ORDER BY series, ts").fetchall(),
        h.db.execute("SELECT * FROM watermark ORDER BY step").fetchall(),
    )


def test_down_sampling_and_retention_are_incremental_and_idempotent(tmp_path):
    clock = Clock(T0)
    ret = Retention.parse("raw=2h,5m=1d,1h=3d")
    h = History(tmp_path / "h.sqlite", ret, clock)
    written: dict[float, float] = {}
    # Four days of one sample a minute, maintained every 17 minutes as a daemon would.
    for i in range(4 * 24 * 60):
        clock.t = T0 + 60 * i + 7  # 7 s into each minute: a poll never lands on a bucket edge
        h.add("d1", [("", "cpu_pct", value_at(clock.t))])
        written[clock.t] = value_at(clock.t)
        if i % 17 == 0:
            h.maintain()
    h.maintain()
    now = clock.t
    # Raw: only the last 2 h are left.
    raw_ts = [r[0] for r in h.db.execute("SELECT ts FROM raw").fetchall()]
    assert raw_ts and min(raw_ts) >= now - 2 * 3600 - 300 and max(raw_ts) == now
    # 5-minute buckets: kept one day, each the avg/min/max of its raw samples as written.
    five = h.db.execute("SELECT ts, avg, min, max, n FROM rollup WHERE step=300 ORDER BY ts").fetchall()
    assert five[0][0] >= now - DAY - 3600 and len(five) > 200
    for ts, avg, lo, hi, n in five:
        mine = [v for t, v in written.items() if ts <= t < ts + 300]
        assert n == len(mine) == 5
        assert (lo, hi) == (min(mine), max(mine)) and avg == pytest.approx(sum(mine) / len(mine))
    # Hourly buckets from the 5-minute ones, kept three days; the weighted average is the raw mean.
    hours = h.db.execute("SELECT ts, avg, min, max, n FROM rollup WHERE step=3600 ORDER BY ts").fetchall()
    assert hours[0][0] >= now - 3 * DAY - 3600 and len(hours) >= 70
    for ts, avg, lo, hi, n in hours:
        mine = [v for t, v in written.items() if ts <= t < ts + 3600]
        assert n == len(mine) and avg == pytest.approx(sum(mine) / len(mine)) and (lo, hi) == (min(mine), max(mine))
    # Nothing that is still raw-only was dropped: every minute since the 5-minute watermark is raw.
    mark = h.watermark(300)
    assert mark is not None and all(t in raw_ts for t in written if t >= mark)
    # Idempotent: maintaining again, and rolling from scratch with the same data, change nothing.
    before = _dump(h)
    h.maintain()
    assert _dump(h) == before
    h.db.execute("DELETE FROM watermark WHERE step=300")
    h.db.execute("DELETE FROM rollup WHERE step=300 AND ts >= ?", (mark - 3600,))
    h.db.execute("INSERT INTO watermark VALUES (300, ?)", (int(mark - 3600),))
    h.maintain()
    assert _dump(h) == before
    h.close()


def test_a_query_picks_the_finest_tier_that_reaches_back_and_adds_the_newest_raw(tmp_path):
    clock = Clock(T0)
    h = History(tmp_path / "h.sqlite", Retention.parse("raw=1h,5m=1d"), clock)
    for i in range(6 * 60):
        clock.t = T0 + 60 * i + 7
        h.add("d1", [("eth0", "in_bps", value_at(clock.t))])
    h.maintain()
    tier, pts = h.query("d1", "eth0", "in_bps", 1800)
    assert tier == 0 and len(pts) == 1800 // 60 + 1 and pts[-1].avg == value_at(clock.t)
    tier, pts = h.query("d1", "eth0", "in_bps", 5 * 3600)
    assert tier == 300
    # 5-minute points up to the watermark, then the raw minutes after it, in time order.
    assert [p.ts for p in pts] == sorted(p.ts for p in pts) and pts[-1].ts == clock.t
    assert any(p.min != p.max for p in pts) and pts[-1].min == pts[-1].max


def test_two_processes_writing_at_once_both_land(tmp_path):
    db = tmp_path / "h.sqlite"
    History(db).close()  # created (WAL) before the race, as the daemon would have
    # Each writer says it is ready and waits for "go", so their writes really overlap (checked).
    code = (
        "import sys, time, json; from pathlib import Path; from monitoring.history import History\n"
        "h = History(Path(sys.argv[1])); d = Path(sys.argv[1]).parent\n"
        "(d / (sys.argv[2] + '.ready')).touch()\n"
        "end = time.monotonic() + 60\n"
        "while not (d / 'go').exists() and time.monotonic() < end: time.sleep(0.005)\n"
        "first = time.time()\n"
        "for i in range(500):\n"
        "    h.add(sys.argv[2], [('', 'cpu_pct', float(i)), ('eth0', 'in_bps', float(i))], ts=float(sys.argv[3]) + i)\n"
        "    if i % 50 == 0: h.maintain()\n"
        "print(json.dumps([first, time.time()]))\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(db), f"dev{n}", str(time.time() - 1000)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for n in (1, 2)
    ]
    try:
        end = time.monotonic() + 60
        while not all((tmp_path / f"dev{n}.ready").exists() for n in (1, 2)):
            assert time.monotonic() < end and all(p.poll() is None for p in procs), "a writer never got ready"
            time.sleep(0.01)
        (tmp_path / "go").touch()
        spans = []
        for p in procs:
            got, errors = p.communicate(timeout=120)
            assert p.returncode == 0, errors.decode()
            spans.append(json.loads(got))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)
    (a0, a1), (b0, b1) = spans
    assert a0 < b1 and b0 < a1, f"the writers did not overlap: {spans}"
    with History(db) as h:
        assert h.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        counts = dict(
            h.db.execute("SELECT s.device, count(*) FROM raw r JOIN series s ON s.id=r.series GROUP BY s.device")
        )
    assert counts == {"dev1": 1000, "dev2": 1000}


def test_retention_settings_are_checked_with_the_fix():
    assert Retention.parse("raw=48h,5m=30d,1h=365d") == Retention(48 * 3600, ((300, 30 * DAY), (3600, 365 * DAY)))
    for bad, says in (
        ("5m=30d", "raw=48h"),
        ("raw=48h,7m=1d,1h=30d", "multiples"),
        ("raw=2x", "not a duration"),
        ("raw=1h,5m", "STEP=KEEP"),
        ("raw=1h,1h=30m", "longer than one bucket"),
    ):
        with pytest.raises(JinbaoError, match=says):
            Retention.parse(bad)


def test_sparkline_scales_between_min_and_max():
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == BARS
    assert sparkline([5, 5, 5]) == BARS[4] * 3 and sparkline([]) == ""


def test_history_command_prints_a_sparkline_with_min_avg_max(tmp_path):
    now = time.time()
    with History(tmp_path / "monitoring" / "history.sqlite") as h:
        for i in range(60):  # rising in the last hour: the line must rise from ▁ to █
            h.add("prov-wan1", [("eth1", "in_bps", 1000.0 * i), ("", "cpu_pct", 10.0)], ts=now - 3600 + 60 * i)
    run = jinbao(
        "monitor", "history", "prov-wan1", "--if", "eth1", "--metric", "in_bps", "--since", "2h", state=tmp_path
    )
    assert run.returncode == 0, run.stderr
    line = next(l for l in run.stdout.splitlines() if "in_bps" in l)
    spark = line.split()[1]
    assert spark[0] == BARS[0] and spark[-1] == BARS[-1] and list(spark) == sorted(spark)
    assert "min 0 bps" in line and "max 59.0 kbps" in line and "avg 29.5 kbps" in line and "(60 raw)" in line
    doc = json.loads(jinbao("monitor", "history", "prov-wan1", "--json", "--since", "2h", state=tmp_path).stdout)
    assert doc["series"]["cpu_pct"]["summary"]["max"] == 10.0 and len(doc["series"]["cpu_pct"]["points"]) == 60
    missing = jinbao("monitor", "history", "prov-wan2", state=tmp_path)
    assert missing.returncode == 2 and "prov-wan1" in missing.stderr
    bad_if = jinbao("monitor", "history", "prov-wan1", "--if", "eth9", state=tmp_path)
    assert bad_if.returncode == 2 and "eth1" in bad_if.stderr


def test_history_png_is_a_png_or_says_what_is_missing(tmp_path):
    with History(tmp_path / "monitoring" / "history.sqlite") as h:
        for i in range(10):
            h.add("prov-ups1", [("", "ups_load_pct", 40.0 + i)], ts=time.time() - 600 + 60 * i)
    png = tmp_path / "ups.png"
    run = jinbao("monitor", "history", "prov-ups1", "--png", str(png), state=tmp_path)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert run.returncode == 2 and "matplotlib" in run.stderr and not png.exists()
        return
    assert run.returncode == 0, run.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


@pytest.mark.parametrize(
    "args, says",
    [
        (["--interval", "10s", "--deadline", "30"], "polls would overlap"),
        (["--interval", "5x"], "not a duration"),
        (["--device", "prov-wan9"], "no device 'prov-wan9'"),
        (["--listen", "nonsense"], "HOST:PORT"),
    ],
)
def test_monitor_run_refuses_bad_input_before_contacting_any_device(tmp_path, monkeypatch, args, says):
    # estate:lab names the lab's devices at their management addresses, which nothing here can
    # reach; each case must be refused before the first request (exit 2), or it would time out.
    monkeypatch.setenv("JINBAO_SNMP_AUTH_KEY", "not-used-auth")
    monkeypatch.setenv("JINBAO_SNMP_PRIV_KEY", "not-used-priv")
    started = time.monotonic()
    r = jinbao("monitor", "run", "--targets", "estate:lab", "--device", "prov-wan1", *args, state=tmp_path)
    assert r.returncode == 2 and says in r.stderr, r.stdout + r.stderr
    assert "poll 1" not in r.stderr and time.monotonic() - started < 60
    assert not list(tmp_path.glob("monitoring/alerts.jsonl"))


def test_monitor_run_without_a_source_is_a_usage_error(tmp_path):
    r = jinbao("monitor", "run", state=tmp_path)
    assert r.returncode == 2 and "--lab ID or --targets" in r.stderr
