"""harness.memrule: the memory rule, its A/A calibration, and memory beside time in the report."""
import math
import random

import pytest

from harness import calibrate, memrule, perf

MIB = memrule.MIB


def rec(growth, *, before=500 * MIB, cuda=None, seed=0, level=0.05):
    rng = random.Random(seed)
    return {"group": "g", "clock": "process_time",
            "rounds": [level * (1 + 0.03 * rng.random()) for _ in range(30)],
            "extra_info": {"peak_rss_bytes": before + growth, "rss_before_bytes": before,
                           "peak_rss_method": "VmHWM", "cuda_max_allocated_bytes": cuda}}


def test_measures_are_growth_over_the_rss_before_and_the_cuda_peak():
    assert memrule.measures(rec(40 * MIB)) == {"RSS growth": 40 * MIB}
    assert memrule.measures(rec(40 * MIB, cuda=7 * MIB)) == {"RSS growth": 40 * MIB,
                                                               "CUDA peak": 7 * MIB}
    assert memrule.measures({"rounds": [1.0]}) == {}  # a record from before memory was kept
    assert memrule.measures({"extra_info": {"peak_rss_bytes": "x", "rss_before_bytes": 1}}) == {}


@pytest.mark.parametrize("base,sigma,n,want", [
    (100 * MIB, 0.0, 1, 10 * MIB),           # 10% of the base
    (2 * MIB, 0.0, 1, MIB),                  # the 1 MiB floor
    (100 * MIB, 5 * MIB, 1, 3 * 5 * MIB * math.sqrt(2)),  # 3 sigma of a 1-vs-1 difference
])
def test_threshold_is_the_largest_of_its_three_parts(base, sigma, n, want):
    assert memrule.threshold(base, sigma, n) == pytest.approx(want)


def test_judge_flags_only_changes_beyond_the_threshold_either_way():
    assert memrule.judge([100 * MIB], 109 * MIB, 0.0)[0] == "same"
    assert memrule.judge([100 * MIB], 111 * MIB, 0.0)[0] == "more memory"
    assert memrule.judge([100 * MIB], 89 * MIB, 0.0)[0] == "less memory"
    assert memrule.judge([100 * MIB], 125 * MIB, 10 * MIB)[0] == "same"  # 3 sigma = 42 MiB


def test_compare_takes_sigma_from_calibration_else_from_the_baseline():
    base = [rec(g) for g in (100 * MIB, 101 * MIB, 99 * MIB)]
    (mv,) = memrule.compare(base, rec(130 * MIB), {"memory_sigma_bytes": 2 * MIB,
                                                   "source": "calibration on here"})
    assert (mv.verdict, mv.noise_source, mv.sigma_bytes) == ("more memory",
                                                             "calibration on here", 2 * MIB)
    assert mv.change == pytest.approx(0.30)
    (mv,) = memrule.compare(base, rec(100 * MIB), None)
    assert mv.noise_source == "history" and mv.sigma_bytes == pytest.approx(MIB)
    assert "RSS growth 100.0 MiB vs 100.0 MiB" in mv.describe() and mv.verdict == "same"
    assert memrule.compare([rec(1)], {"rounds": [1.0]}, None) == []


def test_calibration_of_memory_reports_noise_false_alarms_and_detectable_growth():
    rng = random.Random(3)
    pairs = [(200 * MIB + rng.gauss(0, 2 * MIB), 200 * MIB + rng.gauss(0, 2 * MIB))
             for _ in range(20)]
    got = memrule.calibrate(pairs, calibrate.GRID)
    assert got["sigma_bytes"] == pytest.approx(2 * MIB, rel=0.4)
    assert got["false_alarms"] == 0
    assert 0.10 < got["detectable"] <= 0.13  # the 10% floor decides, plus the A/A spread
    noisy = [(200 * MIB + rng.gauss(0, 20 * MIB), 200 * MIB + rng.gauss(0, 20 * MIB))
             for _ in range(20)]
    assert memrule.calibrate(noisy, calibrate.GRID)["detectable"] > 0.3  # 3 sigma sqrt 2 / base
    with pytest.raises(ValueError, match="at least 3"):
        memrule.calibrate(pairs[:2], calibrate.GRID)


def test_calibrate_splits_record_pairs_and_records_memory_figures():
    data = {"test_op": [(rec(100 * MIB + i * 1000, seed=i), rec(100 * MIB - i * 1000, seed=50 + i))
                        for i in range(5)]}
    rounds, memory = calibrate.split(data)
    assert rounds["test_op"][0][0] == data["test_op"][0][0]["rounds"]
    assert len(memory["test_op"]["RSS growth"]) == 5 and "CUDA peak" not in memory["test_op"]
    c = calibrate.calibrate_benchmark("test_op", rounds["test_op"], memory["test_op"])
    assert c.memory_sigma_bytes == pytest.approx(
        memrule.calibrate(memory["test_op"]["RSS growth"], calibrate.GRID)["sigma_bytes"])
    assert c.memory_false_alarms == 0 and c.cuda_sigma_bytes is None


def run(run_id, growths, seed):
    return {"run_id": run_id, "rows": [{"name": row, "benchmarks": {"test_op": rec(g, seed=seed + i)}}
                                       for i, (row, g) in enumerate(growths.items())]}


def test_the_report_shows_a_memory_verdict_beside_time_against_rows_and_history():
    past = [run(f"202611{i + 1:02d}T000000Z", {"a": 100 * MIB, "b": 100 * MIB}, 10 * i)
            for i in range(5)]
    now = run("20261126T000000Z", {"a": 100 * MIB, "b": 150 * MIB}, 99)
    report = perf.analyse(now, past, [], calibration={})
    hist = {c.row: c for c in report.history}
    assert [m.verdict for m in hist["b"].memory] == ["more memory"]
    assert [m.verdict for m in hist["a"].memory] == ["same"]
    (cross,) = report.cross_row
    assert [m.verdict for m in cross.memory] == ["more memory"]
    assert report.regressions == []  # memory never fails a run
    view = report.rendered()
    b_row = next(r for r in view["benchmarks"][0]["rows"] if r["row"] == "b")
    assert b_row["history"]["memory"][0]["verdict"] == "more memory"
    from tests.test_perf import render_html
    html = render_html(report)
    assert 'class="perf-note mem-more-memory">RSS growth 150.0 MiB vs 100.0 MiB (+50%)' in html
