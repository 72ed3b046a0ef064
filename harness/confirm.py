"""Confirmed regressions, controlled across the whole night (harness/perf.py calls confirm()).

A single night's slowdown against history is only suspected: one process in 40 runs through a
burst of other jobs. A series is *confirmed* (it fails the run) by its last k runs together
(k in RECENT) against the baseline before them, and false alarms are controlled across all the
series of a night rather than per series: one Benjamini-Hochberg family per night at NIGHT_FDR
(scipy.stats.false_discovery_control through stats.discoveries), never above CONFIRM_ALPHA for
one series however few series the night has. With every series unchanged the chance of any
confirmation in a night is at most NIGHT_FDR: <= 0.5 per 1,000 benchmark-nights over 200 series.
The rank test's smallest p-value, 1 / C(n + k, k) for k recent runs against n, sets how much
history a confirmation from 4 runs needs: with the Bonferroni factor of the k tried, at least 13
earlier runs; from 8 runs the t test alone decides, on a baseline of 3 runs or more.
benchmarks/rule_year.py measures false alarms and detection on a synthetic year.
"""
from __future__ import annotations

import math
import statistics

from harness import stats

NIGHT_FDR = 0.10          # false-discovery rate of the confirmations over one night's series
CONFIRM_ALPHA = 0.001     # ... and at most this per series, however few series the night has
RECENT = (4, 8)           # the last k runs together against the baseline before them
OUTLIER = 3.0             # a run this many process sigmas from its side's median is left out
TRUSTED_MEDIAN = 6        # recent runs whose median tells a burst: fewer ask the rank test too


def sustained(records: list[dict], cuts: list[int], prior: stats.Noise, size_of,
              history_window: int, level: float):
    """The confirmation test of one series (records, perf._bench's with their "value", oldest first,
    tonight last; `cuts`: change points among the earlier runs): for each k in RECENT, the last k
    runs against the baseline before them (after the last change point before them, at most
    history_window runs, at least 3); where the change-point search already put a change point in
    those runs, the runs since it (while at most RECENT[-1]: a confirmed regression fails every run
    until its level is that old, then the new level is the baseline).
    The test is the one-sided t test of the recent runs against the baseline with the series'
    process noise (stats.compare_logs with `prior`), each side first cleared of the runs more
    than OUTLIER sigmas from its own median (stats.without_outliers; of normal noise 0.3 % of
    runs, both sides alike): one process in 40 runs through a burst of other jobs (+18 % in the
    A/A calibration), and a burst is left out. The median of fewer than TRUSTED_MEDIAN runs does
    not tell a burst (with two bursts in four nights it is half a burst), so there the exact Mann-Whitney
    rank test of all the recent runs against the cleared baseline (stats.rank_slower), in which a
    burst is one rank however slow, must show the slowdown too: p is the larger of the two, an
    intersection-union test, valid when either test is.
    Returns (Bonferroni p over the k tried, k, estimate of the cleared recent runs against the
    cleared baseline, size threshold, baseline size, tonight's log distance from the baseline's
    median), or None when no k has a baseline."""
    logs = [math.log(r["value"]) for r in records]  # perf._bench's statistic of each record
    best = None
    tried = 0
    ends = set()
    for k in RECENT:
        end = len(logs) - k
        if end < 0:
            continue  # fewer runs than k: this k has no baseline
        seen = [c for c in cuts if c > end - 3]
        if seen:  # the change-point search found this level: its runs are the recent ones
            end = max(seen)
            if not RECENT[0] <= len(logs) - end <= RECENT[-1]:
                continue  # older than RECENT[-1] runs: the new level is the baseline now
        if end in ends:
            continue
        ends.add(end)
        start = max([0] + [c for c in cuts if c <= end - 3])
        first = max(start, end - history_window)
        base = logs[first:end]
        if len(base) < 3:
            continue
        tried += 1
        limit = OUTLIER * prior.sigma if prior.sigma > 0 else math.inf
        kept_base = stats.without_outliers(base, limit)
        recent = stats.without_outliers(logs[end:], limit)
        if not kept_base or not recent:
            continue
        est = stats.compare_logs(kept_base, recent, prior=prior, level=level)
        p = stats.one_sided_slower(est)
        if len(logs) - end < TRUSTED_MEDIAN:  # the rank test must agree too (intersection-union)
            p = max(p, stats.rank_slower(kept_base, logs[end:]))
        if best is None or p < best[0]:
            size = size_of([r["rounds"] for r in records[first:end]],
                           [r["rounds"] for r in records[end:]])
            best = (p, len(logs) - end, est, size, len(kept_base),
                    logs[-1] - statistics.median(base))
    if best is None:
        return None
    return (min(1.0, best[0] * tried),) + best[1:]


def confirm(pending, expectations, size_of, history_window: int, level: float) -> None:
    """Confirmed regressions, controlled across the whole night: each series' sustained-shift
    p-value (sustained) enters one Benjamini-Hochberg family at NIGHT_FDR with every other
    series of the night; a discovery whose k runs together are slower by more than their size
    threshold, and whose run tonight is still above the baseline, is a confirmed regression
    (its comparison then shows the k runs together)."""
    tests = [(item, sustained(item[1], item[2], item[3], size_of, history_window, level)) for item in pending]
    tests = [(item, got) for item, got in tests if got is not None]
    found = stats.discoveries([got[0] for _, got in tests], NIGHT_FDR)
    for ((comparison, _, _, _, row), (p, k, est, size, n_base, tonight)), hit in zip(
            tests, found, strict=True):
        if not (hit and p < CONFIRM_ALPHA and est.ratio >= 1.0 + size and tonight > 0):
            continue
        comparison.confirmed, comparison.verdict = True, "regression"
        comparison.ratio, comparison.low, comparison.high = est.ratio, est.low, est.high
        comparison.p_value, comparison.n_new, comparison.min_effect = p, k, size
        comparison.base = f"the last {k} runs together against the {n_base} before them"
        if comparison.expected is None:
            comparison.expected = next((e for e in expectations if e.covers(
                comparison.benchmark, row["name"], row.get("installed") or {})), None)
