"""The memory rule: a benchmark's memory against another row's and against its own history.

What is compared (suites/bench/_memory.py measures it, harness/benchfile.py keeps it in each
record's `extra_info`): per process,
  * "RSS growth": peak_rss_bytes - rss_before_bytes, the resident memory the benchmark itself
    added (the absolute peak also holds whatever earlier tests of the process left resident);
  * "CUDA peak": cuda_max_allocated_bytes (torch's caching allocator), where CUDA ran.

The rule. Memory is nearly deterministic, so unlike time it needs no t test; a change is a
verdict ("more memory" / "less memory", else "same") when it exceeds

    threshold = max(MIN_CHANGE x base, NOISE_MULT x sigma x sqrt(1 + 1/n_base), MIN_BYTES)

  * MIN_CHANGE = 10 %: policy, as the time rule's 1 % floor is; a smaller change in what a
    benchmark holds is not worth a reader's attention (allocator arenas and caches grow in steps);
  * NOISE_MULT x sigma: `sigma` is the A/A process-to-process SD of the measure in bytes
    (`python -m harness.calibrate` records it as memory_sigma_bytes), else the spread of the
    baseline's own runs; 3 sigma of the difference of one new process and the mean of n_base is a
    one-sided false-alarm rate of 0.13 % per comparison for normal noise;
  * MIN_BYTES = 1 MiB: below it VmHWM counts a few pages and glibc's trim threshold decides.
Memory verdicts are shown beside time and never fail a run.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Sequence, TypeGuard

MIB = 1 << 20
MIN_CHANGE = 0.10
NOISE_MULT = 3.0
MIN_BYTES = MIB
MEASURES = ("RSS growth", "CUDA peak")
SIGMA_KEYS = {"RSS growth": "memory_sigma_bytes", "CUDA peak": "cuda_sigma_bytes"}


@dataclass
class MemoryVerdict:
    measure: str            # one of MEASURES
    value_bytes: float      # the new process's figure
    base_bytes: float       # the mean of the base processes' figures
    change: float           # value / base - 1 (inf when base is 0 and value is not)
    threshold_bytes: float  # how far value had to move from base for a verdict
    sigma_bytes: float      # noise used, and where it came from
    noise_source: str
    verdict: str            # "more memory", "less memory" or "same"

    def describe(self) -> str:
        change = "" if math.isinf(self.change) else f" ({self.change:+.0%})"
        return (f"{self.measure} {_fmt(self.value_bytes)} vs {_fmt(self.base_bytes)}{change}, "
                f"threshold {_fmt(self.threshold_bytes)}: {self.verdict}")


def measures(record: dict | None) -> dict[str, float]:
    """{measure: bytes} of one benchmark record, the measures it holds (none when the record
    predates memory or the value is not a non-negative number)."""
    extra = (record or {}).get("extra_info") or {}
    out: dict[str, float] = {}
    peak, before = extra.get("peak_rss_bytes"), extra.get("rss_before_bytes")
    if _bytes(peak) and _bytes(before):
        out["RSS growth"] = max(0.0, float(peak) - float(before))
    cuda = extra.get("cuda_max_allocated_bytes")
    if _bytes(cuda):
        out["CUDA peak"] = float(cuda)
    return out


def _bytes(value: object) -> TypeGuard[int | float]:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) and value >= 0)


def threshold(base: float, sigma: float, n_base: int) -> float:
    """The size a change from `base` (bytes) must exceed: see the module docstring."""
    return max(MIN_CHANGE * base, NOISE_MULT * sigma * math.sqrt(1.0 + 1.0 / max(n_base, 1)),
               MIN_BYTES)


def judge(base: Sequence[float], value: float, sigma: float) -> tuple[str, float]:
    """(verdict, threshold bytes) of one process's `value` against the `base` processes."""
    mean = statistics.fmean(base)
    size = threshold(mean, sigma, len(base))
    if value - mean > size:
        return "more memory", size
    if mean - value > size:
        return "less memory", size
    return "same", size


def compare(base_records: Sequence[dict], record: dict, calibration: dict | None
            ) -> list[MemoryVerdict]:
    """Memory verdicts of `record` against `base_records`, one per measure both sides hold.

    Noise: the calibration entry's memory_sigma_bytes / cuda_sigma_bytes (A/A), else the SD of
    the base processes (at least 3 of them), else 0 (the floors alone decide)."""
    new = measures(record)
    out = []
    for measure, value in new.items():
        base = [m[measure] for m in map(measures, base_records) if measure in m]
        if not base:
            continue
        sigma, source = _noise(measure, base, calibration)
        decided, size = judge(base, value, sigma)
        mean = statistics.fmean(base)
        change = value / mean - 1.0 if mean > 0 else (0.0 if value == 0 else math.inf)
        out.append(MemoryVerdict(measure, value, mean, change, size, sigma, source, decided))
    return out


def _noise(measure: str, base: Sequence[float], calibration: dict | None) -> tuple[float, str]:
    entry = calibration or {}
    sigma = entry.get(SIGMA_KEYS[measure])
    if _bytes(sigma):
        return float(sigma), str(entry.get("source") or "calibration")
    if len(base) >= 3:
        return statistics.stdev(base), "history"
    return 0.0, "none (floors only)"


def calibrate(pairs: Sequence[tuple[float, float]], grid: Sequence[float], power: float = 0.8
              ) -> dict:
    """A/A figures of one measure from pairs of processes (bytes A, bytes B), as the time rule's
    calibration (harness/calibrate.py): sigma_bytes (SD over all processes) and df; false_alarms
    (pairs judged one against one, sigma from the other pairs, any verdict but "same"); and
    detectable: the smallest growth in `grid` (fractions) that turns >= `power` of the pairs
    into "more memory" (B scaled by 1 + d); inf when none does. Needs at least 3 pairs
    (ValueError)."""
    if len(pairs) < 3:
        raise ValueError(f"{len(pairs)} pairs; memory calibration needs at least 3")
    values = [v for pair in pairs for v in pair]

    def others(i: int) -> float:
        return statistics.stdev([v for j, pair in enumerate(pairs) if j != i for v in pair])

    def flagged(d: float, words: tuple[str, ...]) -> int:
        return sum(judge([a], b * (1 + d), others(i))[0] in words
                   for i, (a, b) in enumerate(pairs))

    detectable = next((d for d in grid if flagged(d, ("more memory",)) >= power * len(pairs)),
                      math.inf)
    return {"sigma_bytes": statistics.stdev(values), "df": len(values) - 1,
            "median_bytes": statistics.median(values),
            "false_alarms": flagged(0.0, ("more memory", "less memory")),
            "detectable": detectable}


def _fmt(n: float) -> str:
    return f"{n / MIB:.1f} MiB" if n >= MIB / 10 else f"{n / 1024:.0f} KiB"
