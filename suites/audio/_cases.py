"""Every transform the audio suite checks, as one call each, for the batching and TorchScript checks.

`build(torchaudio)` returns what gets scripted: an nn.Module transform or a functional; `args(torch)`
the arguments after the input. `random` says how to replay a random transform: "seed" (one draw
per call, so re-seeding before each call replays it) or "fold" (independent noise per sample, so a
batch is compared with the same call on the batch folded into channels). Every case takes well
under a second, so every depth runs them all.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from harness.measure import compare, record
from suites.audio._signals import spectrogram_like, voice_like

SAMPLE_RATE = 16000
MEL = dict(sample_rate=SAMPLE_RATE, n_fft=256, hop_length=64, n_mels=32)


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Any], Callable]
    args: Callable[[Any], tuple] = field(default=lambda torch: ())
    input: str = "waveform"  # or "spectrogram"
    random: str | None = None  # None, "seed" or "fold"


CASES = [
    Case("spectrogram", lambda ta: ta.transforms.Spectrogram(n_fft=256, hop_length=64)),
    Case("melspectrogram", lambda ta: ta.transforms.MelSpectrogram(**MEL)),
    Case("mfcc", lambda ta: ta.transforms.MFCC(
        sample_rate=SAMPLE_RATE, n_mfcc=13, melkwargs={k: v for k, v in MEL.items() if k != "sample_rate"})),
    Case("biquad", lambda ta: ta.functional.biquad, lambda torch: (0.2, 0.3, 0.1, 1.0, -0.6, 0.2)),
    Case("lowpass_biquad", lambda ta: ta.functional.lowpass_biquad,
         lambda torch: (SAMPLE_RATE, 1000.0, 0.707)),
    Case("highpass_biquad", lambda ta: ta.functional.highpass_biquad,
         lambda torch: (SAMPLE_RATE, 300.0, 0.707)),
    Case("bandpass_biquad", lambda ta: ta.functional.bandpass_biquad,
         lambda torch: (SAMPLE_RATE, 2000.0, 2.0)),
    Case("equalizer_biquad", lambda ta: ta.functional.equalizer_biquad,
         lambda torch: (SAMPLE_RATE, 1500.0, 6.0, 1.0)),
    Case("lfilter", lambda ta: ta.functional.lfilter,
         lambda torch: (torch.tensor([1.0, -1.2, 0.5]), torch.tensor([0.1, 0.2, 0.1]))),
    Case("time_masking", lambda ta: ta.transforms.TimeMasking(30), input="spectrogram", random="seed"),
    Case("frequency_masking", lambda ta: ta.transforms.FrequencyMasking(12),
         input="spectrogram", random="seed"),
    Case("vol_amplitude", lambda ta: ta.transforms.Vol(1.5, "amplitude")),
    Case("vol_power", lambda ta: ta.transforms.Vol(0.5, "power")),
    Case("vol_db", lambda ta: ta.transforms.Vol(-3.0, "db")),
    Case("gain", lambda ta: ta.functional.gain, lambda torch: (-6.0,)),
    Case("dither_tpdf", lambda ta: ta.functional.dither, lambda torch: ("TPDF", False), random="fold"),
    Case("dither_rpdf", lambda ta: ta.functional.dither, lambda torch: ("RPDF", False), random="fold"),
    Case("dither_gpdf", lambda ta: ta.functional.dither, lambda torch: ("GPDF", False), random="fold"),
    Case("dither_noise_shaping", lambda ta: ta.functional.dither, lambda torch: ("TPDF", True),
         random="fold"),
    Case("compute_deltas", lambda ta: ta.transforms.ComputeDeltas(win_length=5), input="spectrogram"),
]


def call(torch, fn, case: Case, x, seed: int = 0):
    """fn(x, *args) on a copy of x (a transform that writes into its input must not change the
    next call's input), seeded first so random transforms replay."""
    torch.manual_seed(seed)
    return fn(x.clone(), *case.args(torch))


# Same float32 kernels on the same data; batched FFT/matmul/conv may only block sums differently.
RTOL, ATOL_OF_PEAK = 1e-5, 1e-6


def batch_for(torch, case: Case):
    """A batch of 3 items x 2 channels; waveform items differ in loudness (peaks 0.5, 0.05, 0.005)."""
    if case.input == "spectrogram":
        return torch.from_numpy(spectrogram_like((3, 2, 40, 100), seed=12))
    items = [voice_like(SAMPLE_RATE, 0.5, channels=2, seed=13 + i, peak=peak)
             for i, peak in enumerate((0.5, 0.05, 0.005))]
    return torch.from_numpy(np.stack(items))


def assert_close(torch, request, name: str, actual, expected):
    """torch.testing.assert_close at RTOL and ATOL_OF_PEAK of the reference's peak, its measured
    error recorded first (harness.measure) so a pass shows its headroom and a fail its size."""
    assert actual.shape == expected.shape, f"{tuple(actual.shape)} != {tuple(expected.shape)}"
    atol = ATOL_OF_PEAK * float(expected.abs().max())
    record(request, compare(name, actual.detach().numpy(), expected.detach().numpy(), rtol=RTOL, atol=atol))
    torch.testing.assert_close(actual, expected, rtol=RTOL, atol=atol)
