"""SentencePiece encoding throughput through torchtext (torchtext 0.5's SentencePiece support),
checked against the sentencepiece library itself on the same model file."""
import random

import pytest

from harness.plugin import require_module
from suites.bench._bench import bench, measure

SENTENCES = 1000  # per round: throughput = SENTENCES / round time (recorded as items_per_round)
VOCAB = 500


def fabricated_sentences(count: int, seed: int) -> list[str]:
    """Lower-case pseudo-English: words of 1-4 syllables, sentences of 4-16 words."""
    rng = random.Random(seed)
    syllables = [c + v for c in "bcdfghklmnprstvwz" for v in "aeiou"] + ["the", "and", "ing"]
    words = ["".join(rng.choices(syllables, k=rng.randint(1, 4))) for _ in range(3000)]
    return [" ".join(rng.choices(words, k=rng.randint(4, 16))) for _ in range(count)]


@pytest.fixture(scope="module")
def sp_model_path(torchtext, tmp_path_factory):
    """A unigram model trained by torchtext's generate_sp_model on a fabricated corpus."""
    from torchtext.data.functional import generate_sp_model

    directory = tmp_path_factory.mktemp("sentencepiece")
    corpus = directory / "corpus.txt"
    corpus.write_text("\n".join(fabricated_sentences(5000, seed=0)) + "\n")
    generate_sp_model(str(corpus), vocab_size=VOCAB, model_type="unigram",
                      model_prefix=str(directory / "sp"))
    return directory / "sp.model"


@bench("text")
@pytest.mark.feature("bench.text.sentencepiece")
def test_sentencepiece_encode(torchtext, benchmark, request, sp_model_path):
    """Sentences to ids with torchtext's sentencepiece_numericalizer, as the library encodes them."""
    from torchtext.data.functional import load_sp_model, sentencepiece_numericalizer

    spm = require_module(request.config, "sentencepiece")
    sentences = fabricated_sentences(SENTENCES, seed=1)
    numericalize = sentencepiece_numericalizer(load_sp_model(str(sp_model_path)))

    def encode():
        return list(numericalize(sentences))

    expected = spm.SentencePieceProcessor(model_file=str(sp_model_path)).encode(sentences)
    assert encode() == expected
    measure(benchmark, encode, rounds=50, warmup=3, items_per_round=SENTENCES)
