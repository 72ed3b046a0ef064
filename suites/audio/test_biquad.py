"""Biquad filters and lfilter (torchaudio 0.4) against scipy.signal.lfilter.

The reference coefficients come from the audio-EQ cookbook (R. Bristow-Johnson,
https://www.w3.org/TR/audio-eq-cookbook/), computed here in numpy, and are applied with
scipy.signal.lfilter in float64. torchaudio filters float32 and float64 input.
"""
import math

import numpy as np
import pytest

from harness.measure import Measurement, record
from harness.plugin import require_module
from suites.audio._signals import voice_like

SAMPLE_RATE = 16000
# float64: the same difference equation in the same order, so only round-off of ~1e-16 per
# step, amplified by the poles' ringing (|pole| < 0.99 here): 1e-9 leaves a wide margin.
ATOL = {"float64": 1e-9,
        # float32 coefficients and state: ~6e-8 relative round-off per step, accumulated over
        # the filter's memory (~100 samples for the narrowest band here) on a signal of peak 0.3.
        "float32": 2e-5}
PEAK = 0.3  # keeps every output inside [-1, 1], where lfilter's default clamp is a no-op


def cookbook(kind: str, f0: float, q: float, gain_db: float = 0.0, const_skirt_gain: bool = False):
    """(b, a) of the audio-EQ cookbook filter `kind`, normalised so a[0] == 1."""
    w0 = 2 * math.pi * f0 / SAMPLE_RATE
    cos_w0, alpha = math.cos(w0), math.sin(w0) / (2 * q)
    if kind == "lowpass":
        b = [(1 - cos_w0) / 2, 1 - cos_w0, (1 - cos_w0) / 2]
        a = [1 + alpha, -2 * cos_w0, 1 - alpha]
    elif kind == "highpass":
        b = [(1 + cos_w0) / 2, -(1 + cos_w0), (1 + cos_w0) / 2]
        a = [1 + alpha, -2 * cos_w0, 1 - alpha]
    elif kind == "bandpass":  # constant skirt gain (peak gain = Q) or constant 0 dB peak gain
        peak = math.sin(w0) / 2 if const_skirt_gain else alpha
        b = [peak, 0.0, -peak]
        a = [1 + alpha, -2 * cos_w0, 1 - alpha]
    elif kind == "peaking":
        amp = 10 ** (gain_db / 40)
        b = [1 + alpha * amp, -2 * cos_w0, 1 - alpha * amp]
        a = [1 + alpha / amp, -2 * cos_w0, 1 - alpha / amp]
    else:
        raise ValueError(kind)
    return np.array(b) / a[0], np.array(a) / a[0]


# (id, torchaudio call, cookbook arguments)
FILTERS = [
    ("lowpass", lambda F, x: F.lowpass_biquad(x, SAMPLE_RATE, 1000.0, 0.707), ("lowpass", 1000.0, 0.707)),
    ("highpass", lambda F, x: F.highpass_biquad(x, SAMPLE_RATE, 300.0, 1.2), ("highpass", 300.0, 1.2)),
    ("bandpass", lambda F, x: F.bandpass_biquad(x, SAMPLE_RATE, 2000.0, 4.0), ("bandpass", 2000.0, 4.0)),
    ("bandpass_skirt", lambda F, x: F.bandpass_biquad(x, SAMPLE_RATE, 2000.0, 2.0, const_skirt_gain=True),
     ("bandpass", 2000.0, 2.0, 0.0, True)),
    ("equalizer_boost", lambda F, x: F.equalizer_biquad(x, SAMPLE_RATE, 1500.0, 6.0, 1.0),
     ("peaking", 1500.0, 1.0, 6.0)),
    ("equalizer_cut", lambda F, x: F.equalizer_biquad(x, SAMPLE_RATE, 500.0, -9.0, 0.5),
     ("peaking", 500.0, 0.5, -9.0)),
]


@pytest.fixture(scope="module")
def signal():
    return voice_like(SAMPLE_RATE, 0.5, channels=2, seed=2, peak=PEAK).astype(np.float64)


def compare(torch, request, name, actual, expected, dtype):
    actual = actual.to(torch.float64).numpy()
    assert actual.shape == expected.shape
    worst = float(np.abs(actual - expected).max())
    record(request, Measurement(f"{name} vs scipy ({dtype})", "max_abs", worst, ATOL[dtype], max_abs=worst))
    assert worst <= ATOL[dtype], f"max |difference| {worst:.3g} > {ATOL[dtype]:g} ({dtype})"


@pytest.mark.feature("audio.transforms.biquad")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,call,design", FILTERS, ids=[f[0] for f in FILTERS])
def test_biquad_filters_match_cookbook_through_scipy(torch, torchaudio, request, signal, dtype,
                                                     name, call, design):
    """Each *_biquad designs the cookbook filter and applies it like scipy.signal.lfilter."""
    scipy_signal = require_module(request.config, "scipy.signal")
    b, a = cookbook(*design)
    expected = scipy_signal.lfilter(b, a, signal, axis=-1)
    x = torch.from_numpy(signal).to(getattr(torch, dtype))
    compare(torch, request, name, call(torchaudio.functional, x), expected, dtype)


@pytest.mark.feature("audio.transforms.biquad")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_biquad_with_raw_coefficients_matches_scipy(torch, torchaudio, request, signal, dtype):
    """biquad(b0, b1, b2, a0, a1, a2) normalises by a0 like scipy does."""
    scipy_signal = require_module(request.config, "scipy.signal")
    b, a = cookbook("peaking", 800.0, 2.0, 4.0)
    scale = 3.0  # un-normalised coefficients: both sides multiplied by the same a0
    x = torch.from_numpy(signal).to(getattr(torch, dtype))
    actual = torchaudio.functional.biquad(x, *(scale * b), *(scale * a))
    compare(torch, request, "biquad", actual, scipy_signal.lfilter(b, a, signal, axis=-1), dtype)


@pytest.mark.feature("audio.transforms.biquad")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_lfilter_higher_order_matches_scipy(torch, torchaudio, request, signal, dtype):
    """A 4th-order Butterworth band-pass (scipy's design) through lfilter, clamp off."""
    scipy_signal = require_module(request.config, "scipy.signal")
    b, a = scipy_signal.butter(2, [300.0, 3000.0], btype="bandpass", fs=SAMPLE_RATE)
    t = getattr(torch, dtype)
    x = torch.from_numpy(signal).to(t)
    actual = torchaudio.functional.lfilter(x, torch.tensor(a, dtype=t), torch.tensor(b, dtype=t),
                                           clamp=False)
    compare(torch, request, "lfilter butterworth", actual, scipy_signal.lfilter(b, a, signal, axis=-1), dtype)
