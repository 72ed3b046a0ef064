"""LibriSpeech and CommonVoice (torchaudio 0.4 unified the dataset interface around them).

The data sets are fabricated in their upstream layouts (fixtures/audio.py) with synthesized audio,
so the reference is what was written: the items, in upstream's order, and their samples.
"""
import numpy as np
import pytest

from fixtures.audio import build_commonvoice, build_librispeech
from harness.measure import Measurement, record
from harness.plugin import require_module
from suites.audio import _compat

# Two MP3 decoders that meet ISO/IEC 11172-4 full accuracy are each within 2^-14 of the ideal
# output, so within 2^-13 of each other (libmpg123 vs FFmpeg measured 9e-7).
MP3_DECODER_ATOL = 2.0 ** -13
# MP3 is lossy: the decoded clip must still be the clip that was encoded, aligned (the encoder's
# delay removed): measured ~30 dB SNR at libsndfile's default quality; misalignment gives < 0 dB.
MP3_MIN_SNR_DB = 20.0


@pytest.fixture(scope="module")
def librispeech(tmp_path_factory, request):
    require_module(request.config, "soundfile")
    root = tmp_path_factory.mktemp("librispeech")
    return root, build_librispeech(root, subset="dev-clean")


@pytest.fixture(scope="module")
def commonvoice(tmp_path_factory, request):
    require_module(request.config, "soundfile")
    root = tmp_path_factory.mktemp("commonvoice")
    return root, build_commonvoice(root, tsv="train.tsv")


@pytest.mark.feature("audio.datasets.librispeech")
def test_librispeech_yields_the_utterances_written(torch, torchaudio, librispeech):
    """(waveform, rate, transcript, speaker, chapter, utterance) per FLAC, by file id, exact samples."""
    root, items = librispeech
    dataset = _compat.librispeech(torchaudio, root, "dev-clean")
    assert len(dataset) == len(items)
    for index, item in enumerate(items):
        waveform, rate, transcript, speaker, chapter, utterance = dataset[index]
        expected = (item.transcript, item.speaker_id, item.chapter_id, item.utterance_id)
        assert (transcript, speaker, chapter, utterance) == expected, f"item {index}: {item.fileid}"
        assert rate == item.sample_rate
        # FLAC is lossless and 16-bit samples load as k / 2^15 in every backend: exact.
        assert waveform.shape == item.waveform.shape, f"{item.fileid}: shape {tuple(waveform.shape)}"
        assert np.array_equal(waveform.numpy(), item.waveform), f"{item.fileid}: samples differ"


@pytest.mark.feature("audio.datasets.librispeech")
def test_librispeech_works_with_a_dataloader(torch, torchaudio, librispeech):
    """The map-style dataset feeds torch.utils.data.DataLoader in order."""
    root, items = librispeech
    dataset = _compat.librispeech(torchaudio, root, "dev-clean")
    loader = torch.utils.data.DataLoader(dataset, batch_size=None, shuffle=False)
    assert [(int(s), int(c), int(u)) for _, _, _, s, c, u in loader] == [
        (i.speaker_id, i.chapter_id, i.utterance_id) for i in items]


@pytest.mark.feature("audio.datasets.commonvoice")
def test_commonvoice_yields_the_rows_written(torch, torchaudio, request, commonvoice):
    """(waveform, rate, row dict) per .tsv row in file order; the MP3 decodes as libmpg123 decodes it."""
    sf = require_module(request.config, "soundfile")
    root, items = commonvoice
    dataset = _compat.commonvoice(torchaudio, root, "train.tsv")
    assert len(dataset) == len(items)
    for index, item in enumerate(items):
        waveform, rate, row = dataset[index]
        assert row == item.row, f"row {index}"
        assert rate == item.sample_rate
        reference = sf.read(str(item.clip), dtype="float32", always_2d=True)[0].T
        assert waveform.shape == reference.shape, f"row {index}: shape {tuple(waveform.shape)}"
        worst = float(np.abs(waveform.numpy() - reference).max())
        record(request, Measurement(f"row {index}: vs soundfile's decode", "max_abs", worst, MP3_DECODER_ATOL,
                                    max_abs=worst))
        assert worst <= MP3_DECODER_ATOL, f"row {index}: {worst:.3g} from soundfile's decode"
        n = min(reference.shape[1], item.source.shape[1])
        noise = waveform.numpy()[:, :n] - item.source[:, :n]
        snr = float(10 * np.log10(np.sum(item.source[:, :n] ** 2) / np.sum(noise ** 2)))
        record(request, Measurement(f"row {index}: SNR against the clip encoded (dB)", "snr_db", snr, MP3_MIN_SNR_DB))
        assert snr >= MP3_MIN_SNR_DB, f"row {index}: {snr:.1f} dB SNR against the clip encoded"
