"""Audio save/load through a backend chosen with torchaudio.list_audio_backends (predicted: pass with
torchaudio <= 2.8, error from torchaudio 2.9, which removed list_audio_backends).

Sources: https://docs.pytorch.org/audio/main/torchaudio.html (deprecated in 2.8, removed in 2.9),
https://github.com/pytorch/audio/issues/3902, https://github.com/pytorch/audio/releases/tag/v2.9.0
"""
import math

import torch

from downstream.audio import PREFERRED, pick_backend, roundtrip


def test_a_preferred_backend_is_available():
    assert pick_backend() in PREFERRED


def test_wav_roundtrip(tmp_path):
    sample_rate = 16000
    t = torch.arange(sample_rate // 10) / sample_rate
    tone = (0.5 * torch.sin(2 * math.pi * 440 * t)).unsqueeze(0)
    loaded, rate = roundtrip(str(tmp_path / "tone.wav"), tone, sample_rate)
    assert rate == sample_rate
    torch.testing.assert_close(loaded, tone, atol=1 / 2**15, rtol=0)  # one 16-bit step
