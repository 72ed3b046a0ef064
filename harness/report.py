"""Render a run's summary as one self-contained HTML page (inline CSS, every string escaped)."""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from harness import bisect_hints, fsio, mobile_ops, perf_table
from harness.measure import HIGHER_IS_BETTER
from harness.status import Status, first_line
from harness.summary import Verdict

COLOURS = {
    Status.PASS: "#8fd19e", Status.FAIL: "#f28b82", Status.ERROR: "#fbbc6b",
    Status.TIMEOUT: "#c9a0f0", Status.CRASH: "#d9534f", Status.INSTALL_FAILED: "#9e9e9e",
    Status.KNOWN_FAILURE: "#a7c7f2", Status.FIXED: "#7fdbd0", Status.SKIPPED: "#fff176",
    Status.ABSENT: "#e8e8e8", Status.NOT_APPLICABLE: "#f5f5f5",
}
LOG_TAIL_LINES = 60
# What the overview's filter hides: nothing to look at.
QUIET = frozenset({Status.PASS.value, Status.ABSENT.value, Status.NOT_APPLICABLE.value})
# A letter in each overview cell, so the heatmap reads without telling colours apart.
MARKS = {Status.FAIL: "F", Status.ERROR: "E", Status.TIMEOUT: "T", Status.CRASH: "C",
         Status.INSTALL_FAILED: "I", Status.KNOWN_FAILURE: "k", Status.FIXED: "+", Status.SKIPPED: "s"}


def environment():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        # compiled templates kept in the user's temp folder, keyed by each template's checksum: a report
        # does not compile its templates again (about 0.3 s of CPU)
        bytecode_cache=jinja2.FileSystemBytecodeCache(),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["first_line"] = first_line
    env.filters["headroom"] = format_headroom
    env.filters["measured_line"] = measured_line
    env.filters["num"] = _num
    return env


def _float(value) -> float | None:
    try:
        return float(value)  # "inf" travels as a string in JSON
    except (TypeError, ValueError):
        return None


def _num(value) -> str:
    number = _float(value)
    return "" if number is None else "∞" if number == float("inf") else f"{number:.3g}"


def format_headroom(value) -> str:
    """How many times the error may grow before the check fails: "×40", "×2.5", "×0.3" (failing),
    "exact" (no error at all)."""
    number = _float(value)
    if number is None:
        return ""
    if number == float("inf"):
        return "exact"
    if number >= 1e5:
        return f"×{number:.0e}".replace("e+0", "e").replace("e+", "e")
    return f"×{number:.0f}" if number >= 10 else f"×{number:.2g}"


def measured_line(entry: dict) -> str:
    """One measurement in words, for a cell's title: what was compared, the error and its bound."""
    metric = entry.get("metric", "")
    value, tolerance = _num(entry.get("value")), _num(entry.get("tolerance"))
    relation = "≥" if metric in HIGHER_IS_BETTER else "≤"
    parts = [f"{entry.get('name', '')}: {metric} {value} (must be {relation} {tolerance})",
             f"headroom {format_headroom(entry.get('headroom'))}"]
    for key, label in (("max_abs", "max abs error"), ("max_rel", "max rel error"), ("mismatched", "mismatched")):
        if entry.get(key) is not None and key != metric:
            parts.append(f"{label} {_num(entry[key])}")
    if entry.get("drift") is not None:
        parts.append(f"drift ×{_num(entry['drift'])}")
    return "; ".join(parts)


def _log_tail(row_dir: Path) -> str:
    try:
        lines = (row_dir / "pytest.log").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-LOG_TAIL_LINES:])


TIME_COLOURS = {"install": "#8c959f", "checks": "#54aeff", "benchmarks": "#d4a72c"}


def time_bars(rows: list[dict]) -> dict[str, list[tuple[str, float, float]]]:
    """Per row, (part, seconds, percent of the slowest row's total) for install and each suite phase, so
    bars of different rows share one scale."""
    parts = {}
    for row in rows:
        timings = row.get("timings") or {}
        segments = [("install", _float(timings.get("install_s")) or 0.0)]
        segments += [(phase, _float(s) or 0.0) for phase, s in (timings.get("phases") or {}).items()]
        parts[row["name"]] = [(name, s) for name, s in segments if s > 0]
    longest = max((sum(s for _, s in segs) for segs in parts.values()), default=0.0) or 1.0
    return {name: [(part, s, 100.0 * s / longest) for part, s in segs] for name, segs in parts.items()}


def cuda_mismatch(builds: dict[str, str]) -> bool:
    """Whether the row's libraries were compiled with different CUDA versions (CPU builds aside)."""
    versions = {v for v in map(str, builds.values()) if v[:1].isdigit()}
    return len(versions) > 1


def perf_view(perf) -> dict | None:
    """The dict PerfReport.rendered() (harness.perf_view.render) makes of `perf` (which may already be it)."""
    if perf is None or isinstance(perf, dict):
        return perf
    return perf.rendered()


def overview(summary: dict, figures: dict[tuple[str, str], list[perf_table.Figure]]) -> list[dict]:
    """The heatmap's columns, features in the grid's order (by area): [{"fid", "area", "quiet",
    "first_of_area", "cells": {row: {"status", "mark", "title"}}}]. A feature is quiet when every
    row's cell is pass, absent or n/a and none of its benchmarks is slower or regressing; the
    filter hides quiet ones."""
    areas: dict[str, list[str]] = {}
    for fid, info in summary["features"].items():
        areas.setdefault(info["area"], []).append(fid)
    marks = {s.value: m for s, m in MARKS.items()}
    columns = []
    for area, fids in sorted(areas.items()):
        for i, fid in enumerate(fids):
            cells, quiet = {}, True
            for row in summary["rows"]:
                cell = row["features"].get(fid, {"status": "not-run", "message": ""})
                status = str(cell.get("status"))
                alert = [f for f in figures.get((row["name"], fid), []) if f.state in perf_table.ALERT_STATES]
                quiet = quiet and status in QUIET and not alert
                mark = "▲" if alert else marks.get(status, "")
                title = f"{row['name']} · {fid}: {status}"
                if figures.get((row["name"], fid)):
                    title += "".join(f"\n{f.benchmark} {f.value} {f.ratio}" for f in figures[(row["name"], fid)])
                elif cell.get("message"):
                    title += "\n" + first_line(str(cell["message"]))
                cells[row["name"]] = {"status": status, "mark": mark, "title": title}
            columns.append({"fid": fid, "area": area, "quiet": quiet, "first_of_area": i == 0, "cells": cells})
    return columns


def _trends(summary: dict, perf, view: dict | None, history: list[dict] | None) -> dict:
    """Trend charts on shared axes (perf_table.trend_charts) when `perf` is a PerfReport; over the
    whole `history` when given, else over the runs the analysis used."""
    if view is None or not hasattr(perf, "series"):
        return {}
    if history is not None:
        series = perf_table.year_series(summary, history, list(perf.benchmarks))
    else:
        series = {name: {row: [(p.run_id, p.value_s, p.current) for p in points] for row, points in rows.items()}
                  for name, rows in perf.series.items()}
    cuts: dict[tuple[str, str], list[str]] = {}
    for cp in perf.change_points:
        cuts.setdefault((cp.benchmark, cp.row), []).append(cp.run_id)
    return perf_table.trend_charts(series, cuts, view)


def render(summary: dict, verdict: Verdict, run_dir: Path, out: Path, perf=None,
           history: list[dict] | None = None, trends: dict | None = None) -> str:
    """HTML for `summary`; links to row files are relative to where `out` is written.

    `perf` is a harness.perf.PerfReport (or its rendered() dict); `history`, the earlier summaries,
    gives the trend charts their whole year (without it they show the runs the analysis used); `trends`,
    when given, are those charts already drawn (write_report draws them once for all its pages)."""
    areas: dict[str, list[str]] = {}
    for fid, info in summary["features"].items():
        areas.setdefault(info["area"], []).append(fid)
    counts = {row["name"]: Counter(c["status"] for c in row["features"].values()) for row in summary["rows"]}
    row_links = {row["name"]: os.path.relpath(run_dir / "rows" / row["name"], out.parent).replace(os.sep, "/")
                 for row in summary["rows"]}
    logs = {row["name"]: _log_tail(run_dir / "rows" / row["name"]) for row in summary["rows"]}
    from harness.bisection.result import links

    view = perf_view(perf)
    figures = perf_table.cell_figures(summary, view)
    bisects = links(run_dir, out.parent)
    next_steps = bisect_hints.hints(summary, perf if hasattr(perf, "cross_row") else None, bisects,
                                    perf_table.feature_benchmarks(summary))
    return environment().get_template("report.html.j2").render(bisects=bisects, next_steps=next_steps,
        failure_hints={(h.row, h.target): h for h in next_steps if h.kind == "failure"},
        slowdown_hints={(h.target, h.row): h for h in next_steps if h.kind == "slowdown"},
        s=summary, verdict=verdict, colours={s.value: c for s, c in COLOURS.items()},
        areas=sorted(areas.items()), counts=counts, row_links=row_links, logs=logs, perf=view,
        time_bars=time_bars(summary["rows"]), time_colours=TIME_COLOURS, cuda_mismatch=cuda_mismatch,
        op_changes=mobile_ops.row_changes(summary["rows"]),
        corpus_link=os.path.relpath(run_dir.parent.parent / "cases.json", out.parent).replace(os.sep, "/"),
        overview=overview(summary, figures), figures=figures, bench_table=perf_table.benchmark_table(view),
        trends=trends if trends is not None else _trends(summary, perf, view, history),
        state_colours=perf_table.STATE_BACKGROUND,
        recent_runs=perf_table.RECENT_RUNS,
    )


def write_report(summary: dict, verdict: Verdict, run_dir: Path, outs: list[Path], perf=None,
                 history: list[dict] | None = None) -> None:
    """Write the report to each path of `outs` (see render); the trend charts are drawn once."""
    trends = _trends(summary, perf, perf_view(perf), history)
    for out in outs:
        fsio.write_text(out, render(summary, verdict, run_dir, out, perf, history, trends))
