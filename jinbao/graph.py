"""Topology picture of the estate: sites as nodes, WAN links as edges coloured by carrier.

At province scale (≈120 sites, ≈250 links) a device-level drawing is unreadable, so the picture
is per site, laid out radially from the provincial DC (Graphviz twopi): cities on the inner ring,
their counties outside them, the DR centre beside the province.
"""

from __future__ import annotations

import html
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

from .errors import JinbaoError
from .model import Estate

_CARRIER_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"]
_SHAPES = {
    "province": ("doubleoctagon", "#fde0a0", "18"),
    "dr": ("box3d", "#f4b6b6", "14"),
    "city": ("ellipse", "#cfe3f7", "12"),
    "county": ("point", "#888888", "8"),
}


def _q(text) -> str:
    """Free text (a title, a carrier) inside a DOT "string": quotes and backslashes escaped."""
    return str(text).replace("\\", "\\\\").replace('"', '\\"')


def to_dot(e: Estate) -> str:
    carriers = sorted({l.carrier or "unknown" for l in e.links})
    colour = {c: _CARRIER_COLOURS[i % len(_CARRIER_COLOURS)] for i, c in enumerate(carriers)}
    root = next((s.name for s in e.sites.values() if s.kind == "province"), None)
    out = [
        "graph estate {",
        f'  graph [layout=twopi, overlap=false, ranksep="2.6 3.6", root="{root}", '
        f'label="{_q(e.title or e.name)}: {len(e.sites)} sites, {len(e.devices)} devices, {len(e.links)} WAN links", '
        'labelloc=t, fontsize=28, fontname="WenQuanYi Micro Hei,sans-serif"];',
        '  node [fontname="WenQuanYi Micro Hei,sans-serif", style=filled];',
    ]
    per_site: defaultdict[str, int] = defaultdict(int)
    for d in e.devices.values():
        per_site[d.site] += 1
    for s in e.sites.values():
        shape, fill, size = _SHAPES[s.kind]
        if s.kind == "county":
            out.append(
                f'  "{s.name}" [shape=point, width=0.12, fillcolor="{fill}", color="{fill}", '
                f'xlabel="{s.name}", fontsize={size}, tooltip="{s.name}: {per_site[s.name]} devices"];'
            )
        else:
            label = f"{s.name}\\n{_q(s.title)}\\n{per_site[s.name]} devices"
            out.append(f'  "{s.name}" [shape={shape}, fillcolor="{fill}", label="{label}", fontsize={size}];')
    for l in e.links:
        sa, sb = e.devices[l.a.device].site, e.devices[l.b.device].site
        if sa == sb:
            continue
        c = colour[l.carrier or "unknown"]
        style = "solid" if l.role == "primary" else "dashed"
        width = 2.5 if l.bandwidth_mbps >= 1000 else 1.0
        out.append(
            f'  "{sa}" -- "{sb}" [color="{c}", style={style}, penwidth={width}, '
            f'tooltip="{l.id}: {_q(l.carrier)} {l.bandwidth_mbps} Mbit/s {l.role}"];'
        )
    # Legend: one line per carrier, solid primary and dashed backup.
    rows = "".join(
        f'<TR><TD><FONT COLOR="{colour[c]}">━━</FONT></TD><TD ALIGN="LEFT">{html.escape(c)}</TD></TR>' for c in carriers
    )
    out.append(
        '  legend [shape=plaintext, style="", label=<<TABLE BORDER="1" CELLBORDER="0">'
        f'<TR><TD COLSPAN="2"><B>carrier</B> (solid: primary, dashed: backup)</TD></TR>{rows}</TABLE>>];'
    )
    out.append("}")
    return "\n".join(out)


def render(e: Estate, out_dir: Path) -> list[Path]:
    """Write <estate>.dot, .svg and .png into out_dir; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    dot_file = out_dir / f"{e.name}-topology.dot"
    dot_file.write_text(to_dot(e), encoding="utf-8")
    written = [dot_file]
    if shutil.which("twopi") is None:
        raise JinbaoError(
            "Graphviz is not installed (no 'twopi' on PATH); run 'make setup' or apt-get install graphviz"
        )
    for fmt in ("svg", "png"):
        target = out_dir / f"{e.name}-topology.{fmt}"
        r = subprocess.run(
            ["twopi", f"-T{fmt}", "-Gdpi=72", "-o", str(target), str(dot_file)], capture_output=True, text=True
        )
        if r.returncode != 0:
            raise JinbaoError(f"Graphviz could not draw {dot_file}: {r.stderr.strip()[:500]}")
        written.append(target)
    return written
