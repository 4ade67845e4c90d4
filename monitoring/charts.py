"""A series as a unicode sparkline for the terminal, or as a PNG plot (with matplotlib)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from jinbao.errors import JinbaoError

from .history import Point

BARS = "▁▂▃▄▅▆▇█"


def resample(points: Sequence[Point], width: int) -> list[float]:
    """At most `width` values: the points' averages, bucketed evenly over their time span."""
    if len(points) <= width:
        return [p.avg for p in points]
    t0, t1 = points[0].ts, points[-1].ts
    span = (t1 - t0) or 1.0
    sums, counts = [0.0] * width, [0] * width
    for p in points:
        i = min(width - 1, int((p.ts - t0) / span * width))
        sums[i] += p.avg
        counts[i] += 1
    out, last = [], points[0].avg
    for s, n in zip(sums, counts, strict=True):
        last = s / n if n else last  # an empty column repeats its neighbour rather than dropping to 0
        out.append(last)
    return out


def sparkline(values: Sequence[float]) -> str:
    if not values:
        return ""
    lo, hi = min(values), max(values)
    if hi == lo:
        return BARS[len(BARS) // 2 if hi else 0] * len(values)
    return "".join(BARS[min(len(BARS) - 1, int((v - lo) / (hi - lo) * len(BARS)))] for v in values)


def human(value: float, metric: str) -> str:
    if metric.endswith("_bps"):
        for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
            if abs(value) >= scale:
                return f"{value / scale:.1f} {unit}bps"
        return f"{value:.0f} bps"
    if metric.endswith("_pct"):
        return f"{value:.1f} %"
    if metric == "uptime_s":
        if value >= 86400:
            return f"{value / 86400:.1f} d"
        return f"{value / 3600:.1f} h" if value >= 3600 else f"{value:.0f} s"
    if metric in ("reachable", "oper_up", "ups_on_battery"):
        return f"{value:.2f}"
    return f"{value:.3g}"


def summary(points: Sequence[Point]) -> dict:
    """min, avg (time-weighted by samples), max and last over the points."""
    return {
        "min": min(p.min for p in points),
        "avg": sum(p.avg for p in points) / len(points),
        "max": max(p.max for p in points),
        "last": points[-1].avg,
        "points": len(points),
        "from": points[0].ts,
        "to": points[-1].ts,
    }


def png(path: Path, title: str, series: dict[str, Sequence[Point]]) -> None:
    """A plot of each series (avg line, min–max band) to path. matplotlib is the `plot` extra."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display here; and never pick up a user's GUI backend
        import matplotlib.pyplot as plt
    except ImportError:
        raise JinbaoError(
            "--png needs matplotlib, which is not installed in this environment: "
            "pip install -e '.[plot]' (make venv installs it), or use the sparkline without --png"
        ) from None
    fig, ax = plt.subplots(figsize=(10, 4), dpi=100)
    for name, pts in series.items():
        xs = [datetime.fromtimestamp(p.ts, UTC) for p in pts]
        ax.plot(xs, [p.avg for p in pts], label=name, linewidth=1.2)
        if any(p.min != p.max for p in pts):
            ax.fill_between(xs, [p.min for p in pts], [p.max for p in pts], alpha=0.2)
    ax.set_title(title)
    ax.set_xlabel("UTC")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", fontsize="small")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)
