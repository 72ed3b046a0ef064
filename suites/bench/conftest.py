"""Benchmark setup: one intra-op thread (restored afterwards, so other suites keep theirs) and a
fixed glibc allocator policy for the process."""
import ctypes
import ctypes.util

import pytest

# glibc serves large blocks with mmap above a threshold that moves with the allocation history,
# and returns freed heap to the OS: the same code then runs with or without page faults from one
# process to the next (MFCC of 16 clips: 34 or 67 ms of CPU, measured here). The maximum fixed
# threshold (32 MB on 64-bit) and no trimming make every process reuse its heap instead.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD, TRIM_THRESHOLD = 32 * 1024 * 1024, 1 << 30


@pytest.fixture(scope="session", autouse=True)
def steady_allocator():
    """mallopt where the C library is glibc; elsewhere the allocator is left as it is."""
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    if libc is not None and hasattr(libc, "mallopt"):
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)


@pytest.fixture(autouse=True)
def one_thread(torch):
    """A fixed thread count makes rounds comparable across rows and machines with 2+ cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
