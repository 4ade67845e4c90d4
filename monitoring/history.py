"""The history of every poll: an embedded time-series store in SQLite, with retention and
down-sampling.

One database per state folder, `$JINBAO_STATE_DIR/monitoring/history.sqlite`, shared by every
poll (`monitor poll`, the daemon): a series is (device, object, metric), its raw samples are kept
for a while, then as averages with min and max per 5 minutes, then per hour (tiers configurable,
`Retention`). Down-sampling is incremental and idempotent: each tier remembers how far it has
rolled up (a watermark), rolls only whole buckets past it, and writes them with INSERT OR
REPLACE, so running it twice, or from two processes, gives the same rows.

Two processes may write at once (a `monitor poll` while the daemon runs): the database is in WAL
mode, every write is one `BEGIN IMMEDIATE` transaction, and a writer waits for the other
(busy timeout) instead of failing. A bucket is rolled up only GRACE seconds after it ends, so a
poll that took its timestamp just before the bucket ended still lands in it.

The clock is injectable (`History(path, clock=...)`), so tests run days of retention in a second.
"""

from __future__ import annotations

import math
import re
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from jinbao.errors import JinbaoError
from jinbao.result import AggregatedResult

from . import samples
from .state import state_dir

GRACE = 120.0  # seconds after a bucket ends before it is rolled up
BUSY_TIMEOUT = 30.0  # seconds a writer waits for the other process's transaction
RETENTION_ENV = "JINBAO_HISTORY_RETENTION"
DEFAULT_RETENTION = "raw=48h,5m=30d,1h=365d"
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

SCHEMA = """
CREATE TABLE IF NOT EXISTS series(
  id INTEGER PRIMARY KEY, device TEXT NOT NULL, object TEXT NOT NULL, metric TEXT NOT NULL,
  UNIQUE(device, object, metric));
CREATE TABLE IF NOT EXISTS raw(
  series INTEGER NOT NULL, ts REAL NOT NULL, value REAL NOT NULL, PRIMARY KEY(series, ts)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup(
  step INTEGER NOT NULL, series INTEGER NOT NULL, ts INTEGER NOT NULL,
  avg REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY(step, series, ts)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS watermark(step INTEGER PRIMARY KEY, upto INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS polls(
  ts REAL NOT NULL, source TEXT NOT NULL, devices INTEGER NOT NULL, failed INTEGER NOT NULL,
  seconds REAL NOT NULL, PRIMARY KEY(source, ts));
"""


def duration(text: str, what: str) -> int:
    """'90s', '5m', '6h', '30d', '2w' in seconds; anything else is bad input naming `what`."""
    m = re.fullmatch(r"\s*(\d+)\s*([smhdw])\s*", text or "")
    if not m or int(m.group(1)) == 0:
        raise JinbaoError(
            f"{what}: {text!r} is not a duration; write a positive number and a unit, e.g. 90s, 5m, 6h, 30d, 2w"
        )
    return int(m.group(1)) * UNITS[m.group(2)]


@dataclass(frozen=True)
class Retention:
    """How long raw samples are kept, and each down-sampled tier: (step seconds, keep seconds)."""

    raw_keep: int
    tiers: tuple[tuple[int, int], ...]

    @classmethod
    def parse(cls, text: str, what: str = RETENTION_ENV) -> Retention:
        """'raw=48h,5m=30d,1h=365d': raw kept 48 h, 5-minute buckets 30 days, hourly a year."""
        raw_keep, tiers = None, []
        for part in filter(None, (p.strip() for p in text.split(","))):
            key, eq, keep = part.partition("=")
            if not eq:
                raise JinbaoError(f"{what}: {part!r} needs the form STEP=KEEP (e.g. 5m=30d); got {text!r}")
            if key.strip() == "raw":
                raw_keep = duration(keep, f"{what} raw")
            else:
                tiers.append((duration(key, f"{what} step"), duration(keep, f"{what} {key.strip()}")))
        if raw_keep is None:
            raise JinbaoError(f"{what}: {text!r} does not say how long raw samples are kept; start it with raw=48h")
        tiers.sort()
        prev = None
        for step, keep in tiers:
            if prev and step % prev:
                raise JinbaoError(f"{what}: a {step} s tier is not a whole number of {prev} s buckets; use multiples")
            if keep <= step:
                raise JinbaoError(f"{what}: the {step} s tier must be kept longer than one bucket")
            prev = step
        return cls(raw_keep, tuple(tiers))

    @classmethod
    def configured(cls) -> Retention:
        import os

        return cls.parse(os.environ.get(RETENTION_ENV) or DEFAULT_RETENTION)


def history_file() -> Path:
    return state_dir() / "history.sqlite"


@dataclass(frozen=True)
class Point:
    ts: float
    avg: float
    min: float
    max: float


class History:
    """The store. One connection per instance; open, use, close (or use as a context manager)."""

    def __init__(
        self, path: Path | None = None, retention: Retention | None = None, clock: Callable[[], float] = time.time
    ):
        self.path = path or history_file()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.retention = retention or Retention.configured()
        self.clock = clock
        self._ids: dict[tuple[str, str, str], int] = {}  # series ids never change once committed
        # isolation_level=None: transactions are ours (BEGIN IMMEDIATE), not the module's guesses.
        self.db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)
        self.db.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        # IF NOT EXISTS, statement by statement: two processes opening a new file both succeed.
        self.db.executescript(SCHEMA)

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    def _write(self):
        db = self.db

        class Tx:
            def __enter__(self):
                db.execute("BEGIN IMMEDIATE")

            def __exit__(self, kind, *exc):
                db.execute("COMMIT" if kind is None else "ROLLBACK")

        return Tx()

    def _series(self, device: str, obj: str, metric: str) -> int:
        key = (device, obj, metric)
        if key in self._ids:
            return self._ids[key]
        row = self.db.execute(
            "SELECT id FROM series WHERE device=? AND object=? AND metric=?", (device, obj, metric)
        ).fetchone()
        if row:
            self._ids[key] = row[0]
        else:
            cur = self.db.execute("INSERT INTO series(device, object, metric) VALUES (?,?,?)", key)
            # Cached only once committed (the caller's transaction may roll back): see add().
            return int(cur.lastrowid or 0)
        return self._ids[key]

    # --- writing -------------------------------------------------------------------------------

    def add(self, device: str, rows: Iterable[samples.Sample], ts: float | None = None) -> int:
        """Store one device's samples at ts (now by default); the same (series, ts) twice is one row."""
        at = self.clock() if ts is None else ts
        n = 0
        with self._write():
            for obj, metric, value in rows:
                if math.isfinite(value):
                    sid = self._series(device, obj, metric)
                    self.db.execute("INSERT OR REPLACE INTO raw VALUES (?,?,?)", (sid, at, value))
                    n += 1
        return n

    def last_ts(self, device: str) -> float | None:
        row = self.db.execute(
            "SELECT max(r.ts) FROM raw r JOIN series s ON s.id=r.series WHERE s.device=? AND s.metric='reachable'",
            (device,),
        ).fetchone()
        return row[0] if row and row[0] is not None else None

    def record(self, agg: AggregatedResult, source: str, ts: float | None = None) -> int:
        """Every device's samples of one poll, and the poll itself (for `monitor status`)."""
        at = self.clock() if ts is None else ts
        n = 0
        for host, r in sorted(agg.results.items()):
            prev = self.last_ts(host)
            n += self.add(host, samples.of_result(r, at - prev if prev is not None and prev < at else None), at)
        seconds = max([float((r.data or {}).get("seconds") or 0) for r in agg.results.values()], default=0.0)
        with self._write():
            self.db.execute(
                "INSERT OR REPLACE INTO polls VALUES (?,?,?,?,?)",
                (at, source, len(agg.results), len(agg.failed_hosts), seconds),
            )
        return n

    # --- down-sampling and retention -------------------------------------------------------------

    def watermark(self, step: int) -> int | None:
        row = self.db.execute("SELECT upto FROM watermark WHERE step=?", (step,)).fetchone()
        return row[0] if row else None

    def _roll(self, step: int, src: int, until: float) -> int:
        """Roll the source tier (0 = raw) into `step` buckets up to `until`; returns buckets written."""
        start = self.watermark(step)
        if start is None:
            if src == 0:
                first = self.db.execute("SELECT min(ts) FROM raw").fetchone()[0]
            else:
                first = self.db.execute("SELECT min(ts) FROM rollup WHERE step=?", (src,)).fetchone()[0]
            if first is None:
                return 0
            start = int(first // step * step)
        end = int(until // step * step)
        if end <= start:
            return 0
        if src == 0:
            cur = self.db.execute(
                "INSERT OR REPLACE INTO rollup SELECT ?, series, CAST(ts / ? AS INTEGER) * ?, "
                "avg(value), min(value), max(value), count(*) FROM raw WHERE ts >= ? AND ts < ? "
                "GROUP BY series, CAST(ts / ? AS INTEGER)",
                (step, step, step, start, end, step),
            )
        else:
            cur = self.db.execute(
                "INSERT OR REPLACE INTO rollup SELECT ?, series, (ts / ?) * ?, "
                "sum(avg * n) / sum(n), min(min), max(max), sum(n) FROM rollup "
                "WHERE step = ? AND ts >= ? AND ts < ? GROUP BY series, ts / ?",
                (step, step, step, src, start, end, step),
            )
        self.db.execute("INSERT OR REPLACE INTO watermark VALUES (?,?)", (step, end))
        return cur.rowcount

    def maintain(self) -> dict:
        """Roll up what is complete, then drop what is past its tier's retention. Safe to run at
        any time, from any process, any number of times: each step picks up where the last ended.
        Nothing is dropped before it has been rolled into the next tier."""
        now = self.clock()
        done: dict = {"rolled": {}, "dropped": {}}
        with self._write():
            src, until = 0, now - GRACE
            for step, _ in self.retention.tiers:
                done["rolled"][step] = self._roll(step, src, until)
                until = min(until, self.watermark(step) or 0)
                src = step
            first = self.retention.tiers[0][0] if self.retention.tiers else None
            cut = now - self.retention.raw_keep
            if first is not None:
                cut = min(cut, self.watermark(first) or 0)
            done["dropped"]["raw"] = self.db.execute("DELETE FROM raw WHERE ts < ?", (cut,)).rowcount
            tiers = self.retention.tiers
            for i, (step, keep) in enumerate(tiers):
                cut = now - keep
                if i + 1 < len(tiers):
                    cut = min(cut, self.watermark(tiers[i + 1][0]) or 0)
                done["dropped"][step] = self.db.execute(
                    "DELETE FROM rollup WHERE step=? AND ts < ?", (step, cut)
                ).rowcount
            self.db.execute("DELETE FROM polls WHERE ts < ?", (now - self.retention.raw_keep,))
        return done

    # --- reading ---------------------------------------------------------------------------------

    def tier_for(self, since: float) -> int:
        """The finest tier (0 = raw) whose retention reaches back `since` seconds."""
        if since <= self.retention.raw_keep or not self.retention.tiers:
            return 0
        for step, keep in self.retention.tiers:
            if since <= keep:
                return step
        return self.retention.tiers[-1][0]

    def series(self, device: str | None = None) -> list[tuple[str, str, str]]:
        q = "SELECT device, object, metric FROM series" + (" WHERE device=?" if device else "")
        return sorted(self.db.execute(q, (device,) if device else ()).fetchall())

    def query(self, device: str, obj: str, metric: str, since: float) -> tuple[int, list[Point]]:
        """(tier, points) of one series over the last `since` seconds. From a rolled-up tier,
        the raw samples past its watermark are appended, so the newest minutes are never missing."""
        now = self.clock()
        start = now - since
        row = self.db.execute(
            "SELECT id FROM series WHERE device=? AND object=? AND metric=?", (device, obj, metric)
        ).fetchone()
        if not row:
            return 0, []
        sid, tier = row[0], self.tier_for(since)
        pts: list[Point] = []
        raw_from = start
        if tier:
            rows = self.db.execute(
                "SELECT ts, avg, min, max FROM rollup WHERE step=? AND series=? AND ts>=? ORDER BY ts",
                (tier, sid, start // tier * tier),
            ).fetchall()
            pts = [Point(*r) for r in rows]
            raw_from = max(start, float(self.watermark(tier) or start))
        rows = self.db.execute(
            "SELECT ts, value FROM raw WHERE series=? AND ts>=? ORDER BY ts", (sid, raw_from)
        ).fetchall()
        pts += [Point(ts, v, v, v) for ts, v in rows]
        return tier, pts

    def polls(self, source: str, limit: int = 1) -> list[dict]:
        rows = self.db.execute(
            "SELECT ts, devices, failed, seconds FROM polls WHERE source=? ORDER BY ts DESC LIMIT ?", (source, limit)
        ).fetchall()
        return [{"at": r[0], "devices": r[1], "failed": r[2], "seconds": r[3]} for r in rows]

    def latest(self, device: str) -> dict[tuple[str, str], float]:
        """The newest raw value of each of a device's series."""
        rows = self.db.execute(
            "SELECT s.object, s.metric, r.value FROM series s JOIN raw r ON r.series=s.id "
            "WHERE s.device=? AND r.ts=(SELECT max(ts) FROM raw WHERE series=s.id)",
            (device,),
        ).fetchall()
        return {(o, m): v for o, m, v in rows}
