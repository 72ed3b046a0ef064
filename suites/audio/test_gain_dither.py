"""Vol, gain and dither (torchaudio 0.4).

Vol and gain are checked against the closed form in numpy. Dither is checked against what a
dither is (Lipshitz, Wannamaker & Vanderkooy, "Quantization and dither: a theoretical survey",
JAES 1992): before rounding to the 16-bit grid, independent noise of the chosen density is added
to every sample, rectangular (RPDF) on [-1/2, 1/2] LSB, triangular (TPDF, the sum of two RPDF)
on [-1, 1] LSB, or Gaussian (GPDF); noise shaping feeds the previous sample's quantisation error
back so that the error spectrum rises with frequency.
"""
import math

import numpy as np
import pytest

from harness.measure import compare, record
from harness.plugin import require_module
from suites.audio._signals import voice_like

LSB = 2.0 ** -15  # dither quantises to 16 bits
SAMPLE_RATE = 16000
# Vol/gain: one float32 multiply by the gain rounded to float32, so at most one ulp from numpy's
# float64 product rounded to float32 (power gains go through 10**(10*log10(g)/20) ~ sqrt(g)).
GAIN_RTOL = 2.0 ** -23
# Bound on |output - input| in LSB: the noise's support plus 1/2 LSB of rounding. GPDF noise is
# unbounded, so only its distribution is checked.
NOISE_BOUND = {"RPDF": 0.5 + 0.5, "TPDF": 1.0 + 0.5}
# The release quantises x * (2^15 - 2) / 2^15 to leave headroom for the noise; at |x| <= PEAK
# that moves the output by at most 2 * PEAK LSB, allowed on top of the bound.
PEAK = 0.01
# Statistical checks use fixed seeds, so they are deterministic; the p-value threshold only says
# how unlikely a correct implementation is to fail with an unlucky seed.
P_MIN = 1e-3


def density_cdf(density: str, sigma: float = 0.0):
    """CDF of the dither noise, in LSB."""
    if density == "RPDF":
        return lambda z: np.clip(z + 0.5, 0.0, 1.0)
    if density == "TPDF":
        return lambda z: np.where(z < 0, np.clip(z + 1, 0, 1) ** 2 / 2, 1 - np.clip(1 - z, 0, 1) ** 2 / 2)
    return np.vectorize(lambda z: 0.5 * (1 + math.erf(z / (sigma * math.sqrt(2)))))


def dither(torch, torchaudio, x: np.ndarray, density: str, noise_shaping: bool = False, seed: int = 0):
    torch.manual_seed(seed)
    return torchaudio.functional.dither(torch.from_numpy(x.copy()), density, noise_shaping).numpy()


def band_power_ratio(scipy_signal, error: np.ndarray) -> float:
    """Mean PSD of `error` in the top quarter of the band over that in the bottom quarter."""
    _, psd = scipy_signal.welch(error, nperseg=256, axis=-1)
    psd = psd.reshape(-1, psd.shape[-1]).mean(axis=0)
    quarter = psd.size // 4
    return float(psd[-quarter:].mean() / psd[1:quarter + 1].mean())


@pytest.mark.feature("audio.transforms.gain_dither")
@pytest.mark.parametrize("gain_type,gain,linear", [
    ("amplitude", 0.5, 0.5), ("amplitude", 3.0, 3.0),
    ("power", 0.25, 0.5), ("power", 4.0, 2.0),
    ("db", -6.0, 10 ** (-6.0 / 20)), ("db", 10.0, 10 ** (10.0 / 20)),
])
def test_vol_scales_then_clamps(torch, torchaudio, request, gain_type, gain, linear):
    """Vol multiplies by the amplitude ratio the gain type defines, then clamps to [-1, 1]."""
    x = voice_like(SAMPLE_RATE, 0.25, channels=2, seed=8)
    expected = np.clip(x * np.float32(linear), -1, 1)
    actual = torchaudio.transforms.Vol(gain, gain_type)(torch.from_numpy(x)).numpy()
    record(request, compare(f"Vol({gain}, {gain_type}) vs closed form", actual, expected, rtol=GAIN_RTOL, atol=0))
    np.testing.assert_allclose(actual, expected, rtol=GAIN_RTOL, atol=0)


@pytest.mark.feature("audio.transforms.gain_dither")
@pytest.mark.parametrize("gain_db", [-20.0, 0.0, 3.5])
def test_gain_multiplies_by_ten_to_the_db_over_twenty(torch, torchaudio, request, gain_db):
    """functional.gain: x * 10^(dB/20), no clamping."""
    x = voice_like(SAMPLE_RATE, 0.25, seed=9)
    expected = x * np.float32(10 ** (gain_db / 20))
    actual = torchaudio.functional.gain(torch.from_numpy(x), gain_db).numpy()
    record(request, compare(f"gain({gain_db} dB) vs closed form", actual, expected, rtol=GAIN_RTOL, atol=0))
    np.testing.assert_allclose(actual, expected, rtol=GAIN_RTOL, atol=0)


@pytest.mark.feature("audio.transforms.gain_dither")
@pytest.mark.parametrize("noise_shaping", [False, True])
@pytest.mark.parametrize("density", ["TPDF", "RPDF", "GPDF"])
def test_dither_leaves_its_input_unchanged(torch, torchaudio, density, noise_shaping):
    """A functional returns a new tensor; the caller's waveform keeps its samples."""
    x = voice_like(SAMPLE_RATE, 0.25, channels=2, seed=12, peak=PEAK)
    tensor = torch.from_numpy(x.copy())
    torch.manual_seed(0)
    torchaudio.functional.dither(tensor, density, noise_shaping)
    changed = int((tensor.numpy() != x).sum())
    assert changed == 0, f"dither({density!r}) changed {changed} samples of its input"


@pytest.mark.feature("audio.transforms.gain_dither")
@pytest.mark.parametrize("density", ["TPDF", "RPDF", "GPDF"])
def test_dither_lands_on_the_16_bit_grid_within_the_noise_bound(torch, torchaudio, density):
    """Output is a multiple of 2^-15, at most the noise's support plus 1/2 LSB from the input."""
    x = voice_like(SAMPLE_RATE, 1.0, channels=2, seed=10, peak=PEAK)
    levels = dither(torch, torchaudio, x, density) / LSB
    assert np.array_equal(levels, np.round(levels)), "dithered samples are not on the 16-bit grid"
    if density in NOISE_BOUND:
        worst = np.abs(levels - x / LSB).max()
        assert worst <= NOISE_BOUND[density] + 2 * PEAK, f"|output - input| reaches {worst:.3f} LSB"


@pytest.mark.feature("audio.transforms.gain_dither")
@pytest.mark.parametrize("density", ["TPDF", "RPDF", "GPDF"])
def test_dither_noise_has_the_density_and_is_white(torch, torchaudio, request, density):
    """Constant input 1/4 LSB above a grid level: output levels follow the density; error is white."""
    stats = require_module(request.config, "scipy.stats")
    scipy_signal = require_module(request.config, "scipy.signal")
    offset, n = 0.25, 48000
    x = np.full((2, n), offset * LSB, dtype=np.float32)
    levels = dither(torch, torchaudio, x, density) / LSB
    sigma = 0.0
    if density == "GPDF":  # the release does not document sigma: estimate it (variance = sigma^2 + 1/12)
        noise_var = levels.var() - 1 / 12
        assert noise_var > 0, f"GPDF output variance {levels.var():.4f} LSB^2: no Gaussian noise added"
        sigma = math.sqrt(noise_var)
    cdf = density_cdf(density, sigma)
    values = np.arange(np.floor(levels.min()) - 1, np.ceil(levels.max()) + 2)
    expected = (cdf(values + 0.5 - offset) - cdf(values - 0.5 - offset)) * levels.size
    observed = np.array([(levels == v).sum() for v in values])
    keep = expected >= 5  # chi-square needs expected counts >= 5: pool the tails into the edge bins
    assert observed[~keep].sum() <= max(expected[~keep].sum() * 10, 10), (
        f"{density}: levels {values[~keep & (observed > 0)]} occur far more than the density allows")
    exp_kept = expected[keep] * observed[keep].sum() / expected[keep].sum()
    p = stats.chisquare(observed[keep], exp_kept, ddof=1 if density == "GPDF" else 0).pvalue
    shares = {int(v): round(float(o) / levels.size, 4) for v, o in zip(values, observed, strict=True) if o}
    assert p >= P_MIN, f"{density}: output level shares {shares} do not follow the density (p={p:.2g})"
    # White noise: equal power in the lowest and highest quarter of the band (Welch estimate
    # over ~370 segments: a few percent spread).
    ratio = band_power_ratio(scipy_signal, levels - offset)
    assert 2 / 3 <= ratio <= 3 / 2, f"{density}: error spectrum high/low band power ratio {ratio:.3g}"


@pytest.mark.feature("audio.transforms.gain_dither")
def test_dither_noise_shaping_moves_the_error_to_high_frequencies(torch, torchaudio, request):
    """First-order error feedback, (1 - z^-1) on the error, puts ~19x more power at the top quarter."""
    scipy_signal = require_module(request.config, "scipy.signal")
    x = voice_like(SAMPLE_RATE, 3.0, channels=2, seed=11, peak=PEAK)
    levels = dither(torch, torchaudio, x, "TPDF", noise_shaping=True) / LSB
    assert np.array_equal(levels, np.round(levels)), "noise-shaped samples are not on the 16-bit grid"
    ratio = band_power_ratio(scipy_signal, levels - x / LSB)
    # Any high-pass error shaping gives a ratio well above the flat 1; (1 - z^-1) gives ~19.
    assert ratio >= 4, f"error spectrum high/low band power ratio {ratio:.3g}: not shaped upwards"
