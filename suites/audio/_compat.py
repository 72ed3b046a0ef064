"""Adapters for what changed between torchaudio releases; tests call these, never branch on versions.

- I/O: up to 2.8 `torchaudio.load/save` dispatch to a backend (`sox`, `soundfile`, `ffmpeg`)
  listed by `torchaudio.list_audio_backends()` and chosen with `backend=`; from 2.9 they go
  through TorchCodec, `list_audio_backends` is gone and `encoding`/`bits_per_sample`/`backend`
  are ignored (https://docs.pytorch.org/audio/2.9.0/_modules/torchaudio.html).
- Datasets: `LIBRISPEECH(root, url, folder_in_archive, download)` and `COMMONVOICE(root, tsv)` have
  these signatures in every row of the matrix (2.3 to 2.11); arguments are passed by keyword.
"""
from __future__ import annotations

from pathlib import Path

TORCHCODEC = "torchcodec"


def audio_backends(torchaudio) -> list[str]:
    """Names of the I/O backends this release can use: its dispatch list, or TorchCodec from 2.9."""
    if hasattr(torchaudio, "list_audio_backends"):
        return list(torchaudio.list_audio_backends())
    return [TORCHCODEC]


def backend_choices(torchaudio) -> list[str | None]:
    """Every way to route a save/load: the default dispatch (None) and each selectable backend."""
    if hasattr(torchaudio, "list_audio_backends"):
        return [None, *torchaudio.list_audio_backends()]
    return [None]


def can_choose_encoding(torchaudio) -> bool:
    """Whether `torchaudio.save` honours `encoding`/`bits_per_sample` (False from 2.9: TorchCodec)."""
    return hasattr(torchaudio, "list_audio_backends")


def save(torchaudio, path: Path, waveform, sample_rate: int, *, encoding: str | None = None,
         bits_per_sample: int | None = None, backend: str | None = None) -> None:
    """`torchaudio.save`, asking for an encoding only where the release lets the caller choose."""
    kwargs = {}
    if can_choose_encoding(torchaudio):
        kwargs = {"encoding": encoding, "bits_per_sample": bits_per_sample}
        if backend is not None:
            kwargs["backend"] = backend
    torchaudio.save(str(path), waveform, sample_rate, **kwargs)


def load(torchaudio, path: Path, *, backend: str | None = None):
    """`torchaudio.load` through `backend` (None: the release's default route)."""
    if backend is not None:
        return torchaudio.load(str(path), backend=backend)
    return torchaudio.load(str(path))


def librispeech(torchaudio, root: Path, url: str):
    return torchaudio.datasets.LIBRISPEECH(root=str(root), url=url, download=False)


def commonvoice(torchaudio, root: Path, tsv: str):
    return torchaudio.datasets.COMMONVOICE(root=str(root), tsv=tsv)
