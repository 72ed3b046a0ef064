"""Inline SVG charts for the report: no JavaScript, no external resources, all text escaped."""
from __future__ import annotations

import datetime as dt
import functools
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


@functools.lru_cache(maxsize=8192)
def run_date(run_id: str) -> dt.datetime | None:
    """The UTC time a run id names ("20261130T011734Z", or a bare "20261130"), else None."""
    text = str(run_id)
    if not text.isascii():
        return None
    try:
        if len(text) == 16 and text[8] == "T" and text[15] == "Z" and text[:8].isdigit() and text[9:15].isdigit():
            return dt.datetime(int(text[:4]), int(text[4:6]), int(text[6:8]), int(text[9:11]), int(text[11:13]),
                               int(text[13:15]), tzinfo=dt.timezone.utc)
        if len(text) == 8 and text.isdigit():
            return dt.datetime(int(text[:4]), int(text[4:6]), int(text[6:8]), tzinfo=dt.timezone.utc)
    except ValueError:  # digits that name no date, e.g. month 13
        pass
    return None


def value_scale(values: list[float]) -> tuple[float, float] | None:
    """(low, high) in seconds that holds every value with a tenth of the range to spare (5% of
    the value when all are equal): one scale for the trend charts of one benchmark's rows."""
    if not values:
        return None
    lo, hi = min(values), max(values)
    span = (hi - lo) or hi * 0.05 or 1.0
    return lo - span * 0.1, hi + span * 0.1


def date_span(run_ids: list[str]) -> tuple[dt.datetime, dt.datetime] | None:
    """(first, last) date of the runs, or None when one of them is not a date (then charts space
    runs evenly)."""
    dates = [d for d in map(run_date, run_ids) if d is not None]
    if not dates or len(dates) < len(run_ids):
        return None
    return min(dates), max(dates)


def _day(when: dt.datetime, span_days: float) -> str:
    return when.strftime("%Y-%m-%d" if span_days > 300 else "%m-%d")


def trend(points: list[tuple[str, float, bool]], change_runs: list[str], *,
          highlight: bool = False, width: int = 300, height: int = 76,
          scale: tuple[float, float] | None = None,
          span: tuple[dt.datetime, dt.datetime] | None = None, dots: bool = True) -> str:
    """Run-by-run values in seconds (oldest left) as a line; dashed purple lines mark the first run
    after each change point; the current run is the larger dot, red when it is a regression.

    `scale` (low, high seconds; value_scale) and `span` (first, last date; date_span) let the rows
    of one benchmark share axes; by default the chart uses its own. With dates the x axis is time
    and its first and last day are written under it; run ids that are not dates are spaced evenly.
    `dots=False` draws only the line and the current run (a year of runs stays small)."""
    if not points:
        return ""
    pad, axis = 6, 12
    values = [v for _, v, _ in points]
    lo, hi = scale or value_scale(values) or (0.0, 1.0)  # values is not empty here
    if hi <= lo:
        hi = lo + 1.0
    dates = [run_date(run) for run, _, _ in points]
    if span is None or any(d is None for d in dates):
        span = date_span([run for run, _, _ in points])
    n = len(points)
    plot_w = width - 2 * pad - 44  # room for the max/min labels on the right
    plot_h = height - 2 * pad - axis
    seconds = (span[1] - span[0]).total_seconds() if span else 0.0

    def x_of(i: int) -> float:
        when = dates[i]
        if span and seconds > 0 and when is not None:
            return pad + plot_w * (when - span[0]).total_seconds() / seconds
        return pad + plot_w * (i / (n - 1) if n > 1 else 0.5)

    def y_of(v: float) -> float:
        return pad + plot_h * (1 - (v - lo) / (hi - lo))

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="perf-trend" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" role="img">']
    index = {run: i for i, (run, _, _) in enumerate(points)}
    for run in change_runs:
        if run in index:
            x = x_of(index[run])
            out.append(f'<line class="perf-change" x1="{_num(x)}" x2="{_num(x)}" y1="0" '
                       f'y2="{pad + plot_h}" stroke="#8e44ad" stroke-dasharray="3,2">'
                       f'<title>change point: new level from run {escape(run)}</title></line>')
    for value, label_y in ((hi, 9), (lo, pad + plot_h)):
        out.append(f'<text x="{width - 2}" y="{label_y}" font-size="9" fill="#777" text-anchor="end">'
                   f'{value * 1e3:.3g} ms</text>')
    base = pad + plot_h
    out.append(f'<line x1="{pad}" x2="{pad + plot_w}" y1="{base + 1}" y2="{base + 1}" stroke="#ccc"/>')
    if span:
        days = seconds / 86400
        out.append(f'<text class="perf-date" x="{pad}" y="{height - 1}" font-size="9" fill="#555">'
                   f'{_day(span[0], days)}</text>')
        out.append(f'<text class="perf-date" x="{pad + plot_w}" y="{height - 1}" font-size="9" '
                   f'fill="#555" text-anchor="end">{_day(span[1], days)}</text>')
    else:
        out.append(f'<text x="{pad}" y="{height - 1}" font-size="9" fill="#555">{n} runs</text>')
    coords = [(x_of(i), y_of(v)) for i, (_, v, _) in enumerate(points)]
    if n > 1:
        path = " ".join(f"{_num(x)},{_num(y)}" for x, y in coords)
        out.append(f'<polyline points="{path}" fill="none" stroke="#3b73b9" stroke-width="1.2"/>')
    for (run, v, current), (x, y), date in zip(points, coords, dates, strict=True):
        if not (dots or current):
            continue
        color = COLORS["regression"] if current and highlight else "#3b73b9"
        when = f" ({date:%Y-%m-%d %H:%M})" if date else ""
        out.append(f'<circle cx="{_num(x)}" cy="{_num(y)}" r="{3.5 if current else 2}" '
                   f'fill="{color}"><title>{escape(run)}{when}: {v * 1e3:.4g} ms</title></circle>')
    out.append("</svg>")
    return "".join(out)
