"""numpy reference implementations of the timed audio transforms, written from the textbook
definitions (not from torchaudio), so a check never depends on the row's libraries.

librosa computes the same quantities, but its first STFT costs ~20 s of JIT compilation here,
more than all audio benchmarks together; the audio suite compares torchaudio with librosa itself.
"""
from __future__ import annotations

import math

import numpy as np


def power_spectrogram(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """|STFT|^2 (..., freq, frame): centred frames, reflect padding, periodic Hann window."""
    pad = [(0, 0)] * (x.ndim - 1) + [(n_fft // 2, n_fft // 2)]
    padded = np.pad(x.astype(np.float64), pad, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft, axis=-1)[..., ::hop, :]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    return np.swapaxes(np.abs(np.fft.rfft(frames * window, axis=-1)) ** 2, -1, -2)


def htk_mel_filters(n_freqs: int, sample_rate: int, n_mels: int) -> np.ndarray:
    """(n_freqs, n_mels) triangular filters, equally spaced on the HTK mel scale, peak 1."""
    def to_mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def to_hz(m):
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)

    freqs = np.linspace(0, sample_rate / 2, n_freqs)
    edges = to_hz(np.linspace(to_mel(0.0), to_mel(sample_rate / 2), n_mels + 2))
    lower = (freqs[:, None] - edges[None, :-2]) / (edges[1:-1] - edges[:-2])
    upper = (edges[None, 2:] - freqs[:, None]) / (edges[2:] - edges[1:-1])
    return np.maximum(0.0, np.minimum(lower, upper))


def mfcc(x: np.ndarray, sample_rate: int, n_fft: int, hop: int, n_mels: int, n_mfcc: int,
         top_db: float = 80.0) -> np.ndarray:
    """DCT-II (orthonormal) of 10*log10 mel power, floored top_db below each item's maximum.

    `x` is (batch, channel, time); the floor is per item, over its channels and frames."""
    power = power_spectrogram(x, n_fft, hop)
    mel = np.einsum("...ft,fm->...mt", power, htk_mel_filters(power.shape[-2], sample_rate, n_mels))
    db = 10.0 * np.log10(np.maximum(mel, 1e-10))
    floor = db.max(axis=(-3, -2, -1), keepdims=True) - top_db
    db = np.maximum(db, floor)
    k, n = np.arange(n_mfcc)[:, None], np.arange(n_mels)[None, :]
    dct = np.cos(math.pi / n_mels * (n + 0.5) * k) * math.sqrt(2.0 / n_mels)
    dct[0] /= math.sqrt(2.0)
    return np.einsum("km,...mt->...kt", dct, db)


def lowpass_coefficients(sample_rate: int, cutoff: float, q: float = 0.707):
    """(b, a) of the audio-EQ cookbook low-pass (R. Bristow-Johnson), normalised so a[0] == 1."""
    w0 = 2 * math.pi * cutoff / sample_rate
    alpha = math.sin(w0) / (2 * q)
    b = np.array([(1 - math.cos(w0)) / 2, 1 - math.cos(w0), (1 - math.cos(w0)) / 2])
    a = np.array([1 + alpha, -2 * math.cos(w0), 1 - alpha])
    return b / a[0], a / a[0]
