"""SentencePiece in torchtext (0.5 release): train, load, tokenize and numericalize.

torchtext bundles its own build of SentencePiece behind torch.ops.torchtext; the reference is
the sentencepiece package reading the very model file torchtext trained.
"""
import pytest

from fixtures import text as builders
from harness.plugin import require_module

VOCAB_SIZE = 150  # small enough for the fixture corpus to fill, large enough to need merged pieces
MODEL_TYPES = ["unigram", "bpe"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Generated training text (fixtures/text.py), and the sentences it holds."""
    path = tmp_path_factory.mktemp("sentencepiece") / "corpus.txt"
    return path, builders.sentencepiece_corpus(path)


@pytest.mark.feature("text.sentencepiece")
@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_trained_model_encodes_like_the_sentencepiece_package(torchtext, corpus, tmp_path, request, model_type):
    """A model trained by generate_sp_model tokenizes and numericalizes exactly as sentencepiece does."""
    spm = require_module(request.config, "sentencepiece")
    from torchtext.data.functional import (generate_sp_model, load_sp_model, sentencepiece_numericalizer,
                                           sentencepiece_tokenizer)

    path, sentences = corpus
    prefix = tmp_path / f"spm_{model_type}"
    generate_sp_model(str(path), vocab_size=VOCAB_SIZE, model_type=model_type, model_prefix=str(prefix))
    model_file = f"{prefix}.model"
    reference = spm.SentencePieceProcessor(model_file=model_file)
    # Seen sentences, and unseen text with unknown characters, case and spacing to normalise.
    lines = sentences[:50] + ["Ünseen   WORDS, quite unlike the corpus: 42 × 7 → ∞!", "", "kaloмиne"]

    assert reference.get_piece_size() == VOCAB_SIZE
    with open(model_file, "rb") as fh:  # load_sp_model takes a path or a binary file object
        models = {"path": load_sp_model(model_file), "file object": load_sp_model(fh)}
    for how, model in models.items():
        assert model.GetPieceSize() == VOCAB_SIZE, how
        assert list(sentencepiece_tokenizer(model)(lines)) == reference.encode(lines, out_type=str), how
        assert list(sentencepiece_numericalizer(model)(lines)) == reference.encode(lines, out_type=int), how
