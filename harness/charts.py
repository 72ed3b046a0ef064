"""Inline SVG charts for the report: no JavaScript, no external resources, all text escaped."""
from __future__ import annotations

from dataclasses import dataclass
from html import escape

COLORS = {"regression": "#c0392b", "slower": "#e67e22", "suspected": "#e67e22", "faster": "#27ae60",
          "known": "#8e8e8e", "same": "#3b73b9"}
SCALES = {"s": 1.0, "ms": 1e-3, "µs": 1e-6}


@dataclass(frozen=True)
class Bar:
    row: str
    value: float        # seconds
    low: float          # interval around the value, seconds
    high: float
    state: str = "same"
    label: str = ""     # e.g. the ratio to the reference row


def _num(x: float) -> str:
    return f"{x:.1f}"


def bars(items: list[Bar], *, unit: str = "ms", width: int = 520) -> str:
    """Horizontal bars, one per row, with CI whiskers and a label (the ratio) at the end."""
    if not items:
        return ""
    scale = SCALES.get(unit, 1.0)
    name_w, label_w, row_h, top = 130, 80, 22, 18
    plot_w = width - name_w - label_w
    vmax = max(b.high for b in items) / scale or 1.0
    height = top + row_h * len(items) + 6

    def x(v: float) -> float:
        return name_w + plot_w * (v / scale) / vmax

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="perf-bars" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" role="img">',
           f'<text x="{name_w}" y="12" font-size="10" fill="#555">0</text>',
           f'<text x="{name_w + plot_w}" y="12" font-size="10" fill="#555" text-anchor="end">'
           f'{vmax:.3g} {escape(unit)}</text>']
    for i, b in enumerate(items):
        y = top + i * row_h
        mid = y + row_h / 2 - 1
        color = COLORS.get(b.state, COLORS["same"])
        out.append(f'<g><title>{escape(b.row)}: {b.value / scale:.4g} {escape(unit)} '
                   f'(interval {b.low / scale:.4g}–{b.high / scale:.4g}) {escape(b.label)}</title>')
        out.append(f'<text x="{name_w - 6}" y="{y + 14}" font-size="12" text-anchor="end">'
                   f'{escape(b.row)}</text>')
        out.append(f'<rect x="{name_w}" y="{y + 3}" width="{_num(x(b.value) - name_w)}" '
                   f'height="{row_h - 8}" fill="{color}" opacity="0.8"/>')
        out.append(f'<line x1="{_num(x(b.low))}" x2="{_num(x(b.high))}" y1="{mid}" y2="{mid}" '
                   'stroke="#222" stroke-width="1.2"/>')
        for v in (b.low, b.high):
            out.append(f'<line x1="{_num(x(v))}" x2="{_num(x(v))}" y1="{mid - 5}" '
                       f'y2="{mid + 5}" stroke="#222" stroke-width="1.2"/>')
        out.append(f'<text x="{name_w + plot_w + 6}" y="{y + 14}" font-size="12" '
                   f'fill="{color}">{escape(b.label)}</text></g>')
    out.append("</svg>")
    return "".join(out)


def trend(points: list[tuple[str, float, bool]], change_runs: list[str], *,
          highlight: bool = False, width: int = 300, height: int = 64) -> str:
    """Run-by-run medians (oldest left) as a line; dashed purple lines mark the first run after
    each change point; the current run is the larger dot, red when it is a regression."""
    if not points:
        return ""
    pad = 6
    values = [v for _, v, _ in points]
    lo, hi = min(values), max(values)
    span = (hi - lo) or hi * 0.05 or 1.0
    lo, hi = lo - span * 0.1, hi + span * 0.1
    n = len(points)

    plot_w = width - 2 * pad - 44  # room for the max/min labels on the right

    def xy(i: int, v: float) -> tuple[float, float]:
        x = pad + plot_w * (i / (n - 1) if n > 1 else 0.5)
        y = pad + (height - 2 * pad) * (1 - (v - lo) / (hi - lo))
        return x, y

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="perf-trend" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" role="img">']
    index = {run: i for i, (run, _, _) in enumerate(points)}
    for run in change_runs:
        if run in index:
            x, _ = xy(index[run], lo)
            out.append(f'<line class="perf-change" x1="{_num(x)}" x2="{_num(x)}" y1="0" '
                       f'y2="{height}" stroke="#8e44ad" stroke-dasharray="3,2">'
                       f'<title>change point: new level from run {escape(run)}</title></line>')
    for value, label_y in ((max(values), 9), (min(values), height - 2)) if n > 1 else ():
        out.append(f'<text x="{width - 2}" y="{label_y}" font-size="9" fill="#777" text-anchor="end">'
                   f'{value * 1e3:.3g} ms</text>')
    coords = [xy(i, v) for i, (_, v, _) in enumerate(points)]
    if n > 1:
        path = " ".join(f"{_num(x)},{_num(y)}" for x, y in coords)
        out.append(f'<polyline points="{path}" fill="none" stroke="#3b73b9" stroke-width="1.2"/>')
    for (run, v, current), (x, y) in zip(points, coords, strict=True):
        color = COLORS["regression"] if current and highlight else "#3b73b9"
        out.append(f'<circle cx="{_num(x)}" cy="{_num(y)}" r="{3.5 if current else 2}" '
                   f'fill="{color}"><title>{escape(run)}: {v * 1e3:.4g} ms</title></circle>')
    out.append("</svg>")
    return "".join(out)
