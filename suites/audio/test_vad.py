"""Voice activity detection (torchaudio 0.4, pytorch/audio#578): `functional.vad` / `transforms.Vad`.

`vad` is a port of SoX's `vad` effect, so SoX itself is the reference: the `sox` command-line
tool runs in a subprocess on the same 16-bit WAV the tensor holds. Both trim the leading
silence; the trailing silence is trimmed by reversing, running `vad` and reversing back, as
SoX's manual says (`sox in.wav out.wav vad reverse vad reverse`).
"""
from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from harness.isolate import run
from harness.measure import Measurement, assert_allclose, record
from harness.plugin import require_tool
from suites.audio._signals import speech_in_silence

SAMPLE_RATE = 16000
# `vad` decides once per measurement period (1 / measure_freq, 20 Hz by default: 800 samples at
# 16 kHz) and trims at a period boundary; SoX computes its spectra in double precision,
# torchaudio in float32. A level sitting on the trigger threshold can flip one period's
# decision, which moves the trim by one whole period: a disagreement smaller than a period
# cannot happen, a larger one means the detectors differ. Tolerance: one period, in samples.
TRIM_TOLERANCE = SAMPLE_RATE // 20
# Low noise: white noise of standard deviation 0.003 (about -50 dBFS against the 0.5 peak).
CASES = {"clean": 0.0, "noisy": 0.003}
SOX_TIMEOUT_S = 60


def pcm16(signal: np.ndarray) -> np.ndarray:
    """int16 samples of a float signal (channels, time) as a 16-bit WAV stores them."""
    return np.clip(np.round(signal * 32767), -32768, 32767).astype(np.int16)


def write_wav(path: Path, samples: np.ndarray) -> None:
    """Write int16 (channels, time) as a PCM WAV with the standard library (no torchaudio I/O)."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(samples.shape[0])
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(np.ascontiguousarray(samples.T).tobytes())


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as src:
        assert src.getframerate() == SAMPLE_RATE and src.getsampwidth() == 2
        channels = src.getnchannels()
        data = np.frombuffer(src.readframes(src.getnframes()), dtype=np.int16)
    return data.reshape(-1, channels).T


def sox_vad(request, tmp_path: Path, samples: np.ndarray, *, both_ends: bool) -> np.ndarray:
    """SoX's `vad` (and `reverse vad reverse` for both ends) on `samples` (int16, channels x time)."""
    sox = require_tool(request.config, "sox", reference=True)["sox"]
    src, dst = tmp_path / "in.wav", tmp_path / ("both.wav" if both_ends else "lead.wav")
    write_wav(src, samples)
    effects = ["vad", "reverse", "vad", "reverse"] if both_ends else ["vad"]
    done = run([sox, str(src), str(dst), *effects], timeout=SOX_TIMEOUT_S)
    if done.returncode != 0:  # the reference could not run: an `error`, not a `fail` of torchaudio
        raise RuntimeError(f"sox {' '.join(effects)} exited {done.returncode}: {done.stderr[-2000:]}")
    return read_wav(dst)


def as_tensor(torch, samples: np.ndarray):
    """The float tensor torchaudio reads from a 16-bit WAV: samples / 2^15."""
    return torch.from_numpy(samples.astype(np.float32) / 32768.0)


def trims(waveform, trimmed) -> int:
    """How many samples `vad` cut from the front (or, on a reversed clip, from the end)."""
    return waveform.shape[-1] - trimmed.shape[-1]


def record_trim(request, name: str, got: int, expected: int) -> None:
    """Record the trim disagreement in samples and fail beyond TRIM_TOLERANCE."""
    error = abs(got - expected)
    record(request, Measurement(name, "max_abs", float(error), float(TRIM_TOLERANCE), max_abs=float(error)))
    assert error <= TRIM_TOLERANCE, f"{name}: torchaudio trims {got} samples, SoX {expected}"


def clip(noise: float, *, lead: float = 0.5) -> np.ndarray:
    """int16 (1, time): 0.5 s silence, 1 s voiced, 0.5 s silence (voice from sample 8000 to 24000)."""
    return pcm16(speech_in_silence(SAMPLE_RATE, lead=lead, noise=noise, seed=0)[None, :])


@pytest.mark.feature("audio.transforms.vad")
@pytest.mark.parametrize("case", list(CASES))
def test_vad_trims_leading_silence_where_sox_does(torch, torchaudio, request, tmp_path, case):
    samples = clip(CASES[case])
    waveform = as_tensor(torch, samples)
    expected = sox_vad(request, tmp_path, samples, both_ends=False)
    got = torchaudio.functional.vad(waveform, SAMPLE_RATE)
    sox_lead, lead = samples.shape[-1] - expected.shape[-1], trims(waveform, got)
    request.node.user_properties.append((f"vad_trim_{case}_leading", {"sox": sox_lead, "torchaudio": lead}))
    # Both must find the voice, not trim everything or nothing: it starts at sample 8000.
    assert 0 < sox_lead <= 8000, f"SoX trimmed {sox_lead} samples of a clip whose voice starts at 8000"
    record_trim(request, f"{case}: leading trim vs SoX (samples)", lead, sox_lead)
    # vad trims and never alters: what it keeps is the input from the trim point on.
    assert torch.equal(got, waveform[..., lead:])


@pytest.mark.feature("audio.transforms.vad")
@pytest.mark.parametrize("case", list(CASES))
def test_vad_trims_trailing_silence_through_reversal_as_sox_does(torch, torchaudio, request, tmp_path, case):
    samples = clip(CASES[case])
    waveform = as_tensor(torch, samples)
    expected = sox_vad(request, tmp_path, samples, both_ends=True)
    sox_lead = samples.shape[-1] - sox_vad(request, tmp_path, samples, both_ends=False).shape[-1]
    vad = torchaudio.functional.vad
    front = vad(waveform, SAMPLE_RATE)
    lead = trims(waveform, front)
    got = vad(front.flip(-1), SAMPLE_RATE).flip(-1)
    sox_tail = samples.shape[-1] - sox_lead - expected.shape[-1]
    tail = waveform.shape[-1] - lead - got.shape[-1]
    request.node.user_properties.append((f"vad_trim_{case}_trailing", {"sox": sox_tail, "torchaudio": tail}))
    # The voice ends at sample 24000 of 32000.
    assert 0 < sox_tail <= 8000, f"SoX trimmed {sox_tail} trailing samples; the voice ends 8000 before the end"
    record_trim(request, f"{case}: trailing trim vs SoX (samples)", tail, sox_tail)
    assert torch.equal(got, waveform[..., lead:waveform.shape[-1] - tail])


@pytest.mark.feature("audio.transforms.vad")
def test_vad_batched_channels_trim_at_the_earliest_eager_trim(torch, torchaudio):
    """A (channels, time) tensor is one recording: every channel is cut where the first one speaks.

    The eager per-channel trims are the reference. SoX is not: SoX 14.4.2's `vad` on a two-channel
    WAV wrote more samples than it read here (34400 from 28800), so it is compared on mono only.
    """
    early, late = clip(0.003, lead=0.3), clip(0.003, lead=0.7)
    n = min(early.shape[-1], late.shape[-1])
    waveform = as_tensor(torch, np.concatenate([late[:, :n], early[:, :n]]))
    got = torchaudio.functional.vad(waveform, SAMPLE_RATE)
    per_channel = [trims(waveform[c], torchaudio.functional.vad(waveform[c], SAMPLE_RATE)) for c in (0, 1)]
    lead = trims(waveform, got)
    assert per_channel[1] < per_channel[0], f"the early channel must trigger first: {per_channel}"
    assert lead == min(per_channel), f"trimmed {lead}, channels alone {per_channel}"
    assert torch.equal(got, waveform[..., lead:])


@pytest.mark.feature("audio.transforms.vad")
@pytest.mark.parametrize("case", list(CASES))
def test_vad_scripted_equals_eager(torch, torchaudio, request, case):
    waveform = as_tensor(torch, clip(CASES[case]))
    eager = torchaudio.transforms.Vad(sample_rate=SAMPLE_RATE)
    expected = eager(waveform)
    for name, fn in {"transforms.Vad": torch.jit.script(eager),
                     "functional.vad": lambda w: torch.jit.script(torchaudio.functional.vad)(w, SAMPLE_RATE)}.items():
        actual = fn(waveform)
        assert actual.shape == expected.shape, f"scripted {name} keeps {actual.shape}, eager {expected.shape}"
        # vad copies samples from its input, it computes none: scripted must be identical.
        assert_allclose(request, f"{case}: scripted {name} vs eager", actual, expected, rtol=0.0, atol=0.0)
