"""Where the benchmarks' process-to-process noise comes from, read from a calibrate --keep folder.

    python -m harness.noise KEEP_DIR --pairs N

Per benchmark, over the processes in the order they ran (KEEP_DIR/NNN-a.json, NNN-b.json as
`python -m harness.calibrate --keep` writes them: A B in even pairs, B A in odd ones):
  sigma     SD of log(stats.process_stat) over the processes: calibrate's sigma;
  within    median standard error of that log inside one process (stats.stat_log_se): the only
            part more rounds per process would shrink;
  common    correlation of the benchmark's per-process deviation with the mean deviation of the
            other benchmarks in the same process: machine-wide speed (the host's load, its clock),
            which no setting inside the process removes;
  residual  SD left after subtracting that mean: what is specific to the benchmark's process;
  first     offset of the first process's log from the mean of the others (first-process warm-up).
benchmarks/NOISE.md has the figures measured with it.
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

from harness import benchfile, stats


@dataclass(frozen=True)
class Decomposition:
    """Noise figures of one benchmark; all are natural-log units (0.01 ~ 1 %)."""

    benchmark: str
    processes: int
    sigma: float
    within: float
    common: float | None      # correlation in [-1, 1]; None with fewer than 2 benchmarks
    residual: float | None
    first: float


def decompose(processes: list[dict[str, list[float]]]) -> list[Decomposition]:
    """Figures for every benchmark present in all `processes` (in run order; each {benchmark:
    rounds in seconds}). ValueError with fewer than 3 processes or no benchmark in all."""
    if len(processes) < 3:
        raise ValueError(f"{len(processes)} processes; the decomposition needs at least 3")
    names = sorted(set.intersection(*(set(p) for p in processes)))
    if not names:
        raise ValueError("no benchmark has rounds in every process")
    logs = {n: [stats.log_stat(p[n]) for p in processes] for n in names}
    dev = {n: [x - statistics.fmean(xs) for x in xs] for n, xs in logs.items()}
    out = []
    for n in names:
        others = [m for m in names if m != n]
        common = residual = None
        if others:
            mean = [statistics.fmean(dev[m][i] for m in others) for i in range(len(processes))]
            flat = statistics.pstdev(mean) == 0 or statistics.pstdev(dev[n]) == 0
            common = 0.0 if flat else statistics.correlation(dev[n], mean)
            residual = stats.sd([a - b for a, b in zip(dev[n], mean, strict=True)])
        out.append(Decomposition(
            benchmark=n, processes=len(processes), sigma=stats.sd(logs[n]),
            within=statistics.median(stats.stat_log_se(p[n]) for p in processes),
            common=common, residual=residual,
            first=logs[n][0] - statistics.fmean(logs[n][1:])))
    return out


def load_in_order(folder: Path, pairs: int) -> list[dict[str, list[float]]]:
    """The processes of a --keep folder in the order calibrate ran them; {benchmark: rounds}."""
    out = []
    for i in range(pairs):
        for side in ("ab" if i % 2 == 0 else "ba"):
            records, _ = benchfile.read_benchmarks(folder / f"{i:03d}-{side}.json")
            if records:
                out.append({name: r["rounds"] for name, r in records.items()})
    return out


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.1f}%"


def main(argv: list[str] | None = None) -> int:
    """Print the decomposition of a --keep folder; 0, or 2 (one line naming the folder) when it
    holds fewer than 3 readable processes."""
    parser = argparse.ArgumentParser(prog="python -m harness.noise", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", help="a `python -m harness.calibrate --keep` folder")
    parser.add_argument("--pairs", type=int, required=True)
    args = parser.parse_args(argv)
    try:
        rows = decompose(load_in_order(Path(args.folder), args.pairs))
    except ValueError as exc:
        print(f"error: {args.folder}: {exc}", file=sys.stderr)
        return 2
    print(f"{'benchmark':30} {'sigma':>6} {'within':>6} {'common':>6} {'residual':>8} "
          f"{'first':>6}")
    for r in rows:
        common = "-" if r.common is None else f"{r.common:+.2f}"
        print(f"{r.benchmark:30} {_pct(r.sigma):>6} {_pct(r.within):>6} {common:>6} "
              f"{_pct(r.residual):>8} {math.expm1(r.first) * 100:+5.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
