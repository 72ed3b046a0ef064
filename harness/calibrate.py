"""A/A calibration of the regression rule on this machine, and interleaved A/B comparisons.

    python -m harness.calibrate --python VENV/bin/python --pairs 20 [--benchmarks EXPR]
    python -m harness.calibrate --ab PYTHON_A PYTHON_B --pairs 20 [--benchmarks EXPR]

Both run the benchmark suite (suites/bench) in 2 x PAIRS separate pytest processes, alternating
the two sides and swapping which goes first in every other pair (A B, B A, A B, ...), so slow
drifts of the machine's load fall on both sides alike. `--benchmarks` is a pytest -k expression.

A/A (the same interpreter on both sides) prints per benchmark, for the per-process statistic
the rule compares (stats.process_stat, the 5th percentile of the rounds):
  * sigma: SD of its log over all processes, slow drifts of the machine included (what nightly
    history and cross-row comparisons face), and the same from back-to-back pairs (an A/B);
  * the A/A bias (mean ratio - 1, 95% CI): should contain 0, else the order of processes matters;
  * false alarms: A/A comparisons the rule flags, one process against one (either way), and one
    process against HISTORY others as a nightly run against its history (slower only); each is
    judged with sigma from the other pairs' processes, so no comparison grades itself;
  * min effect: the size a 1-vs-1 ratio must exceed (resolution of the rounds, at least 1%);
  * the smallest slowdown the rule detects (80% of comparisons flagged), found by multiplying
    side B's rounds by 1+d: one process against one, against HISTORY others, and with all
    PAIRS pairs interleaved (A/B, pairs resampled); and how many pairs would detect 5%.
  * memory (harness/memrule.py), per measure the benchmark records (RSS growth; CUDA peak on
    CUDA): sigma in bytes over all processes, A/A false alarms (one process against one) and
    the smallest growth the memory rule flags in >= 80% of the pairs.
It writes these to <time>.json in the calibration folder ($HARNESS_CALIBRATION, by default
reports/calibration; a new file each time, written atomically), which harness/calibration.py reads
for harness.perf.analyse's sigma. `--keep DIR` keeps every process's benchmark.json; `--from DIR`
analyses such a directory again without running anything.

A/B prints per benchmark the ratio B/A (geometric mean over pairs), its 95% CI, p and verdict.
"""
from __future__ import annotations

import argparse
import math
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from harness import calibration as calibration_files
from harness import fsio, isolate, memrule, perf, settings, stats
from harness.isolate import CheckCrashed, CheckTimeout, run

REPO = Path(__file__).resolve().parent.parent
POWER = 0.8
TARGET = 0.05
HISTORY = 10     # earlier nightly runs a history comparison typically rests on
GRID = [i / 1000 for i in range(5, 1001, 5)]   # injected slowdowns: 0.5% ... 100%
PROCESS_TIMEOUT_S = 1200


# ---- analysis (pure) ---------------------------------------------------------------------------

@dataclass
class Calibration:
    benchmark: str
    pairs: int
    sigma: float                 # SD of the log statistic over all processes (time drift included)
    df: int
    sigma_pair: float            # the same from back-to-back pair differences (SD / sqrt 2)
    bias: float                  # mean ratio B/A - 1 over the A/A pairs, with its 95% CI
    bias_low: float
    bias_high: float
    min_effect: float            # typical size threshold of a 1-vs-1 comparison (median)
    false_alarms: int            # 1-vs-1 comparisons flagged either way
    false_slower: int            # ... flagged as slower (what would raise an alarm)
    interleaved_verdict: str     # all pairs as one interleaved A/A comparison
    detectable_single: float     # smallest slowdown (ratio - 1) flagged in >= 80%, 1 vs 1
    false_history: int           # 1 process against HISTORY others flagged slower (nightly)
    false_confirmed: int         # ... flagged slower for two consecutive processes (an alarm)
    detectable_history: float    # ... smallest slowdown flagged in >= 80% of those
    detectable_pairs: float      # ... with all pairs interleaved
    pairs_for_target: int        # pairs an interleaved A/B needs to detect TARGET (-1: never)
    # memory (memrule.calibrate), None where the processes recorded none: SD in bytes over all
    # processes, 1-vs-1 A/A false alarms, smallest growth flagged in >= 80% (fraction, inf: never)
    memory_sigma_bytes: float | None = None
    memory_false_alarms: int | None = None
    memory_detectable: float | None = None
    cuda_sigma_bytes: float | None = None
    cuda_false_alarms: int | None = None
    cuda_detectable: float | None = None


@dataclass(frozen=True)
class Side:
    log: float                   # log statistic (stats.log_stat) of one process
    se: float                    # its within-process standard error

    @staticmethod
    def of(rounds) -> "Side":
        return Side(stats.log_stat(rounds), stats.stat_log_se(rounds))


def _size(base: list[Side], new: list[Side]) -> float:
    return max(perf.MIN_EFFECT_FLOOR, stats.resolution([s.se for s in base], [s.se for s in new]))


def _prior_without(sides: list[tuple[Side, Side]], i: int) -> stats.Noise:
    """sigma as a calibration file would give it, from every process but pair i's: their
    spread over the whole calibration, slow drifts of the machine's load included."""
    logs = [s.log for j, pair in enumerate(sides) if j != i for s in pair]
    return stats.Noise(stats.sd(logs), len(logs) - 1, "calibration")


def single_pair_verdicts(sides: list[tuple[Side, Side]], slowdown: float = 0.0) -> list[str]:
    """The cross-row rule (one process per side) on each A/A pair, B slowed by `slowdown`."""
    shift = math.log1p(slowdown)
    out = []
    for i, (a, b) in enumerate(sides):
        est = stats.compare_logs([a.log], [b.log + shift], prior=_prior_without(sides, i))
        out.append(perf.verdict(est, _size([a], [b])))
    return out


def history_verdicts(sides: list[tuple[Side, Side]], slowdown: float = 0.0) -> list[str]:
    """The nightly history rule: process B_i, slowed, against HISTORY other processes (the A
    sides of the pairs before it, as earlier nights; the last ones for the first pairs)."""
    shift = math.log1p(slowdown)
    out = []
    for i, (_, b) in enumerate(sides):
        others = [a for j, (a, _) in enumerate(sides) if j != i]
        others = others[max(0, i - HISTORY):i] if i >= HISTORY else others[-HISTORY:]
        est = stats.compare_logs([a.log for a in others], [b.log + shift],
                                 prior=_prior_without(sides, i))
        out.append(perf.verdict(est, _size(others, [b])))
    return out


def interleaved_rate(sides: list[tuple[Side, Side]], slowdown: float, *, draws: int = 400,
                     seed: int = 0) -> float:
    """How often the interleaved A/B rule flags B slowed by `slowdown`, over resampled pairs."""
    rng = random.Random(seed)
    shift = math.log1p(slowdown)
    hits = 0
    for _ in range(draws):
        sample = [sides[rng.randrange(len(sides))] for _ in sides]
        est = stats.compare_paired_logs([b.log - a.log + shift for a, b in sample])
        size = _size([a for a, _ in sample], [b for _, b in sample])
        hits += perf.verdict(est, size) == "slower"
    return hits / draws


def pairs_needed(sd_pair: float, size: float, target: float = TARGET) -> int:
    """Pairs an interleaved A/B needs so that a `target` slowdown is flagged with POWER."""
    goal = math.log1p(target)
    if goal <= math.log1p(size):
        return -1
    for n in range(3, 10_000):
        se = sd_pair / math.sqrt(n)
        need = max(stats.t_ppf(1 - perf.ALPHA / 2, n - 1) * se, math.log1p(size))
        if goal - stats.t_ppf(POWER, n - 1) * se >= need:
            return n
    return -1


MEMORY_FIELDS = {"RSS growth": "memory", "CUDA peak": "cuda"}


def calibrate_benchmark(name: str, pairs, memory: dict | None = None) -> Calibration:
    """Calibration figures of one benchmark from its A/A pairs [(rounds A, rounds B)], and
    from `memory` {measure (memrule.MEASURES): [(bytes A, bytes B)]} where recorded."""
    sides = [(Side.of(a), Side.of(b)) for a, b in pairs]
    diffs = [b.log - a.log for a, b in sides]
    n = len(diffs)
    if n < 3:
        raise ValueError(f"{name}: {n} pairs; calibration needs at least 3")
    sd_pair = stats.sd(diffs)
    logs = [s.log for pair in sides for s in pair]
    verdicts = single_pair_verdicts(sides)
    nightly = history_verdicts(sides)
    half = stats.t_ppf(0.975, n - 1) * sd_pair / math.sqrt(n)
    mean = statistics.fmean(diffs)

    def first(rate) -> float:
        for d in GRID:
            if rate(d) >= POWER:
                return d
        return math.inf

    single = first(lambda d: sum(v == "slower" for v in single_pair_verdicts(sides, d)) / n)
    history = first(lambda d: sum(v == "slower" for v in history_verdicts(sides, d)) / n)
    interleaved = first(lambda d: interleaved_rate(sides, d))
    paired_size = _size([a for a, _ in sides], [b for _, b in sides])
    return Calibration(
        benchmark=name, pairs=n, sigma=stats.sd(logs), df=len(logs) - 1,
        sigma_pair=sd_pair / math.sqrt(2),
        bias=math.expm1(mean), bias_low=math.expm1(mean - half), bias_high=math.expm1(mean + half),
        min_effect=statistics.median([_size([a], [b]) for a, b in sides]),
        false_alarms=sum(v != "same" for v in verdicts),
        false_slower=sum(v == "slower" for v in verdicts),
        interleaved_verdict=perf.verdict(stats.compare_paired_logs(diffs), paired_size),
        detectable_single=single, detectable_pairs=interleaved, detectable_history=history,
        false_history=sum(v == "slower" for v in nightly),
        false_confirmed=sum(a == b == "slower" for a, b in zip(nightly, nightly[1:], strict=False)),
        pairs_for_target=pairs_needed(sd_pair, paired_size), **_memory_figures(memory or {}))


def _memory_figures(memory: dict) -> dict:
    out = {}
    for measure, prefix in MEMORY_FIELDS.items():
        pairs = memory.get(measure) or []
        if len(pairs) >= 3:
            got = memrule.calibrate(pairs, GRID, POWER)
            out.update({f"{prefix}_sigma_bytes": got["sigma_bytes"],
                        f"{prefix}_false_alarms": got["false_alarms"],
                        f"{prefix}_detectable": got["detectable"]})
    return out


def split(data: dict[str, list[tuple[dict, dict]]]) -> tuple[dict, dict]:
    """Record pairs {benchmark: [(record A, record B)]} into rounds pairs {benchmark: [(rounds A,
    rounds B)]} and memory pairs {benchmark: {measure: [(bytes A, bytes B)]}}."""
    rounds = {name: [(a["rounds"], b["rounds"]) for a, b in pairs] for name, pairs in data.items()}
    memory: dict[str, dict[str, list]] = {}
    for name, pairs in data.items():
        for a, b in pairs:
            ma, mb = memrule.measures(a), memrule.measures(b)
            for measure in set(ma) & set(mb):
                memory.setdefault(name, {}).setdefault(measure, []).append((ma[measure],
                                                                             mb[measure]))
    return rounds, memory


def ab_compare(pairs, calibration: dict | None) -> tuple[stats.Estimate, str, float]:
    """Interleaved A/B: paired log ratios, their SD pooled with the calibration's pair SD."""
    prior = None
    if calibration:
        sigma = float(calibration.get("sigma_pair", calibration["sigma"]))
        df = float(calibration["pairs"]) - 1 if "pairs" in calibration else float(calibration["df"])
        source = calibration.get("source") or calibration_files.CALIBRATION_SOURCE
        prior = stats.Noise(sigma, df, str(source))
    sides = [(Side.of(a), Side.of(b)) for a, b in pairs]
    est = stats.compare_paired_logs([b.log - a.log for a, b in sides], prior=prior,
                                    level=perf.LEVEL)
    size = _size([a for a, _ in sides], [b for _, b in sides])
    return est, perf.verdict(est, size), size


# ---- running processes -------------------------------------------------------------------------

def run_suite(python: str, out: Path, expr: str | None, depth: str, suite: str) -> dict[str, dict]:
    """One pytest process of the benchmark suite; its benchmarks (empty on failure)."""
    cmd = [python, "-m", "pytest", suite, "-q", "-p", "no:cacheprovider", f"--depth={depth}",
           f"--benchmark-json={out}", "-W", "ignore"]
    if expr:
        cmd += ["-k", expr]
    env = settings.child_env()
    try:
        done = run(cmd, PROCESS_TIMEOUT_S, cwd=REPO, env=env)
    except (CheckTimeout, CheckCrashed) as exc:
        print(f"  warning: {python}: {str(exc).splitlines()[0]}", file=sys.stderr)
        return {}
    if done.returncode not in (0, 1):
        tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
        print(f"  warning: {python} exited {done.returncode}: {' / '.join(tail)}", file=sys.stderr)
    records, problems = perf.read_benchmarks(out)
    for problem in problems:
        print(f"  warning: {problem}", file=sys.stderr)
    return records


def interleave(python_a: str, python_b: str, pairs: int, expr: str | None, depth: str,
               suite: str, workdir: Path) -> dict[str, list[tuple[dict, dict]]]:
    """PAIRS pairs of processes, A B then B A alternately; {benchmark: [(record A, record B)]}
    (harness.benchfile records: rounds, extra_info with memory)."""
    result: dict[str, list] = {}
    for i in range(pairs):
        order = ("a", "b") if i % 2 == 0 else ("b", "a")
        got = {}
        for side in order:
            python = python_a if side == "a" else python_b
            started = time.monotonic()
            got[side] = run_suite(python, workdir / f"{i:03d}-{side}.json", expr, depth, suite)
            print(f"  pair {i + 1}/{pairs} {side.upper()}: {len(got[side])} benchmarks, "
                  f"{time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
        for name in sorted(set(got["a"]) & set(got["b"])):
            result.setdefault(name, []).append((got["a"][name], got["b"][name]))
    return result


def load_pairs(workdir: Path, pairs: int) -> dict[str, list[tuple[dict, dict]]]:
    """The pairs a --keep directory holds (NNN-a.json, NNN-b.json), as interleave returns them."""
    result: dict[str, list] = {}
    for i in range(pairs):
        got = [perf.read_benchmarks(workdir / f"{i:03d}-{side}.json")[0] for side in "ab"]
        for name in sorted(set(got[0]) & set(got[1])):
            result.setdefault(name, []).append((got[0][name], got[1][name]))
    return result


# ---- command line ------------------------------------------------------------------------------

def _pct(x: float) -> str:
    return "never" if math.isinf(x) else f"{x * 100:.1f}%"


def print_calibration(results: list[Calibration], out=None) -> None:
    out = out or sys.stdout
    print(f"{'benchmark':34} {'sigma':>6} {'pair':>5} {'A/A bias [95% CI]':>22} {'false alarms':>13} "
          f"{'min eff':>7} {'detect 1v1':>10} {'detect 1v10':>11} {'detect pairs':>12} "
          f"{'pairs@5%':>8}", file=out)
    for c in results:
        bias = f"{c.bias * 100:+.1f}% [{c.bias_low * 100:+.1f},{c.bias_high * 100:+.1f}]"
        fa = f"{c.false_alarms} {c.false_history} {c.false_confirmed} /{c.pairs}"
        pairs_needed = str(c.pairs_for_target) if c.pairs_for_target >= 0 else "n/a"
        print(f"{c.benchmark:34} {c.sigma * 100:5.1f}% {c.sigma_pair * 100:4.1f}% {bias:>22} {fa:>13} "
              f"{c.min_effect * 100:6.1f}% {_pct(c.detectable_single):>10} "
              f"{_pct(c.detectable_history):>11} {_pct(c.detectable_pairs):>12} "
              f"{pairs_needed:>8}", file=out)
    n = results[0].pairs if results else 0
    print(f"""
Statistic per process: {stats.stat_name()} of its rounds. sigma: SD of its log over all processes
  (what history and cross-row comparisons see); pair: from back-to-back pairs (what an A/B sees).
Rule: p < {perf.ALPHA:g} and ratio beyond 1 + min effect (the resolution of the rounds, >= 1%).
false alarms: A/A comparisons flagged, of {n} each: one process against one (either way); one
  process against {HISTORY} others as a night against its history (slower only); and two such
  in a row, which is what fails a nightly run (a confirmed regression).
detect: smallest injected slowdown flagged in >= {POWER:.0%} of comparisons: 1v1 = one process
  per side (cross-row), 1v10 = against {HISTORY} earlier runs (nightly history), pairs = the {n}
  interleaved pairs of an A/B run (resampled). pairs@5%: pairs an A/B needs to detect {TARGET:.0%}.""",
          file=out)
    with_memory = [c for c in results if c.memory_sigma_bytes is not None
                   or c.cuda_sigma_bytes is not None]
    if not with_memory:
        return
    print(f"\n{'memory (RSS growth / CUDA peak)':34} {'sigma':>19} {'false alarms':>13} "
          f"{'detect 1v1':>15}", file=out)
    for c in with_memory:
        sig = " / ".join("-" if v is None else f"{v / memrule.MIB:.2f} MiB"
                         for v in (c.memory_sigma_bytes, c.cuda_sigma_bytes))
        fa = " / ".join("-" if v is None else str(v)
                        for v in (c.memory_false_alarms, c.cuda_false_alarms))
        det = " / ".join("-" if v is None else _pct(v)
                         for v in (c.memory_detectable, c.cuda_detectable))
        print(f"{c.benchmark:34} {sig:>19} {fa + f' /{c.pairs}':>13} {det:>15}", file=out)
    print(f"""Memory rule: a change beyond max({memrule.MIN_CHANGE:.0%} of the base, {memrule.NOISE_MULT:g} sigma,
  {memrule.MIN_BYTES // memrule.MIB} MiB) is "more/less memory"; false alarms: one process against one, either way.""",
          file=out)


def make_parser() -> argparse.ArgumentParser:
    """The command line; defaults come from the settings as they are when it is built."""
    parser = argparse.ArgumentParser(prog="python -m harness.calibrate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    side = parser.add_mutually_exclusive_group(required=True)
    side.add_argument("--python", help="A/A calibration of this interpreter's environment")
    side.add_argument("--ab", nargs=2, metavar=("PYTHON_A", "PYTHON_B"),
                      help="interleaved A/B comparison of two environments")
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--benchmarks", default=None, help="pytest -k expression")
    parser.add_argument("--depth", choices=("quick", "full"), default="quick")
    parser.add_argument("--suite", default="suites/bench")
    parser.add_argument("--out", default=str(settings.current().calibration),
                        help="directory for the calibration file (A/A)")
    parser.add_argument("--calibration", default=str(settings.current().calibration),
                        help="calibration file or directory used by --ab")
    parser.add_argument("--keep", default=None,
                        help="keep each process's benchmark.json in this directory")
    parser.add_argument("--from", dest="reuse", default=None,
                        help="analyse the benchmark files a --keep directory holds, run nothing")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    if args.pairs < 3:
        parser.error("--pairs must be at least 3")
    for python in ([args.python] if args.python else args.ab) if not args.reuse else []:
        if not Path(python).exists():
            parser.error(f"no interpreter at {python}")

    if args.reuse:
        data = load_pairs(Path(args.reuse), args.pairs)
    else:
        with tempfile.TemporaryDirectory(prefix="calibrate-") as tmp:
            a, b = (args.python, args.python) if args.python else args.ab
            print(f"running {args.pairs} interleaved pairs of processes ({args.suite}, depth "
                  f"{args.depth}{', -k ' + args.benchmarks if args.benchmarks else ''})",
                  file=sys.stderr)
            workdir = Path(args.keep) if args.keep else Path(tmp)
            workdir.mkdir(parents=True, exist_ok=True)
            data = interleave(a, b, args.pairs, args.benchmarks, args.depth, args.suite,
                              workdir)
    if not data:
        print("error: no benchmark produced rounds in both processes of any pair",
              file=sys.stderr)
        return 2
    data, memory = split(data)
    if args.python:
        results = [calibrate_benchmark(name, pairs, memory.get(name))
                   for name, pairs in sorted(data.items()) if len(pairs) >= 3]
        print(f"A/A calibration of {args.python} on {platform.node()} "
              f"({os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f})")
        print_calibration(results)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        path = Path(args.out) / f"{stamp}.json"
        fsio.write_json(path, {
            "created": stamp, "python": args.python, **calibration_files.this_machine(),
            "cpus": os.cpu_count(), "pairs": args.pairs, "depth": args.depth,
            "benchmarks": {c.benchmark: {k: (None if isinstance(v, float) and math.isinf(v)
                                             else v) for k, v in asdict(c).items()}
                           for c in results}})
        print(f"\nwritten: {path}")
        return 0
    calibration, problems = calibration_files.load_calibration(Path(args.calibration))
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    print(f"interleaved A/B, {args.pairs} pairs: A={args.ab[0]}  B={args.ab[1]}")
    status = 0
    for name, pairs in sorted(data.items()):
        est, decided, min_effect = ab_compare(pairs, calibration.get(name))
        print(f"{name:34} B/A {est.ratio:.3f}x (95% CI {est.low:.3f}-{est.high:.3f}, "
              f"p={est.p_value:.2g}, {len(pairs)} pairs, min effect {min_effect * 100:.1f}%): "
              f"{decided}")
        status = 1 if decided == "slower" else status
    return status


if __name__ == "__main__":
    with isolate.guard():
        sys.exit(main())
