"""Spectrogram, MelSpectrogram and MFCC (torchaudio 0.4) against librosa, the reference implementation.

librosa is configured to compute the same thing: centred frames with reflect padding, a periodic
Hann window, power spectra, the same mel scale and filter normalisation, `power_to_db` with
`ref=1`, `amin=1e-10`, `top_db=80` (torchaudio's MFCC defaults), and an orthonormal DCT-II.
librosa runs in float64 on the same float32 samples; torchaudio runs in float32.
"""
import numpy as np
import pytest

from harness.measure import Measurement, compare, record
from harness.plugin import require_module
from suites.audio._signals import voice_like

SAMPLE_RATE = 16000
# (n_fft, hop_length, n_mels, mel_scale, norm): librosa's defaults (Slaney scale, Slaney area
# normalisation) and the HTK scale without normalisation. Quick depth runs the first only.
CONFIGS = [(512, 128, 40, "slaney", "slaney"), (400, 160, 64, "htk", None)]
# Float32 FFTs are accurate to ~1e-6 of the largest bin (measured 3e-7 for n_fft=512): compare
# spectra with an absolute bound relative to the peak, plus a relative bound for strong bins.
SPEC_RTOL, SPEC_ATOL_OF_PEAK = 1e-4, 1e-5
# MFCCs are dB values (~-400 to 100): float32 round-off is ~1e-3 relative in bins near the
# 80 dB floor, i.e. < 0.01 dB, and the orthonormal DCT does not amplify it (measured 9e-5).
MFCC_ATOL = 1e-2


def configs(depth):
    return CONFIGS if depth == "full" else CONFIGS[:1]


@pytest.fixture(scope="module")
def waveform():
    return voice_like(SAMPLE_RATE, 1.0, seed=1)[0]


def assert_spectra_close(request, name, actual, expected):
    assert actual.shape == expected.shape, f"{actual.shape} != {expected.shape}"
    # The same bound as allclose's atol + rtol * |expected|: its ratio is recorded (<= 1 passes).
    record(request, compare(name, actual, expected, rtol=SPEC_RTOL, atol=SPEC_ATOL_OF_PEAK * float(expected.max())))
    bound = SPEC_ATOL_OF_PEAK * expected.max() + SPEC_RTOL * np.abs(expected)
    worst = np.max(np.abs(actual - expected) - bound)
    assert worst <= 0, f"max excess over bound {worst:.3g} (peak {expected.max():.3g})"


@pytest.mark.feature("audio.transforms.mfcc")
@pytest.mark.parametrize("power", [1.0, 2.0])
def test_spectrogram_matches_librosa_stft(torch, torchaudio, request, depth, waveform, power):
    """|STFT|^power with a periodic Hann window and centred, reflect-padded frames."""
    librosa = require_module(request.config, "librosa")
    for n_fft, hop, *_ in configs(depth):
        actual = torchaudio.transforms.Spectrogram(n_fft=n_fft, hop_length=hop, power=power)(
            torch.from_numpy(waveform)).numpy()
        expected = np.abs(librosa.stft(waveform.astype(np.float64), n_fft=n_fft, hop_length=hop,
                                       window="hann", center=True, pad_mode="reflect")) ** power
        assert_spectra_close(request, f"spectrogram n_fft={n_fft} vs librosa", actual, expected)


@pytest.mark.feature("audio.transforms.mfcc")
def test_melspectrogram_matches_librosa(torch, torchaudio, request, depth, waveform):
    """Power spectrum through the same mel filter bank (scale and normalisation)."""
    librosa = require_module(request.config, "librosa")
    for n_fft, hop, n_mels, mel_scale, norm in configs(depth):
        actual = torchaudio.transforms.MelSpectrogram(
            sample_rate=SAMPLE_RATE, n_fft=n_fft, hop_length=hop, n_mels=n_mels,
            mel_scale=mel_scale, norm=norm)(torch.from_numpy(waveform)).numpy()
        expected = librosa.feature.melspectrogram(
            y=waveform.astype(np.float64), sr=SAMPLE_RATE, n_fft=n_fft, hop_length=hop,
            n_mels=n_mels, htk=mel_scale == "htk", norm=norm, pad_mode="reflect")
        assert_spectra_close(request, f"melspectrogram n_fft={n_fft} {mel_scale} vs librosa", actual, expected)


@pytest.mark.feature("audio.transforms.mfcc")
def test_mfcc_matches_librosa(torch, torchaudio, request, depth, waveform):
    """dB mel power (top_db=80) through an orthonormal DCT-II, first n_mfcc coefficients."""
    librosa = require_module(request.config, "librosa")
    n_mfcc = 13
    for n_fft, hop, n_mels, mel_scale, norm in configs(depth):
        melkwargs = dict(n_fft=n_fft, hop_length=hop, n_mels=n_mels, mel_scale=mel_scale, norm=norm)
        actual = torchaudio.transforms.MFCC(sample_rate=SAMPLE_RATE, n_mfcc=n_mfcc,
                                            melkwargs=melkwargs)(torch.from_numpy(waveform)).numpy()
        mel = librosa.feature.melspectrogram(
            y=waveform.astype(np.float64), sr=SAMPLE_RATE, n_fft=n_fft, hop_length=hop,
            n_mels=n_mels, htk=mel_scale == "htk", norm=norm, pad_mode="reflect")
        log_mel = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=80.0)
        expected = librosa.feature.mfcc(S=log_mel, n_mfcc=n_mfcc, dct_type=2, norm="ortho")
        assert actual.shape == expected.shape
        worst = float(np.abs(actual - expected).max())
        record(request, Measurement(f"mfcc n_fft={n_fft} {mel_scale} vs librosa (dB)", "max_abs", worst, MFCC_ATOL,
                                    max_abs=worst))
        assert worst <= MFCC_ATOL, f"max |MFCC difference| {worst:.3g} dB"
