"""The rule's verdicts on recorded A/A calibration data are the ones the hand-written t
distribution gave before harness.stats moved to scipy.stats (issue 15).

tests/data/aa_calibration.json holds real rounds (3 A/A pairs of 4 benchmarks, torch 2.14 on the
2-core development VM). tests/data/aa_calibration_expected.json holds what `judge` below returned
with the standard-library statistics of commit 4b8829c (regenerate: run `judge` with that commit's
harness first on sys.path): every verdict string must be the same, every number the same to 1e-6.
Two deliberate rule changes since (issue 21) regenerated parts of it with the then-current code:
the calibration's memory fields (null here), and the "analyse" sections when the history's noise
became robust to bursts (stats.robust_sigma; one cross-row x1.15 verdict went from slower to same).
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path

import pytest

from harness import calibrate, perf, stats

DATA = Path(__file__).parent / "data"
SLOWDOWNS = (0.0, 0.02, 0.05, 0.1, 0.2, 0.5)


def recorded() -> dict[str, list[tuple[list[float], list[float]]]]:
    data = json.loads((DATA / "aa_calibration.json").read_text(encoding="utf-8"))
    return {name: [(a, b) for a, b in pairs] for name, pairs in data["benchmarks"].items()}


def _estimate(est) -> list[float]:
    return [est.ratio, est.low, est.high, est.p_value]


def _summary(run_id: str, rows: dict[str, dict[str, list[float]]]) -> dict:
    return {"run_id": run_id, "rows": [
        {"name": row, "installed": {}, "benchmarks": {
            name: {"group": "bench", "clock": "process_time", "rounds": rounds}
            for name, rounds in benchmarks.items()}}
        for row, benchmarks in rows.items()]}


def judge(data) -> dict:
    """Every verdict (and the numbers behind it) the rule gives on the recorded pairs: the
    calibration figures, 1-vs-1 and nightly-history verdicts with injected slowdowns, the
    interleaved A/B, and perf.analyse on three nights made of the pairs (B slowed 15% and 40%
    on the last night, so the verdicts are not all 'same')."""
    out: dict = {}
    calibration = {}
    for name, pairs in data.items():
        figures = asdict(calibrate.calibrate_benchmark(name, pairs))
        calibration[name] = {"sigma": figures["sigma"], "df": figures["df"]}
        sides = [(calibrate.Side.of(a), calibrate.Side.of(b)) for a, b in pairs]
        est, ab_verdict, _ = calibrate.ab_compare(pairs, figures)
        out[name] = {
            "calibration": {k: (None if isinstance(v, float) and math.isinf(v) else v)
                            for k, v in figures.items()},
            "single": {str(d): calibrate.single_pair_verdicts(sides, d) for d in SLOWDOWNS},
            "history": {str(d): calibrate.history_verdicts(sides, d) for d in SLOWDOWNS},
            "ab": [ab_verdict, *_estimate(est)],
            "one_vs_one": [_estimate(stats.compare_processes([a], [b], prior=stats.Noise(0.03, 10)))
                           for a, b in pairs],
        }
    nights = [_summary(f"2026-11-3{i}", {"aa-a": {n: p[i][0] for n, p in data.items()},
                                         "aa-b": {n: p[i][1] for n, p in data.items()}})
              for i in range(3)]
    for factor in (1.15, 1.4):
        last = _summary("2026-11-32", {
            "aa-a": {n: p[2][0] for n, p in data.items()},
            "aa-b": {n: [r * factor for r in p[2][1]] for n, p in data.items()}})
        report = perf.analyse(last, nights[:2], [], calibration)
        out[f"analyse x{factor}"] = {
            "cross_row": [[c.benchmark, c.row, c.verdict, c.ratio, c.low, c.high, c.p_value]
                          for c in report.cross_row],
            "history": [[c.benchmark, c.row, c.verdict, c.confirmed, c.ratio, c.low, c.high,
                         c.p_value] for c in report.history]}
    return out


def _same(got, want, where: str) -> None:
    """Strings, ints and booleans equal; floats equal to 1e-6 (relative, or absolute near 0)."""
    if isinstance(want, dict):
        assert sorted(got) == sorted(want), where
        for key in want:
            _same(got[key], want[key], f"{where}/{key}")
    elif isinstance(want, list):
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _same(g, w, f"{where}[{i}]")
    elif isinstance(want, float) and not isinstance(got, bool):
        assert got == pytest.approx(want, rel=1e-6, abs=1e-9), where
    else:
        assert got == want, where


@pytest.fixture(scope="module")
def judged() -> dict:
    return judge(recorded())


def test_the_recorded_data_is_real_a_a_data():
    data = recorded()
    assert len(data) == 4 and all(len(pairs) == 3 for pairs in data.values())
    assert all(len(a) >= 30 and len(b) >= 30 for pairs in data.values() for a, b in pairs)


def test_verdicts_on_recorded_data_are_those_of_the_hand_written_statistics(judged):
    want = json.loads((DATA / "aa_calibration_expected.json").read_text(encoding="utf-8"))
    _same(judged, want, "judged")


def test_the_recorded_comparisons_reach_every_verdict(judged):
    # The comparison above would prove little if every verdict were 'same'.
    verdicts = {v for entry in judged.values() if "single" in entry
                for lists in (entry["single"], entry["history"]) for vs in lists.values() for v in vs}
    verdicts |= {c[2] for key in ("analyse x1.15", "analyse x1.4")
                 for kind in ("cross_row", "history") for c in judged[key][kind]}
    assert {"same", "slower", "regression"} <= verdicts
