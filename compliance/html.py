"""The report as one self-contained HTML file: no script, no external asset, printable.

Chinese clause names stand beside the English ones; findings per clause and per site are drawn
as inline SVG bars, which print as sharply as the text.
"""

from __future__ import annotations

from html import escape

from .summary import CLAUSE_STATUS

CSS = """
body{font-family:"WenQuanYi Micro Hei","Noto Sans CJK SC",sans-serif;margin:2em;color:#222;font-size:11pt}
h1{font-size:18pt}h2{font-size:14pt;border-bottom:1px solid #999;margin-top:1.6em}
table{border-collapse:collapse;width:100%;margin:.6em 0}th,td{border:1px solid #bbb;padding:3px 6px;text-align:left;
vertical-align:top}th{background:#eee}td.n{text-align:right}code,pre{font-family:monospace;font-size:9pt;
white-space:pre-wrap;word-break:break-all}
.conforms{background:#d9f2d9}.partly{background:#fff1c2}.does_not{background:#f8d0d0}.no_evidence{background:#e4e4f4}
.not_applicable{background:#f2f2f2}
.finding{page-break-inside:avoid;border:1px solid #ccc;padding:.4em .8em;margin:.6em 0}
td.zh{white-space:nowrap}.waived{opacity:.75}.muted{color:#666}svg text{font-size:9px}
@media print{body{margin:0;font-size:9.5pt}h2{page-break-after:avoid}tr,.finding{page-break-inside:avoid}
a{color:inherit;text-decoration:none}}
@page{size:A4;margin:15mm}
"""


def _e(x) -> str:
    return escape(str(x if x is not None else ""))


def bars(title: str, items: list[tuple[str, int]]) -> str:
    """A horizontal bar chart as inline SVG."""
    items = items[:20]
    top = max((n for _, n in items), default=0) or 1
    h = 16 * len(items) + 24
    rows = []
    for i, (label, n) in enumerate(items):
        y = 20 + i * 16
        w = int(380 * n / top)
        rows.append(
            f'<text x="0" y="{y + 10}">{_e(label)}</text>'
            f'<rect x="230" y="{y}" width="{w}" height="12" fill="#c0504d"></rect>'
            f'<text x="{234 + w}" y="{y + 10}">{n}</text>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="660" height="{h}" role="img" aria-label="{_e(title)}">'
        f'<text x="0" y="12" font-weight="bold">{_e(title)}</text>{"".join(rows)}</svg>'
    )


def render(s: dict, rows: list[dict]) -> str:
    scope = f"estate {s['estate']}" + (f", site {s['site']}" if s.get("site") else "")
    out = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>等保 2.0 三级 合规报告 / MLPS 2.0 level 3 compliance report: {_e(scope)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>等保 2.0（GB/T 22239-2019）第三级 合规报告<br>MLPS 2.0 level-3 compliance report: {_e(scope)}</h1>",
        f'<p class="muted">Run at {_e(s["at"])}. Totals: '
        + ", ".join(f"{_e(k)} {v}" for k, v in sorted(s["totals"].items()))
        + "</p>",
        *(f'<p class="muted">{_e(n)}</p>' for n in s.get("notes") or ()),
        "<h2>证据来源 / Evidence read</h2><table><tr><th>source</th><th>what was read</th></tr>",
        *(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in s["sources"].items()),
        "</table>",
        "<h2>按条款 / Per clause</h2>",
        "<table><tr><th>clause</th><th>名称</th><th>name</th><th>结论 / verdict</th><th>findings</th>"
        "<th>waived</th><th>conform</th><th>no evidence</th><th>rules</th></tr>",
    ]
    for c in s["clauses"]:
        zh, en = CLAUSE_STATUS[c["status"]]
        out.append(
            f'<tr class="{c["status"]}"><td>{_e(c["clause"])}</td><td class=zh>{_e(c["zh"])}</td><td>{_e(c["en"])}</td>'
            f"<td>{zh} / {en}</td><td class=n>{c['findings']}</td><td class=n>{c['waived']}</td>"
            f"<td class=n>{c['conforms']}</td><td class=n>{c['no_evidence']}</td>"
            f"<td>{_e(', '.join(c['rules']))}</td></tr>"
        )
    out.append("</table>")
    out.append(bars("findings per clause", [(f"{c['clause']} {c['zh']}", c["findings"]) for c in s["clauses"]]))
    if s.get("trend"):
        out.append(f"<h2>趋势 / Trend against the run of {_e(s['previous_at'])}</h2>")
        out.append("<table><tr><th>clause</th><th>findings before</th><th>findings now</th><th>change</th></tr>")
        for t in s["trend"]:
            d = t["now"] - t["before"]
            out.append(
                f"<tr><td>{_e(t['clause'])}</td><td class=n>{t['before']}</td><td class=n>{t['now']}</td>"
                f"<td class=n>{'+' if d > 0 else ''}{d}</td></tr>"
            )
        out.append("</table>")
    for key, title in (("sites", "按站点 / Per site"), ("device_classes", "按设备类别 / Per device class")):
        col = "site" if key == "sites" else "device_class"
        out.append(
            f"<h2>{title}</h2><table><tr><th>{col}</th><th>findings</th><th>waived</th><th>conform</th>"
            "<th>no evidence</th><th>not applicable</th></tr>"
        )
        for r in s[key]:
            out.append(
                f"<tr><td>{_e(r[col])}</td><td class=n>{r['finding']}</td><td class=n>{r['waived']}</td>"
                f"<td class=n>{r['conforms']}</td><td class=n>{r['no_evidence']}</td>"
                f"<td class=n>{r['not_applicable']}</td></tr>"
            )
        out.append("</table>")
        if key == "sites":
            out.append(bars("findings per site", [(r["site"], r["finding"]) for r in s["sites"] if r["finding"]]))
    out.append(f"<h2>发现项 / Findings ({len(rows)})</h2>")
    if not rows:
        out.append("<p>No findings.</p>")
    for r in rows:
        where = f"{r['file']}:{r['line']}" if r["line"] else r["file"] or r["ref"]
        cls = "finding waived" if r["waived_by"] else "finding"
        out.append(
            f'<div class="{cls}"><p><b>{_e(r["rule"])}</b> [{_e(r["severity"])}] '
            f"{_e(r['clause'])} {_e(r['clause_zh'])} "
            f"— {_e(r['title_zh'])} / {_e(r['title_en'])}<br>"
            f"<b>{_e(r['subject'])}</b>{' (site ' + _e(r['site']) + ')' if r['site'] else ''}: {_e(r['message'])}</p>"
            + (f"<p>evidence: <code>{_e(where)}</code></p>" if where else "")
            + (f"<pre>{_e(r['evidence'])}</pre>" if r["evidence"] else "")
            + f"<p>整改 / fix: {_e(r['fix'])}</p>"
            + (f'<p class="muted">waived: {_e(r["waived_by"])}</p>' if r["waived_by"] else "")
            + (f"<p><b>{_e(r['waiver_note'])}</b></p>" if r["waiver_note"] else "")
            + "</div>"
        )
    out.append("</body></html>")
    return "\n".join(out) + "\n"
