"""Audio I/O through the release's backends (torchaudio 0.4 made SoX optional behind a dispatch).

Up to 2.8 `load`/`save` dispatch to the backends `list_audio_backends()` names (sox, soundfile,
ffmpeg); from 2.9 they go through TorchCodec. Every route the release offers is exercised, and
the files are cross-checked with soundfile (libsndfile), an independent reader and writer.
"""
import numpy as np
import pytest

from harness.measure import Measurement, record
from harness.plugin import require_module
from suites.audio import _compat
from suites.audio._signals import voice_like

SAMPLE_RATE = 22050  # not a default rate, so a rate that silently falls back would show
# Integer PCM stores round(x * 2^(b-1)) or, in libsndfile's writer, round(x * (2^(b-1) - 1)): with
# |x| < 1 either is within 1.5 steps of 2^-(b-1) of x after loading (which divides by 2^(b-1)).
STEP = {"PCM_16": 2.0 ** -15, "PCM_24": 2.0 ** -23}
FORMATS = {"wav": ("WAV", "PCM_S", 16), "flac": ("FLAC", None, 16)}


@pytest.fixture(scope="module")
def waveform():
    return voice_like(SAMPLE_RATE, 0.5, channels=2, seed=20, peak=0.9)


def record_backends(request, torchaudio):
    """Report which backends this row has (metadata for the report, not a check)."""
    request.node.user_properties.append(("audio_backends", _compat.audio_backends(torchaudio)))


@pytest.mark.feature("audio.io.roundtrip")
@pytest.mark.parametrize("ext", sorted(FORMATS))
def test_save_then_load_keeps_rate_and_samples(torch, torchaudio, request, tmp_path, waveform, ext):
    """Integer-PCM WAV/FLAC saved by every route reads back, there and in soundfile, within one step."""
    sf = require_module(request.config, "soundfile")
    record_backends(request, torchaudio)
    container, encoding, bits = FORMATS[ext]
    for backend in _compat.backend_choices(torchaudio):
        route = backend or "default"
        path = tmp_path / f"{route}.{ext}"
        _compat.save(torchaudio, path, torch.from_numpy(waveform), SAMPLE_RATE,
                     encoding=encoding, bits_per_sample=bits, backend=backend)
        info = sf.info(str(path))
        assert (info.format, info.samplerate, info.channels, info.frames) == (
            container, SAMPLE_RATE, 2, waveform.shape[1]), f"{route}: soundfile reads {info}"
        assert info.subtype in STEP, f"{route}: wrote {info.subtype}, not integer PCM"
        reference = sf.read(str(path), dtype="float32", always_2d=True)[0].T
        loaded, rate = _compat.load(torchaudio, path, backend=backend)
        assert rate == SAMPLE_RATE, f"{route}: loaded rate {rate}"
        # Integer PCM is lossless: every reader maps the integer k to k / 2^(b-1).
        assert np.array_equal(loaded.numpy(), reference), f"{route}: samples differ from soundfile's"
        worst = float(np.abs(reference - waveform).max() / STEP[info.subtype])
        record(request, Measurement(f"{route} {ext} {info.subtype}: steps from what was saved", "max_abs", worst, 1.5,
                                    max_abs=worst))
        assert worst <= 1.5, f"{route}: {info.subtype} samples {worst:.2f} steps from what was saved"


@pytest.mark.feature("audio.io.roundtrip")
@pytest.mark.parametrize("ext,subtype", [("wav", "PCM_16"), ("wav", "FLOAT"),
                                         ("flac", "PCM_16"), ("flac", "PCM_24")])
def test_load_reads_files_an_independent_writer_made(torch, torchaudio, request, tmp_path, waveform,
                                                     ext, subtype):
    """Files written by soundfile load, by every route, with their rate and exactly their samples."""
    sf = require_module(request.config, "soundfile")
    record_backends(request, torchaudio)
    path = tmp_path / f"{subtype}.{ext}"
    sf.write(str(path), waveform.T, SAMPLE_RATE, subtype=subtype)
    reference = sf.read(str(path), dtype="float32", always_2d=True)[0].T
    for backend in _compat.backend_choices(torchaudio):
        loaded, rate = _compat.load(torchaudio, path, backend=backend)
        assert rate == SAMPLE_RATE, f"{backend or 'default'}: loaded rate {rate}"
        assert np.array_equal(loaded.numpy(), reference), f"{backend or 'default'}: samples differ"


@pytest.mark.feature("audio.io.roundtrip_float_wav")
def test_float_wav_round_trip_is_bit_exact(torch, torchaudio, request, tmp_path, waveform):
    """encoding="PCM_F", 32 bits writes IEEE float WAV; loading gives back the very same floats."""
    sf = require_module(request.config, "soundfile")
    record_backends(request, torchaudio)
    for backend in _compat.backend_choices(torchaudio):
        path = tmp_path / f"{backend or 'default'}.wav"
        _compat.save(torchaudio, path, torch.from_numpy(waveform), SAMPLE_RATE,
                     encoding="PCM_F", bits_per_sample=32, backend=backend)
        assert sf.info(str(path)).subtype == "FLOAT", f"{backend}: wrote {sf.info(str(path)).subtype}"
        loaded, rate = _compat.load(torchaudio, path, backend=backend)
        assert rate == SAMPLE_RATE
        assert np.array_equal(loaded.numpy(), waveform), f"{backend or 'default'}: float samples changed"
