"""What the report's at-a-glance parts show of the benchmarks, computed from harness.perf's view.

Pure functions over the summary and the dict `harness.perf_view.render()` returns (its `benchmarks`
list: per benchmark, per row, the formatted value, the `state` that colours it, and the `cross`
comparison with the reference row); nothing here changes a verdict.

* `benchmark_table`: the performance section's opening table, benchmarks by rows, each cell the
  ratio against the reference row coloured by the row's state.
* `cell_figures`: what a benchmark feature's grid cell shows instead of "pass": each benchmark's
  time, its peak memory when the record has one (extra_info["peak_rss_bytes"]), and the ratio.
* `year_series` and `trend_charts`: the trend charts over a year of runs, with dates on the x axis
  and one scale shared by the rows of a benchmark.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from harness import charts, stats
from harness.benchfile import usable_rounds

# Background of a cell by the state perf_view.render() gives a row (charts.COLORS is the ink colour).
STATE_BACKGROUND = {"regression": "#f5b7b1", "suspected": "#fad7a0", "slower": "#fad7a0",
                    "faster": "#abebc6", "known": "#d5d8dc", "same": "#eef2f6"}
ALERT_STATES = frozenset({"regression", "suspected", "slower"})
RECENT_RUNS = 61   # what the verdicts look at: perf.MAX_HISTORY earlier runs and this one


@dataclass(frozen=True)
class Figure:
    """One benchmark of a feature's cell: 'mfcc[b1] 1.23 ms · 85 MB · 1.04x'."""

    benchmark: str
    value: str          # formatted time, e.g. "1.23 ms"
    ratio: str          # "1.04x" against the reference row, "ref" for the reference row itself
    memory: str         # "85 MB", or "" when the record has no peak_rss_bytes
    state: str          # perf_view.render()'s state: same/faster/slower/suspected/regression/known
    title: str          # the comparison in words, for the tooltip
    anchor: str         # id of the row in the performance section


def _func(test: str) -> str:
    """'bench/x.py::test_mfcc[b1]' -> 'bench/x.py::test_mfcc' (the parameters dropped)."""
    return re.sub(r"\[.*\]$", "", test or "")


def feature_benchmarks(summary: dict) -> dict[str, list[str]]:
    """{feature id: [benchmark names]}: a benchmark belongs to the feature whose cell names its
    test (pytest-benchmark's `fullname`), or, for the other parameters of a parametrised
    benchmark, the same test function. Order: as the rows' records list them."""
    by_test: dict[str, str] = {}
    by_func: dict[str, str] = {}
    for row in summary.get("rows", []):
        for fid, cell in (row.get("features") or {}).items():
            test = cell.get("test") if isinstance(cell, dict) else None
            if isinstance(test, str) and test:
                by_test.setdefault(test, fid)
                by_func.setdefault(_func(test), fid)
    out: dict[str, list[str]] = {}
    for row in summary.get("rows", []):
        records = row.get("benchmarks")
        for name, record in (records.items() if isinstance(records, dict) else ()):
            fullname = str((record or {}).get("fullname", "")) if isinstance(record, dict) else ""
            fid = by_test.get(fullname) or by_func.get(_func(fullname))
            if fid and name not in out.setdefault(fid, []):
                out[fid].append(name)
    return out


def format_bytes(value) -> str:
    """1.5e8 -> '143 MB' (binary units, as RSS is counted); '' for anything but a positive number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        return ""
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value:.0f} B"


def _rows_by_name(view: dict) -> dict[str, dict[str, dict]]:
    return {b["name"]: {r["row"]: r for r in b.get("rows", [])} for b in view.get("benchmarks", [])}


def _title(name: str, r: dict) -> str:
    parts = [f"{name} on {r['row']}: {r['value']}"]
    parts.append(r["cross"]["text"] if r.get("cross") else "the reference row")
    if r.get("history"):
        parts.append(r["history"]["text"])
    return "\n".join(parts)


def cell_figures(summary: dict, view: dict | None) -> dict[tuple[str, str], list[Figure]]:
    """{(row, feature): [Figure]} for each benchmark feature a row measured; empty without a view."""
    if not view:
        return {}
    by_name = _rows_by_name(view)
    memory = {(row.get("name"), name): (rec.get("extra_info") or {}).get("peak_rss_bytes")
              for row in summary.get("rows", []) if isinstance(row.get("benchmarks"), dict)
              for name, rec in row["benchmarks"].items() if isinstance(rec, dict)}
    out: dict[tuple[str, str], list[Figure]] = {}
    for fid, names in feature_benchmarks(summary).items():
        for name in names:
            for row_name, r in by_name.get(name, {}).items():
                out.setdefault((row_name, fid), []).append(Figure(
                    benchmark=name, value=r["value"],
                    ratio=r["cross"]["ratio"] if r.get("cross") else "ref",
                    memory=format_bytes(memory.get((row_name, name))), state=r["state"],
                    title=_title(name, r), anchor=r["anchor"]))
    return out


def benchmark_table(view: dict | None) -> list[dict]:
    """Benchmarks by rows: [{"name", "group", "alert", "cells": {row: {"text", "history", "state",
    "background", "title", "anchor"}}}], in the view's order. A cell's text is the ratio against
    the reference row ("1.04x"), or the value on the reference row itself ("ref 1.2 ms");
    `history` the ratio against the row's own earlier runs ("" without any)."""
    table = []
    for b in (view or {}).get("benchmarks", []):
        cells = {}
        for r in b.get("rows", []):
            text = r["cross"]["ratio"] if r.get("cross") else f"ref {r['value']}"
            if r.get("history") and r["history"]["verdict"] == "regression":
                text += " ▲"
            cells[r["row"]] = {"text": text, "state": r["state"], "title": _title(b["name"], r),
                               "history": r["history"]["ratio"] if r.get("history") else "",
                               "background": STATE_BACKGROUND.get(r["state"], STATE_BACKGROUND["same"]),
                               "anchor": r["anchor"]}
        table.append({"name": b["name"], "group": b.get("group", ""), "cells": cells,
                      "alert": any(c["state"] in ALERT_STATES for c in cells.values())})
    return table


def _values(summary: dict, names: list[str]) -> dict[tuple[str, str], tuple[str, float]]:
    """{(benchmark, row): (clock, compared statistic in seconds)} of one summary's usable records."""
    out = {}
    for row in summary.get("rows", []) if isinstance(summary, dict) else ():
        records = row.get("benchmarks") if isinstance(row, dict) else None
        if not isinstance(records, dict):
            continue
        for name in names:
            record = records.get(name)
            rounds = record.get("rounds") if isinstance(record, dict) else None
            if isinstance(record, dict) and rounds is not None and usable_rounds(rounds):
                out[(name, row.get("name"))] = (str(record.get("clock")), stats.process_stat(rounds))
    return out


def year_series(summary: dict, history: list[dict], names: list[str],
                days: float = 365.0) -> dict[str, dict[str, list[tuple[str, float, bool]]]]:
    """benchmark -> row -> [(run_id, seconds, current)], oldest first: every earlier run within
    `days` of this one (all of them when run ids are not dates) measured with the same clock as
    this run, then this run. Values are the compared statistic (stats.process_stat)."""
    run_id = str(summary.get("run_id", ""))
    now = charts.run_date(run_id)
    current = _values(summary, names)
    out: dict[str, dict[str, list[tuple[str, float, bool]]]] = {}
    for run in sorted((h for h in history if isinstance(h, dict) and str(h.get("run_id", "")) < run_id),
                      key=lambda h: str(h.get("run_id"))):
        rid = str(run.get("run_id"))
        when = charts.run_date(rid)
        if now and when and (now - when).total_seconds() > days * 86400:
            continue
        for (name, row), (clock, value) in _values(run, names).items():
            if (name, row) in current and current[(name, row)][0] == clock:
                out.setdefault(name, {}).setdefault(row, []).append((rid, value, False))
    for (name, row), (_, value) in current.items():
        out.setdefault(name, {}).setdefault(row, []).append((run_id, value, True))
    return out


def trend_charts(series: dict[str, dict[str, list[tuple[str, float, bool]]]],
                 change_runs: dict[tuple[str, str], list[str]], view: dict | None
                 ) -> dict[tuple[str, str], dict[str, str]]:
    """{(benchmark, row): {"recent": svg, "year": svg or ""}}: the last RECENT_RUNS runs (what the
    verdicts use) and, when a row of the benchmark has more, the whole series; the rows of a benchmark share one
    value scale and one date span in each. A row in state "regression" has its current dot red."""
    states = {(b["name"], r["row"]): r["state"] for b in (view or {}).get("benchmarks", [])
              for r in b.get("rows", [])}
    out: dict[tuple[str, str], dict[str, str]] = {}
    for name, rows in series.items():
        recent = {row: points[-RECENT_RUNS:] for row, points in rows.items()}
        has_year = any(len(points) > RECENT_RUNS for points in rows.values())
        shared = {label: (charts.value_scale([v for pts in part.values() for _, v, _ in pts]),
                          charts.date_span([rid for pts in part.values() for rid, _, _ in pts]))
                  for label, part in (("recent", recent), ("year", rows))}
        for row, points in rows.items():
            highlight = states.get((name, row)) == "regression"
            cuts = change_runs.get((name, row), [])
            scale, span = shared["recent"]
            charts_for_row = {"recent": charts.trend(recent[row], cuts, highlight=highlight,
                                                     scale=scale, span=span), "year": ""}
            if has_year:
                scale, span = shared["year"]
                charts_for_row["year"] = charts.trend(points, cuts, highlight=highlight, scale=scale,
                                                      span=span, dots=False)
            out[(name, row)] = charts_for_row
    return out
