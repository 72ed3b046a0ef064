"""Audio files through torchaudio's backend dispatcher.

`torchaudio.list_audio_backends` lists the I/O backends a torchaudio build can use (torchaudio 2.0-2.8).
torchaudio 2.8 deprecated it with most of its I/O and 2.9 removed it, moving decoding and encoding to
TorchCodec (https://docs.pytorch.org/audio/main/torchaudio.html, https://github.com/pytorch/audio/issues/3902,
https://github.com/pytorch/audio/releases/tag/v2.9.0). Code written against it breaks from torchaudio 2.9
on: in the matrix's torch-2.14 row (torchaudio 2.11) this module is `error`.
"""
import torch
import torchaudio

PREFERRED = ("soundfile", "sox", "ffmpeg")


def pick_backend() -> str:
    """The first of PREFERRED that this torchaudio can use."""
    available = torchaudio.list_audio_backends()
    for name in PREFERRED:
        if name in available:
            return name
    raise RuntimeError(f"no usable audio backend among {available}")


def roundtrip(path: str, waveform: torch.Tensor, sample_rate: int) -> tuple[torch.Tensor, int]:
    """Save a (channels, frames) float waveform as 16-bit WAV and read it back with the chosen backend."""
    backend = pick_backend()
    torchaudio.save(path, waveform, sample_rate, backend=backend, encoding="PCM_S", bits_per_sample=16)
    return torchaudio.load(path, backend=backend)
