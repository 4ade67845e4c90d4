"""The history store's cost per poll: `python bench/history_bench.py DEVICES SERIES_PER_DEVICE`.

Writes three polls of DEVICES × SERIES samples on an injected clock (as the daemon would, one
transaction per device), then rolls an hour up, and prints wall and CPU time per poll, the
maintenance time and the bytes per stored row. The province is about `1200 60`."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from monitoring.history import History, Retention


def main(devices: int, per: int) -> None:
    clock = [1_800_000_000.0]
    folder = Path(tempfile.mkdtemp(prefix="jinbao-history-bench-"))
    h = History(folder / "h.sqlite", Retention.parse("raw=48h,5m=30d,1h=365d"), clock=lambda: clock[0])
    rows = [(f"if{i // 8}", f"m{i % 8}", float(i)) for i in range(per)]
    for poll in range(3):
        clock[0] += 60
        cpu, wall = time.process_time(), time.perf_counter()
        for d in range(devices):
            h.add(f"dev{d}", rows)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        each = cpu / (devices * per) * 1e6
        print(f"poll {poll}: {devices * per} samples, {wall:.2f} s wall, {cpu:.2f} s CPU, {each:.1f} µs CPU/sample")
    clock[0] += 3600
    wall = time.perf_counter()
    rolled = h.maintain()["rolled"]
    print(f"maintain: {rolled} buckets rolled in {time.perf_counter() - wall:.2f} s")
    stored = sum(h.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("raw", "rollup"))
    h.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = h.path.stat().st_size
    print(f"{size // 1024} KiB for {stored} rows: {size / stored:.0f} bytes a row")
    h.close()
    for f in folder.iterdir():
        f.unlink()
    folder.rmdir()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
