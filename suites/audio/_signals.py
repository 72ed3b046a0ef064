"""Deterministic test signals (numpy only, so a reference never depends on the row's torch)."""
from __future__ import annotations

import numpy as np


def voice_like(sample_rate: int, seconds: float, *, channels: int = 1, seed: int = 0,
               peak: float = 0.5) -> np.ndarray:
    """float32 (channels, time): a gliding harmonic tone plus a little noise, at most `peak`."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    out = []
    for c in range(channels):
        f0 = 110.0 * (1 + c) * (1 + 0.3 * t / max(seconds, 1e-9)) + 5 * np.sin(2 * np.pi * 5 * t)
        phase = 2 * np.pi * np.cumsum(f0) / sample_rate
        tone = sum(np.sin(k * phase) / k for k in range(1, 9))
        envelope = 0.6 + 0.4 * np.sin(2 * np.pi * 3 * t + c)
        out.append(tone * envelope + 0.05 * rng.standard_normal(t.size))
    signal = np.stack(out)
    return (peak * signal / np.abs(signal).max()).astype(np.float32)


def spectrogram_like(shape: tuple[int, ...], *, seed: int = 0) -> np.ndarray:
    """float32 positive values shaped (..., freq, time), never equal to a mask value used in tests."""
    rng = np.random.default_rng(seed)
    return (1.0 + rng.random(shape)).astype(np.float32)


def speech_in_silence(sample_rate: int, *, lead: float = 0.5, voiced: float = 1.0, tail: float = 0.5,
                      noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """float32 (time,): `lead` s of silence, a voiced segment, `tail` s of silence; peak 0.5.

    The voiced segment is a 140 Hz tone with ten harmonics (amplitude 1/k) under a half-sine
    envelope and a 4 Hz syllable modulation, so it starts and ends softly like speech. `noise`
    adds white Gaussian noise of that standard deviation everywhere (0: digital silence).
    """
    rng = np.random.default_rng(seed)
    t = np.arange(int(sample_rate * voiced)) / sample_rate
    tone = sum(np.sin(2 * np.pi * 140.0 * k * t + k) / k for k in range(1, 11))
    envelope = np.sin(np.pi * t / voiced) ** 0.5 * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t) ** 2)
    voice = 0.5 * tone * envelope / np.abs(tone * envelope).max()
    signal = np.concatenate([np.zeros(int(sample_rate * lead)), voice, np.zeros(int(sample_rate * tail))])
    if noise:
        signal = signal + noise * rng.standard_normal(signal.size)
    return signal.astype(np.float32)
