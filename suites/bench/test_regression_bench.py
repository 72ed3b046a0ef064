"""Benchmarks derived from real slowdowns (suites/bench/features.toml cites each upstream report).

Each reproduces the reported operation on seeded random inputs, scaled down so that its warm-up
and rounds cost well under a second of CPU on a fast release (a few seconds on the slow one), and
checks the timed output against an independent numpy reference first: a fast wrong answer is a
failure, not a speed-up."""
from itertools import pairwise

import numpy as np
import pytest

from suites.bench._bench import bench, measure

# conv_transpose1d as in pytorch/pytorch#133304: 1026 input channels (2 x 513 bins of n_fft 1024, an
# iSTFT written as a transposed convolution), one output channel, kernel 1024, stride 256 (the hop).
CONVT_CHANNELS, CONVT_KERNEL, CONVT_STRIDE = 1026, 1024, 256
# Every call gets a length no earlier call had, as in the report (the regression hides behind
# any cache of per-shape primitives), while every round does the same work: round r runs lengths
# CONVT_SHORT + r and CONVT_LONG - r, whose sum is constant. The two ranges stay disjoint for
# warm-up + rounds < (CONVT_LONG - CONVT_SHORT) / 2 calls. torch 2.3 on one thread: ~0.25 s a round.
CONVT_SHORT, CONVT_LONG = 10, 50
CONVT_ROUNDS, CONVT_WARMUP = 10, 2
# float32 sums of 1026 x 4 products of N(0,1) x N(0,1)/32 terms against a float64 reference.
CONVT_ATOL = 1e-3

# float16 matmul, the report's 2048x2048 scaled down: ~13 ms of CPU per call here (no AVX512-FP16
# or AMX, where the regressed oneDNN took the reference path); at the report's reference-kernel
# rate (~1 GFLOP/s: 2048^3 x 2 in 17 s) a call would take ~35 ms.
MM_SIZE, MM_ROUNDS, MM_WARMUP = 256, 30, 3
# float16 output (11-bit mantissa) of 256-term dot products of N(0,1) values (|y| ~ 16): half
# an ulp at 16 is 2**-7; accumulation order adds a few more.
MM_ATOL = 0.1

# operator_benchmark's shapes in pytorch/pytorch#189281: a 2300x64 table, 8 indices per call.
EMB_ROWS, EMB_DIM, EMB_INDICES, EMB_CALLS = 2300, 64, 8, 200  # a round: 0.4-0.7 ms of CPU
EMB_OFFSETS = (0, 3, 5)  # three bags of 3, 2 and 3 indices
EMB_ROUNDS, EMB_WARMUP = 100, 10

# torch.istft as in pytorch/pytorch#42213: n_fft 2^15, a handful of frames.
ISTFT_NFFT, ISTFT_FRAMES = 2 ** 15, 14
ISTFT_HOP = ISTFT_NFFT // 4
ISTFT_ROUNDS, ISTFT_WARMUP = 50, 5  # ~2 ms of CPU per call
ISTFT_ATOL = 1e-4  # float32 FFT round trip of a N(0,1) signal


def convt_reference(x: np.ndarray, w: np.ndarray, stride: int) -> np.ndarray:
    """conv_transpose1d for one batch item and one output channel, float64: x (C, L), w (C, 1, K)
    -> (1, (L - 1) * stride + K); input step i adds x[:, i] @ w[:, 0, :] at i * stride."""
    channels, length = x.shape
    kernel = w.shape[-1]
    out = np.zeros((length - 1) * stride + kernel)
    taps = w[:, 0, :].astype(np.float64)
    for i in range(length):
        out[i * stride:i * stride + kernel] += x[:, i].astype(np.float64) @ taps
    return out[None, :]


@bench("regression")
@pytest.mark.feature("bench.regression.conv_transpose1d_varying")
def test_conv_transpose1d_varying_shapes(torch, benchmark):
    """Two calls a round, each on an input length never seen before in this process."""
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(CONVT_CHANNELS, 1, CONVT_KERNEL, generator=generator) / 32
    calls = CONVT_ROUNDS + CONVT_WARMUP + 1  # + 1: the reference check below
    assert calls < (CONVT_LONG - CONVT_SHORT) / 2, "short and long lengths would repeat"
    pairs = [(torch.randn(1, CONVT_CHANNELS, CONVT_SHORT + r, generator=generator),
              torch.randn(1, CONVT_CHANNELS, CONVT_LONG - r, generator=generator))
             for r in range(calls)]
    remaining = iter(pairs)
    conv = torch.nn.functional.conv_transpose1d

    def varying():
        short, long = next(remaining)
        return conv(short, weight, stride=CONVT_STRIDE), conv(long, weight, stride=CONVT_STRIDE)

    for x, y in zip(pairs[0], varying(), strict=True):
        expected = convt_reference(x[0].numpy(), weight.numpy(), CONVT_STRIDE)
        assert y.shape == (1, 1, expected.shape[-1])
        assert np.abs(y[0].numpy() - expected).max() <= CONVT_ATOL
    measure(benchmark, varying, rounds=CONVT_ROUNDS, warmup=CONVT_WARMUP,
            lengths=f"{CONVT_SHORT}+r,{CONVT_LONG}-r", channels=CONVT_CHANNELS,
            kernel=CONVT_KERNEL, stride=CONVT_STRIDE)


@bench("regression")
@pytest.mark.feature("bench.regression.matmul_fp16_cpu")
def test_matmul_fp16_cpu(torch, benchmark):
    """a @ b in float16 on the CPU, checked against float64 products of the same float16 values."""
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(MM_SIZE, MM_SIZE, generator=generator).half()
    b = torch.randn(MM_SIZE, MM_SIZE, generator=generator).half()
    actual = (a @ b).float().numpy()
    expected = a.double().numpy() @ b.double().numpy()
    assert np.abs(actual - expected).max() <= MM_ATOL
    measure(benchmark, lambda: a @ b, rounds=MM_ROUNDS, warmup=MM_WARMUP, size=MM_SIZE,
            dtype="float16")


@pytest.fixture(params=("embedding", "embedding_bag"))
def embedding_op(request):
    return request.param


@bench("regression")
@pytest.mark.feature("bench.regression.embedding_small_calls")
def test_embedding_small_calls(torch, benchmark, embedding_op):
    """EMB_CALLS calls a round of F.embedding, or of F.embedding_bag(mode="sum") over 3 bags."""
    generator = torch.Generator().manual_seed(0)
    table = torch.randn(EMB_ROWS, EMB_DIM, generator=generator)
    indices = torch.randint(0, EMB_ROWS, (EMB_INDICES,), generator=generator)
    offsets = torch.tensor(EMB_OFFSETS)
    functional = torch.nn.functional
    rows = table.numpy()[indices.numpy()]
    if embedding_op == "embedding":
        def call():
            return functional.embedding(indices, table)
        expected = rows
    else:
        def call():
            return functional.embedding_bag(indices, table, offsets, mode="sum")
        bounds = list(EMB_OFFSETS) + [EMB_INDICES]
        expected = np.stack([rows[lo:hi].sum(axis=0) for lo, hi in pairwise(bounds)])
    assert np.allclose(call().numpy(), expected, rtol=1e-6, atol=1e-6)

    def calls():
        for _ in range(EMB_CALLS):
            call()

    measure(benchmark, calls, rounds=EMB_ROUNDS, warmup=EMB_WARMUP, op=embedding_op,
            calls_per_round=EMB_CALLS, table=[EMB_ROWS, EMB_DIM], indices=EMB_INDICES)


@bench("regression")
@pytest.mark.feature("bench.regression.istft_large_nfft")
def test_istft_large_nfft(torch, benchmark):
    """istft of the stft of a N(0,1) signal: the round trip returns the signal."""
    generator = torch.Generator().manual_seed(0)
    length = ISTFT_NFFT + (ISTFT_FRAMES - 5) * ISTFT_HOP  # centred frames: length / hop + 1
    signal = torch.randn(length, generator=generator)
    window = torch.hann_window(ISTFT_NFFT)
    spec = torch.stft(signal, ISTFT_NFFT, ISTFT_HOP, window=window, return_complex=True)
    assert spec.shape == (ISTFT_NFFT // 2 + 1, ISTFT_FRAMES)

    def inverse():
        return torch.istft(spec, ISTFT_NFFT, ISTFT_HOP, window=window, length=length)

    assert np.abs(inverse().numpy() - signal.numpy()).max() <= ISTFT_ATOL
    measure(benchmark, inverse, rounds=ISTFT_ROUNDS, warmup=ISTFT_WARMUP, n_fft=ISTFT_NFFT,
            frames=ISTFT_FRAMES, hop=ISTFT_HOP)
