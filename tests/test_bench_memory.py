"""Memory beside time: suites/bench/_memory.py measures a region's peak resident memory, and every
benchmark record (suites/bench/_bench.py's measure and replay) carries it. No torch needed."""
import sys
import time
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from harness.expectations import https_link
from suites.bench import _bench, _memory

MB = 1024 * 1024
BIG, SMALL = 200 * MB, 1 * MB
PAGE = 4096
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self")


def touched(size: int) -> bytearray:
    """`size` bytes made resident (one write per page)."""
    block = bytearray(size)
    for offset in range(0, size, PAGE):
        block[offset] = 1
    return block


def growth(result: _memory.PeakMemory) -> int:
    return result.peak_rss_bytes - result.rss_before_bytes


@linux_only
def test_a_200_mb_region_raises_the_peak_by_200_mb():
    with _memory.track() as memory:
        block = touched(BIG)
        del block
    assert memory.result.method == _memory.VMHWM
    assert growth(memory.result) >= 190 * MB
    assert memory.result.cuda_max_allocated_bytes is None  # no CUDA in this process


@linux_only
def test_the_mark_is_reset_so_an_earlier_peak_does_not_count():
    block = touched(BIG)  # a process-lifetime peak of 200 MB more, before the region
    del block
    with _memory.track() as memory:
        small = touched(SMALL)
        del small
    assert memory.result.method == _memory.VMHWM
    assert growth(memory.result) < 20 * MB


def test_the_sampling_fallback_sees_a_held_allocation():
    with _memory.track(force_sampling=True) as memory:
        block = touched(BIG)
        time.sleep(20 * _memory.SAMPLE_INTERVAL_S)
        del block
    assert memory.result.method == _memory.SAMPLED
    assert growth(memory.result) >= 190 * MB


def test_a_region_that_raises_still_gets_its_result():
    with pytest.raises(RuntimeError), _memory.track() as memory:
        raise RuntimeError("the benchmark failed")
    assert memory.result is not None and memory.result.peak_rss_bytes > 0


def test_status_fields_are_read_in_bytes(tmp_path):
    status = tmp_path / "status"
    status.write_text("Name:\tpython\nVmHWM:\t  2048 kB\nVmRSS:\t 1024 kB\n")
    assert _memory.status_bytes("VmHWM", status) == 2048 * 1024
    with pytest.raises(KeyError, match="VmSwap"):
        _memory.status_bytes("VmSwap", status)


class FakeBenchmark:
    """What measure() and replay() use of pytest-benchmark's fixture: extra_info and pedantic."""

    def __init__(self):
        self.extra_info = {}
        self.calls = 0

    def pedantic(self, fn, *, rounds, warmup_rounds, iterations):
        for _ in range((rounds + warmup_rounds) * iterations):
            self.calls += 1
            result = fn()
        return result


@linux_only
def test_measure_records_the_peak_of_its_rounds_in_extra_info():
    benchmark = FakeBenchmark()
    _bench.measure(benchmark, lambda: len(touched(BIG)), rounds=2, warmup=1)
    info = benchmark.extra_info
    assert benchmark.calls == 3
    assert set(_memory.PeakMemory(0, 0, "").as_extra_info()) <= set(info)
    assert info["peak_rss_method"] == _memory.VMHWM
    assert info["peak_rss_bytes"] - info["rss_before_bytes"] >= 190 * MB

    small = FakeBenchmark()
    _bench.measure(small, lambda: len(touched(SMALL)), rounds=2, warmup=1)
    assert small.extra_info["peak_rss_bytes"] - small.extra_info["rss_before_bytes"] < 20 * MB


def test_replay_carries_the_measuring_process_memory_and_refuses_none():
    memory = _memory.PeakMemory(300 * MB, 100 * MB, _memory.VMHWM).as_extra_info()
    benchmark, clock = FakeBenchmark(), _bench.ReplayClock()
    _bench.replay(benchmark, clock, [0.5, 0.25], memory, warmup=1)
    assert benchmark.extra_info["peak_rss_bytes"] == 300 * MB
    assert benchmark.extra_info["cuda_max_allocated_bytes"] is None
    partial = {k: v for k, v in memory.items() if k != "peak_rss_bytes"}
    with pytest.raises(ValueError, match="peak_rss_bytes"):
        _bench.replay(FakeBenchmark(), clock, [0.5], partial)


def test_regression_benchmarks_cite_their_upstream_reports():
    """Each bench.regression.* feature names at least one upstream issue or pull request."""
    path = Path(__file__).resolve().parents[1] / "suites" / "bench" / "features.toml"
    features = tomllib.loads(path.read_text())["feature"]
    derived = [f for f in features if f["id"].startswith("bench.regression.")]
    assert len(derived) >= 4
    for feature in derived:
        links = feature.get("upstream", [])
        assert links, f"{path}: {feature['id']} cites no upstream report"
        for link in links:
            parts = urlsplit(link)
            assert https_link(link) and parts.netloc == "github.com", (feature["id"], link)
            assert parts.path.split("/")[3] in ("issues", "pull"), (feature["id"], link)
            assert parts.path.split("/")[4].isdigit(), (feature["id"], link)


class FakeCuda:
    """torch.cuda's memory-statistics surface; `allocated` is what the region allocated."""

    def __init__(self, initialized: bool):
        self.initialized, self.events, self.allocated = initialized, [], 0

    def is_available(self):
        return True

    def is_initialized(self):
        return self.initialized

    def synchronize(self):
        self.events.append("synchronize")

    def reset_peak_memory_stats(self):
        self.events.append("reset")
        self.allocated = 0

    def max_memory_allocated(self):
        return self.allocated


def test_cuda_peak_is_reset_before_and_read_after_the_region(monkeypatch):
    cuda = FakeCuda(initialized=True)
    cuda.allocated = 7 * MB  # an earlier peak that must not count
    monkeypatch.setitem(sys.modules, "torch", type("FakeTorch", (), {"cuda": cuda}))
    with _memory.track() as memory:
        assert cuda.events == ["synchronize", "reset"]
        cuda.allocated = 3 * MB
    assert memory.result.cuda_max_allocated_bytes == 3 * MB
    assert cuda.events[-1] == "synchronize"  # the region's kernels finished before the read


def test_cuda_is_left_alone_where_the_process_never_initialised_it(monkeypatch):
    cuda = FakeCuda(initialized=False)
    monkeypatch.setitem(sys.modules, "torch", type("FakeTorch", (), {"cuda": cuda}))
    with _memory.track() as memory:
        pass
    assert memory.result.cuda_max_allocated_bytes is None and cuda.events == []
