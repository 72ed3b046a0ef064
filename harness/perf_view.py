"""The performance section of the report: a PerfReport (harness/perf.py) as the values that
templates/perf.html.j2 shows: per benchmark a table of rows (value, throughput, verdicts against
the reference row and against history, what changed) with bar and trend charts (harness/charts.py),
and the lists of regressions, suspected ones, known slowdowns and change points.

Formatting only: every number and verdict comes from the PerfReport.
"""
from __future__ import annotations

import math

from harness import charts, stats
from harness.perf import MIN_EFFECT_FLOOR, ChangePoint, Comparison, PerfReport, anchor


def render(report: PerfReport) -> dict:
    """Values for templates/perf.html.j2 (which also accepts the PerfReport itself): a dict of
    run_id, statistic, rule (text), benchmarks (per benchmark: name, group, noise text, bars_svg
    and rows, each row's value, throughput, state, verdict texts, changed packages, trend_svg),
    and the regressions, suspected, known and change_points lists (text and anchor), warnings.
    Times are formatted in s/ms/µs; nothing is computed that the report does not hold."""
    by_key = {(c.benchmark, c.row): c for c in report.cross_row}
    hist_key = {(c.benchmark, c.row): c for c in report.history}
    regressed = {(c.benchmark, c.row) for c in report.regressions}
    suspected = [c for c in report.history if c.verdict == "regression"
                 and (c.benchmark, c.row) not in regressed and c.expected is None]
    cps: dict[tuple[str, str], list[ChangePoint]] = {}
    for cp in report.change_points:
        cps.setdefault((cp.benchmark, cp.row), []).append(cp)
    z = stats.normal_ppf(0.5 + report.level / 2.0)
    benchmarks = []
    for name in report.benchmarks:
        noise = report.noise[name]
        rows, bars = [], []
        for row in report.rows:
            points = report.series.get(name, {}).get(row)
            if not points:
                continue
            value = points[-1].value_s
            cross, hist = by_key.get((name, row)), hist_key.get((name, row))
            spread = math.exp(z * noise["sigma"])  # one process's value, process noise
            state = _state(cross, hist, (name, row) in regressed)
            bars.append(charts.Bar(row, value, value / spread, value * spread, state,
                                   label=f"{cross.ratio:.2f}x" if cross else "reference"))
            expected = (cross.expected if cross and cross.expected else
                        hist.expected if hist and hist.expected else None)
            rate = report.throughput.get(name, {}).get(row)
            rows.append({
                "row": row, "anchor": anchor(name, row), "value": _fmt_time(value),
                "throughput": f"{rate:,.0f}/s" if rate else "",
                "state": state, "cross": _fmt_cmp(cross), "history": _fmt_cmp(hist),
                "changed": ", ".join(f"{p} {a or '-'} -> {b or '-'}"
                                     for p, (a, b) in (hist.changed.items() if hist else [])),
                "expected": expected,
                "trend_svg": charts.trend(
                    [(p.run_id, p.value_s, p.current) for p in points],
                    [cp.run_id for cp in cps.get((name, row), [])],
                    highlight=(name, row) in regressed),
            })
        benchmarks.append({
            "name": name, "group": report.groups.get(name, ""), "rows": rows,
            "noise": f"process noise σ={noise['sigma'] * 100:.1f}% ({noise['source']}, "
                     f"df={noise['df']:.0f})",
            "bars_svg": charts.bars(bars, unit=_unit(bars)),
        })
    return {
        "run_id": report.run_id,
        "statistic": report.statistic,
        "rule": (f"A verdict needs p < {report.alpha:g} and a ratio beyond what the rounds "
                 f"resolve (at least {MIN_EFFECT_FLOOR:.0%}). Intervals are {report.level:.0%} "
                 "confidence intervals that include process-to-process noise (from calibration and history). Each run "
                 f"contributes the {report.statistic} of its rounds: CPU time on one thread "
                 "(RPC: wall-clock latency)."),
        "benchmarks": benchmarks,
        "regressions": [{"text": c.describe(), "anchor": c.anchor} for c in report.regressions],
        "suspected": [{"text": c.describe() + _why_suspected(c), "anchor": c.anchor}
                      for c in suspected],
        "known": [{"text": c.describe(), "anchor": c.anchor, "link": c.expected.link}
                  for c in report.history + report.cross_row if c.expected is not None],
        "change_points": [{"text": f"{cp.benchmark} on {cp.row}: {cp.ratio:.2f}x from run "
                                   f"{cp.run_id} (p={cp.p_value:.2g})",
                           "anchor": anchor(cp.benchmark, cp.row)}
                          for cp in report.change_points],
        "warnings": list(report.warnings),
    }


def _why_suspected(c: Comparison) -> str:
    """Why a regression against history does not fail the run."""
    if c.foreign_noise:
        return (f" — its noise estimate comes from another machine ({c.noise_source}): a "
                "suspicion, never a failure, until this machine is calibrated")
    return ""


def _state(cross: Comparison | None, hist: Comparison | None, regressed: bool) -> str:
    if regressed:
        return "regression"
    if any(c is not None and c.expected is not None for c in (hist, cross)):
        return "known"
    if hist is not None and hist.verdict == "regression":
        return "suspected"
    if cross is not None and cross.verdict in ("slower", "faster"):
        return cross.verdict
    if hist is not None and hist.verdict == "improvement":
        return "faster"
    return "same"


def _fmt_cmp(c: Comparison | None) -> dict | None:
    if c is None:
        return None
    return {"ratio": f"{c.ratio:.2f}x", "ci": f"{c.low:.2f}–{c.high:.2f}",
            "p": f"{c.p_value:.2g}", "verdict": c.verdict, "base": c.base, "text": c.describe(),
            "memory": [{"text": m.describe(), "verdict": m.verdict} for m in c.memory]}


def _unit(bars) -> str:
    top = max((b.high for b in bars), default=1.0)
    return "s" if top >= 1 else "ms" if top >= 1e-3 else "µs"


def _fmt_time(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"
