"""The nightly rule over a synthetic year of the whole matrix: false alarms and detection.

    python benchmarks/rule_year.py [--noise-nights 60] [--window 10] [--json OUT]

The matrix: 5 rows x 40 benchmarks = 200 series, each night one process per series, judged by
harness.perf.analyse against the series' earlier nights (up to HISTORY of them), as the nightly
report does. Noise shaped like real rounds: each benchmark takes one of the four recorded A/A
benchmarks of tests/data/aa_calibration.json (torch 2.14 on the 2-core development VM) as its
shape; a process's rounds are that benchmark's recorded rounds (one recorded process drawn at
random, its rounds resampled, divided by its own statistic) times a process factor
exp(N(0, sigma)), sigma the SD of the recorded processes' log statistic (0.7-3.1 %). Two rare
events the calibration and the issue saw are added: one process in 40 runs through a burst of
other jobs (all rounds +18 %), and one in 100 has a wide fast tail (3 of its 30 rounds at
0.75-0.95 of the rest).

Measured:
  * noise: NOISE_NIGHTS nights of pure noise after WARMUP nights of history: confirmed false
    alarms (a series entering PerfReport.regressions; an alarm that persists counts once) per
    1,000 benchmark-nights, single-night suspected flags, and the change points found in the
    noise per night (each resets a series' baseline);
  * detection: from the end of the noise, slowdowns of 2, 3, 5 and 10 % injected from one night
    on into 2 series of every benchmark (two rows), 8 benchmarks at a time; a benchmark's
    smallest detected slowdown is the smallest one confirmed in both its series within WINDOW
    nights; the median over the 40 benchmarks is the figure.
Deterministic (seeded); prints one line per figure and optionally writes them as JSON.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # after PYTHONPATH: PYTHONPATH=OTHER_CHECKOUT measures its rule
    sys.path.append(str(ROOT))

from harness import perf, stats  # noqa: E402

ROWS = [f"row{r}" for r in range(5)]
BENCHMARKS = 40
HISTORY = 25          # earlier nights each analysis sees (the rule uses at most 20 as baseline)
WARMUP = 25
SLOWDOWNS = (0.02, 0.03, 0.05, 0.10)
GROUPS = 5            # detection: benchmarks are slowed GROUP at a time (8 of 40)
BURST, BURST_P = 0.18, 1 / 40
FAST_TAIL_P = 0.01
DATA = ROOT / "tests" / "data" / "aa_calibration.json"


class Shapes:
    """The recorded A/A processes: per recorded benchmark, each process's rounds divided by its
    statistic, and the SD of the processes' log statistic."""

    def __init__(self, path: Path = DATA):
        recorded = json.loads(path.read_text(encoding="utf-8"))["benchmarks"]
        self.names = sorted(recorded)
        self.rounds = {}
        self.sigma = {}
        for name in self.names:
            procs = [r for pair in recorded[name] for r in pair]
            self.rounds[name] = [[x / stats.process_stat(r) for x in r] for r in procs]
            self.sigma[name] = statistics.stdev(stats.log_stat(r) for r in procs)

    def process(self, rng: random.Random, shape: str, level: float, factor: float = 1.0):
        recorded = rng.choice(self.rounds[shape])
        scale = level * factor * math.exp(rng.gauss(0.0, self.sigma[shape]))
        if rng.random() < BURST_P:
            scale *= 1 + BURST
        out = [scale * rng.choice(recorded) for _ in recorded]
        if rng.random() < FAST_TAIL_P:
            for i in rng.sample(range(len(out)), 3):
                out[i] *= rng.uniform(0.75, 0.95)
        return out


def bench_name(b: int) -> str:
    return f"test_bench{b:02d}"


def night(shapes: Shapes, rng: random.Random, day: int, slow: dict | None = None) -> dict:
    """One night's summary: every row runs every benchmark once; `slow` {(bench, row): factor}."""
    rows = []
    for row in ROWS:
        benchmarks = {}
        for b in range(BENCHMARKS):
            shape = shapes.names[b % len(shapes.names)]
            level = 0.005 * (1 + b % 7)
            factor = (slow or {}).get((b, row), 1.0)
            benchmarks[bench_name(b)] = {"group": "g", "clock": "process_time",
                                         "rounds": shapes.process(rng, shape, level, factor)}
        rows.append({"name": row, "installed": {"torch": "2.14.1"}, "benchmarks": benchmarks})
    return {"run_id": f"2026N{day:04d}", "rows": rows}


CALIBRATION: dict[str, dict] = {}


def calibrate(shapes: Shapes) -> None:
    """A calibration file of this machine, as `nox -s calibrate -- ROW --pairs 20` would write:
    each benchmark's sigma (the recorded shape's) with 39 degrees of freedom."""
    CALIBRATION.update({bench_name(b): {"sigma": shapes.sigma[shapes.names[b % len(shapes.names)]],
                                        "df": 39} for b in range(BENCHMARKS)})


def analyse(summary: dict, history: list[dict]):
    return perf.analyse(summary, history[-HISTORY:], [], calibration=CALIBRATION)


def measure_noise(shapes: Shapes, nights: int, seed: int = 1):
    rng = random.Random(seed)
    history = [night(shapes, rng, d) for d in range(WARMUP)]
    alarms = suspected = 0
    alarmed_before: set = set()
    points: set = set()
    for d in range(WARMUP, WARMUP + nights):
        summary = night(shapes, rng, d)
        report = analyse(summary, history)
        alarmed = {(c.benchmark, c.row) for c in report.regressions}
        alarms += len(alarmed - alarmed_before)
        alarmed_before = alarmed
        suspected += sum(c.verdict == "regression" for c in report.history)
        points |= {(p.benchmark, p.row, p.run_id) for p in report.change_points}
        history.append(summary)
    series_nights = nights * BENCHMARKS * len(ROWS)
    return history, {"nights": nights, "benchmark_nights": series_nights,
                     "confirmed_false_alarms": alarms,
                     "false_alarms_per_1000": 1000 * alarms / series_nights,
                     "suspected_per_1000": 1000 * suspected / series_nights,
                     "change_points_per_night": len(points) / nights}


def measure_detection(shapes: Shapes, history: list[dict], window: int, seed: int = 2):
    """{slowdown: {benchmark: nights to confirmation in each of its two series (None: missed)}}."""
    out: dict[float, dict[int, list]] = {}
    start = len(history)
    for slowdown in SLOWDOWNS:
        out[slowdown] = {}
        for group in range(GROUPS):
            rng = random.Random(seed * 1000 + group + int(slowdown * 1000))
            targets = {(b, ROWS[(b + k) % len(ROWS)]) for b in range(group, BENCHMARKS, GROUPS)
                       for k in (0, 2)}
            slow = {t: 1 + slowdown for t in targets}
            found: dict[tuple, int] = {}
            past = list(history)
            for k in range(window):
                summary = night(shapes, rng, start + k, slow)
                report = analyse(summary, past)
                for c in report.regressions:
                    if (b := int(c.benchmark[-2:]), c.row) in targets:
                        found.setdefault((b, c.row), k + 1)
                past.append(summary)
                if len(found) == len(targets):
                    break
            for b, row in sorted(targets):
                out[slowdown].setdefault(b, []).append(found.get((b, row)))
    return out


def smallest_detected(detection: dict) -> dict[int, float]:
    """Per benchmark the smallest slowdown confirmed in all its series (inf: none)."""
    return {b: min((s for s in SLOWDOWNS if all(n is not None for n in detection[s][b])),
                   default=math.inf) for b in range(BENCHMARKS)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--noise-nights", type=int, default=60,
                        help="pure-noise nights judged after the warm-up (default 60; the README also uses 200)")
    parser.add_argument("--window", type=int, default=10,
                        help="nights after the slowdown within which it must be confirmed (default 10)")
    parser.add_argument("--json", default=None, help="write the figures here")
    args = parser.parse_args(argv)
    started = time.monotonic()
    shapes = Shapes()
    calibrate(shapes)
    print("noise shapes (recorded A/A): " + ", ".join(
        f"{n} sigma {shapes.sigma[n] * 100:.1f}%" for n in shapes.names))
    history, noise = measure_noise(shapes, args.noise_nights)
    print(f"pure noise, {noise['nights']} nights x {BENCHMARKS * len(ROWS)} series: "
          f"{noise['confirmed_false_alarms']} confirmed false alarms "
          f"({noise['false_alarms_per_1000']:.2f} per 1,000 benchmark-nights), "
          f"{noise['suspected_per_1000']:.1f} suspected per 1,000, "
          f"{noise['change_points_per_night']:.2f} change points per night", flush=True)
    detection = measure_detection(shapes, history, args.window)
    smallest = smallest_detected(detection)
    for s in SLOWDOWNS:
        got = [n for ns in detection[s].values() for n in ns]
        hit = [n for n in got if n is not None]
        print(f"slowdown {s:.0%}: confirmed in {len(hit)}/{len(got)} series within "
              f"{args.window} nights" + (f", median {statistics.median(hit):.0f} nights"
                                         if hit else ""))
    values = sorted(smallest.values())
    median = statistics.median(values)
    print(f"smallest slowdown detected, median over {BENCHMARKS} benchmarks: "
          f"{'never' if math.isinf(median) else f'{median:.0%}'}; "
          f"wall {time.monotonic() - started:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "noise": noise, "window": args.window,
            "detected": {f"{s:.2f}": detection[s] for s in SLOWDOWNS},
            "smallest_median": None if math.isinf(median) else median}, indent=1) + "\n",
            encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
