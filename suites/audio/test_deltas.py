"""compute_deltas / ComputeDeltas (torchaudio 0.4) against the regression formula in numpy.

d_t = sum_{n=1..N} n (c_{t+n} - c_{t-n}) / (2 sum_{n=1..N} n^2), N = (win_length - 1) // 2,
with the edges replicated (HTK's delta definition, also librosa.feature.delta's with mode="nearest").
"""
import numpy as np
import pytest

from harness.measure import Measurement, record
from harness.plugin import require_module
from suites.audio._signals import spectrogram_like

# The same weighted sum in float32 (torchaudio) and float64 (numpy): inputs are in [1, 2], so
# round-off is a few float32 ulps of the largest term.
ATOL = 1e-6


def reference_deltas(spec: np.ndarray, win_length: int) -> np.ndarray:
    n = (win_length - 1) // 2
    padded = np.pad(spec.astype(np.float64), [(0, 0)] * (spec.ndim - 1) + [(n, n)], mode="edge")
    t = spec.shape[-1]
    num = sum(k * (padded[..., n + k:n + k + t] - padded[..., n - k:n - k + t]) for k in range(1, n + 1))
    return num / (2 * sum(k * k for k in range(1, n + 1)))


@pytest.mark.feature("audio.transforms.deltas")
@pytest.mark.parametrize("win_length", [3, 5, 9])
def test_compute_deltas_matches_regression_formula(torch, torchaudio, request, win_length):
    """Functional and transform agree with the formula, edges replicated, any leading dims."""
    spec = spectrogram_like((2, 20, 50), seed=6)
    expected = reference_deltas(spec, win_length)
    functional = torchaudio.functional.compute_deltas(torch.from_numpy(spec), win_length=win_length)
    module = torchaudio.transforms.ComputeDeltas(win_length=win_length)(torch.from_numpy(spec))
    for how, actual in (("functional", functional), ("transform", module)):
        assert actual.shape == spec.shape
        worst = float(np.abs(actual.numpy() - expected).max())
        record(request, Measurement(f"{how} vs formula", "max_abs", worst, ATOL, max_abs=worst))
        assert worst <= ATOL, f"max |difference| {worst:.3g}"


@pytest.mark.feature("audio.transforms.deltas")
def test_compute_deltas_matches_librosa_delta(torch, torchaudio, request):
    """librosa's Savitzky-Golay first derivative with mode='nearest' is the same estimator."""
    librosa = require_module(request.config, "librosa")
    spec = spectrogram_like((13, 40), seed=7)
    expected = librosa.feature.delta(spec.astype(np.float64), width=5, order=1, mode="nearest")
    actual = torchaudio.functional.compute_deltas(torch.from_numpy(spec), win_length=5).numpy()
    worst = float(np.abs(actual - expected).max())
    record(request, Measurement("vs librosa.feature.delta", "max_abs", worst, ATOL, max_abs=worst))
    assert worst <= ATOL, f"max |difference| {worst:.3g}"
