"""Audio baselines on 10 s of 16 kHz audio, one clip and a batch of 16 clips: MFCC,
lowpass_biquad and Spectrogram. Each timed output is first checked against a numpy/scipy
reference (suites/bench/_reference.py)."""
import numpy as np
import pytest

from harness.plugin import require_module
from suites.bench import _reference
from suites.bench._bench import bench, measure

SAMPLE_RATE, SECONDS = 16000, 10
BATCHES = (1, 16)  # both depths: batching is the feature, and both cost about a second
# (rounds, warm-up): a batch-1 call costs ~2 ms of CPU, so many short rounds; batch 16 ~16x.
ROUNDS = {1: (200, 10), 16: (30, 3)}
N_FFT, HOP, N_MELS, N_MFCC = 400, 160, 64, 40  # 25 ms windows, 10 ms hop: the speech setting
CUTOFF = 1000.0
PEAK = 0.3  # keeps the filtered signal inside [-1, 1], where lfilter's clamp is a no-op

# float32 biquad state and coefficients: ~6e-8 relative round-off per step, accumulated over the
# filter's memory (tens of samples at Q=0.707) on a signal of peak 0.3.
LFILTER_ATOL = 2e-5
# float32 FFTs are accurate to ~1e-6 of the largest bin: a bound relative to the peak bin, plus a
# relative bound for strong bins.
SPEC_RTOL, SPEC_ATOL_OF_PEAK = 1e-4, 1e-5
# MFCCs are dB values: float32 round-off near the 80 dB floor is < 0.01 dB after the DCT.
MFCC_ATOL = 1e-2


@pytest.fixture(params=BATCHES, ids=lambda b: f"b{b}")
def batch(request):
    return request.param


@pytest.fixture
def audio(batch):
    """float32 (batch, 1, time): mono clips of harmonic tones with vibrato and a little noise."""
    t = np.arange(SAMPLE_RATE * SECONDS) / SAMPLE_RATE
    clips = []
    for i in range(batch):
        rng = np.random.default_rng(i)
        f0 = 100.0 + 20 * i + 5 * np.sin(2 * np.pi * 5 * t)
        phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
        tone = sum(np.sin(k * phase) / k for k in range(1, 9)) + 0.05 * rng.standard_normal(t.size)
        clips.append(PEAK * tone / np.abs(tone).max())
    return np.stack(clips)[:, None, :].astype(np.float32)


def timed(benchmark, fn, batch):
    rounds, warmup = ROUNDS[batch]
    measure(benchmark, fn, rounds=rounds, warmup=warmup, batch=batch, seconds=SECONDS,
            sample_rate=SAMPLE_RATE)


@bench("audio")
@pytest.mark.feature("bench.audio.mfcc")
def test_mfcc(torch, torchaudio, benchmark, audio, batch):
    """MFCC: HTK mel power in dB (top_db=80 per clip) through an orthonormal DCT-II."""
    mfcc = torchaudio.transforms.MFCC(
        sample_rate=SAMPLE_RATE, n_mfcc=N_MFCC,
        melkwargs=dict(n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS, mel_scale="htk", norm=None))
    x = torch.from_numpy(audio)
    expected = _reference.mfcc(audio, SAMPLE_RATE, N_FFT, HOP, N_MELS, N_MFCC)
    assert np.abs(mfcc(x).numpy() - expected).max() <= MFCC_ATOL
    timed(benchmark, lambda: mfcc(x), batch)


@bench("audio")
@pytest.mark.feature("bench.audio.lowpass_biquad")
def test_lowpass_biquad(torch, torchaudio, benchmark, request, audio, batch):
    """Second-order low-pass at 1 kHz (Q=0.707): the audio-EQ cookbook filter, as scipy runs it."""
    scipy_signal = require_module(request.config, "scipy.signal")
    x = torch.from_numpy(audio)

    def lowpass():
        return torchaudio.functional.lowpass_biquad(x, SAMPLE_RATE, CUTOFF)

    b, a = _reference.lowpass_coefficients(SAMPLE_RATE, CUTOFF)
    expected = scipy_signal.lfilter(b, a, audio.astype(np.float64), axis=-1)
    assert np.abs(lowpass().numpy() - expected).max() <= LFILTER_ATOL
    timed(benchmark, lowpass, batch)


@bench("audio")
@pytest.mark.feature("bench.audio.spectrogram")
def test_spectrogram(torch, torchaudio, benchmark, audio, batch):
    """Power spectrogram: centred reflect-padded frames, periodic Hann window."""
    spectrogram = torchaudio.transforms.Spectrogram(n_fft=N_FFT, hop_length=HOP, power=2.0)
    x = torch.from_numpy(audio)
    expected = _reference.power_spectrogram(audio, N_FFT, HOP)
    actual = spectrogram(x).numpy()
    assert actual.shape == expected.shape
    assert np.allclose(actual, expected, rtol=SPEC_RTOL, atol=SPEC_ATOL_OF_PEAK * expected.max())
    timed(benchmark, lambda: spectrogram(x), batch)
