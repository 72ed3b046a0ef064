"""How the benchmarks measure: one thread, warm-up, fixed round counts, CPU-time rounds.

Clock. Compute-bound rounds are timed with `time.process_time` (CPU time of the process), not
wall time: on the shared 2-core machines other processes preempt ours, and that waiting time is
most of the wall-clock noise. Measured here with 6 processes under load ~7 (ResNet18 batch 1):
the process medians varied by 27 % (SD of log) in wall time and by 4.6 % in CPU time. One
intra-op thread (see conftest.py) keeps CPU time equal to the work of the timed call.
RPC latency is a wall-clock quantity (two processes and a socket) and is timed in the worker.

Rounds. Each benchmark runs a fixed number of rounds after warm-up rounds, the same in quick
and full depth, so that a per-process statistic means the same thing in every run. All raw
rounds land in benchmark.json (`--benchmark-json` always includes them).

Memory. Every benchmark's record also carries the process's peak resident memory over its
warm-up and timed rounds (and, where the process uses CUDA, torch.cuda.max_memory_allocated):
`extra_info` fields peak_rss_bytes, rss_before_bytes, peak_rss_method and
cuda_max_allocated_bytes, measured by suites/bench/_memory.py. Replayed rounds (timed in another
process) carry the memory that process measured over its rounds.
"""
from __future__ import annotations

import time

import pytest

from suites.bench import _memory

CPU_CLOCK = time.process_time


def bench(group: str, timer=CPU_CLOCK):
    """The pytest-benchmark marker every benchmark here carries: its group, its clock, no GC."""
    return pytest.mark.benchmark(group=group, timer=timer, disable_gc=True)


def measure(benchmark, fn, *, rounds: int, warmup: int, **extra):
    """Time `fn` for `rounds` rounds after `warmup` untimed ones; record how it was measured and
    the peak memory of the process over those rounds (see _memory.track)."""
    benchmark.extra_info.update(rounds_planned=rounds, warmup=warmup, threads=1,
                                clock=CPU_CLOCK.__name__, **extra)
    with _memory.track() as memory:
        result = benchmark.pedantic(fn, rounds=rounds, warmup_rounds=warmup, iterations=1)
    benchmark.extra_info.update(memory.result.as_extra_info())
    return result


class ReplayClock:
    """A pytest-benchmark timer that replays durations measured elsewhere (another process).

    pytest-benchmark reads the timer once before and once after each round; this clock advances
    by the next recorded duration between those two reads, so `benchmark.pedantic(noop,
    rounds=len(durations))` stores exactly the externally measured rounds as raw data.
    """

    def __init__(self) -> None:
        self._durations: list[float] = []
        self._now = 0.0
        self._started = False
        self.__name__ = "replayed_worker_perf_counter"  # the timer's name in benchmark.json

    def load(self, durations: list[float]) -> None:
        self._durations, self._now, self._started = list(durations), 0.0, False

    def __call__(self) -> float:
        if self._started:
            self._now += self._durations.pop(0)
        self._started = not self._started
        return self._now


def replay(benchmark, clock: ReplayClock, durations: list[float], memory: dict, **extra) -> None:
    """Store externally measured `durations` as the benchmark's rounds, with `memory`: the
    PeakMemory.as_extra_info() fields the measuring process recorded over those rounds.
    ValueError when a field is missing (every benchmark record carries memory)."""
    missing = sorted(set(_memory.PeakMemory(0, 0, "").as_extra_info()) - set(memory))
    if missing:
        raise ValueError(f"replayed rounds came without the memory fields {missing}")
    clock.load(durations)
    benchmark.extra_info.update(rounds_planned=len(durations), clock=clock.__name__, **memory,
                                **extra)
    benchmark.pedantic(lambda: None, rounds=len(durations), warmup_rounds=0, iterations=1)
