"""Peak resident memory of this process over a region of code, measured by the kernel.

On Linux the kernel keeps the process's resident high-water mark (VmHWM in /proc/self/status);
writing "5" to /proc/self/clear_refs resets it to the current resident size (Linux 4.0+,
Documentation/filesystems/proc.rst, "clear_refs"). `track()` resets it on entry and reads it on
exit, so the peak is exact (every page the kernel mapped counts, whoever allocated it: torch's
allocator, oneDNN scratch pads, glibc, Python) and costs nothing while the region runs.

Where the mark cannot be reset (not Linux, or a kernel that refuses the write), a psutil thread
samples the resident size every SAMPLE_INTERVAL_S: a lower bound that misses peaks shorter than
the interval, and its few wake-ups add a little CPU time to the region; `method` says which one
measured.

On CUDA, when the region's process has initialised CUDA (torch imported and `torch.cuda`
initialised, which this module never triggers), `torch.cuda.reset_peak_memory_stats()` and
`torch.cuda.max_memory_allocated()` bracket the same region (bytes held by torch's caching
allocator, not the driver's total).

This module imports no torch: it runs in the benchmark workers (suites/bench/_rpc_roundtrip.py)
and in the harness's unit tests alike.
"""
from __future__ import annotations

import contextlib
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")
RESET_HWM = "5"  # clear_refs: "reset the peak resident set size ("high water mark") to the current value"
SAMPLE_INTERVAL_S = 0.005
VMHWM, SAMPLED = "VmHWM", "psutil-sampled"


@dataclass(frozen=True)
class PeakMemory:
    """Memory of one measured region. Bytes throughout.

    peak_rss_bytes: the process's highest resident size during the region (includes what was
    resident before it); rss_before_bytes: the resident size when the region began;
    method: "VmHWM" (kernel high-water mark, exact) or "psutil-sampled" (lower bound);
    cuda_max_allocated_bytes: torch.cuda.max_memory_allocated() over the region, None where the
    process did not use CUDA.
    """

    peak_rss_bytes: int
    rss_before_bytes: int
    method: str
    cuda_max_allocated_bytes: int | None = None

    def as_extra_info(self) -> dict:
        """The benchmark.json `extra_info` fields that carry this record."""
        return {"peak_rss_bytes": self.peak_rss_bytes, "rss_before_bytes": self.rss_before_bytes,
                "peak_rss_method": self.method,
                "cuda_max_allocated_bytes": self.cuda_max_allocated_bytes}


def status_bytes(field: str, status: Path = STATUS) -> int:
    """A `kB` field of /proc/<pid>/status (VmHWM, VmRSS), in bytes. KeyError when absent."""
    for line in status.read_text().splitlines():
        name, _, value = line.partition(":")
        if name == field:
            number, unit = value.split()
            assert unit == "kB", f"{status}: {field} in {unit!r}, expected kB"
            return int(number) * 1024
    raise KeyError(f"{status} has no {field} line")


def reset_high_water_mark() -> bool:
    """Reset this process's VmHWM to its current resident size; False where the kernel cannot."""
    try:
        CLEAR_REFS.write_text(RESET_HWM)
        return status_bytes("VmHWM") <= status_bytes("VmRSS") + 64 * 1024
    except (OSError, KeyError, ValueError):
        return False


def _current_rss() -> int:
    try:
        return status_bytes("VmRSS")
    except (OSError, KeyError, ValueError):
        import psutil

        return psutil.Process().memory_info().rss


class _Sampler(threading.Thread):
    """Polls the resident size with psutil until stopped; `peak` is the largest value seen."""

    def __init__(self) -> None:
        super().__init__(name="peak-rss-sampler", daemon=True)
        import psutil

        self._process = psutil.Process()
        self._done = threading.Event()
        self.peak = self._process.memory_info().rss

    def run(self) -> None:
        while not self._done.wait(SAMPLE_INTERVAL_S):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def stop(self) -> int:
        self._done.set()
        self.join()
        return max(self.peak, self._process.memory_info().rss)


def _cuda():
    """torch.cuda where this process has already initialised CUDA, else None (never initialises)."""
    torch = sys.modules.get("torch")
    cuda = getattr(torch, "cuda", None)
    if cuda is None or not cuda.is_available() or not cuda.is_initialized():
        return None
    return cuda


class Tracker:
    """Holds the region's PeakMemory once `track()`'s block has ended (`result`)."""

    result: PeakMemory | None = None


@contextlib.contextmanager
def track(*, force_sampling: bool = False):
    """Measure the peak resident memory of this process over the `with` block.

    Yields a Tracker whose `result` (PeakMemory) is set when the block ends, also when it raises.
    `force_sampling` uses the psutil fallback even where VmHWM can be reset (for tests).
    """
    tracker = Tracker()
    cuda = _cuda()
    if cuda is not None:
        cuda.synchronize()
        cuda.reset_peak_memory_stats()
    before = _current_rss()
    exact = not force_sampling and reset_high_water_mark()
    sampler = None if exact else _Sampler()
    if sampler is not None:
        sampler.start()
    try:
        yield tracker
    finally:
        peak = status_bytes("VmHWM") if exact else sampler.stop()
        cuda_peak = None
        cuda = cuda or _cuda()  # the block may have been the first to use CUDA
        if cuda is not None:
            cuda.synchronize()
            cuda_peak = int(cuda.max_memory_allocated())
        tracker.result = PeakMemory(peak, before, VMHWM if exact else SAMPLED, cuda_peak)
