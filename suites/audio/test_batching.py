"""Transforms batch (torchaudio 0.4): a batch gives the per-item outputs stacked.

Batch items differ in loudness (peaks 0.5, 0.05, 0.005), so a transform that shared state across
items (e.g. MFCC's top_db floor taken over the whole batch) would show.
"""
import pytest

from suites.audio._cases import CASES, assert_close, batch_for, call


@pytest.mark.feature("audio.transforms.batching")
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_batch_equals_items_stacked(torch, torchaudio, request, case):
    """fn(batch) == stack(fn(item)); random transforms replayed from the same seed."""
    fn = case.build(torchaudio)
    batch = batch_for(torch, case)
    actual = call(torch, fn, case, batch)
    if case.random == "fold":  # per-sample noise: the batch dims must act as more channels
        folded = batch.reshape(-1, batch.shape[-1])
        expected = call(torch, fn, case, folded).reshape(actual.shape)
    else:
        expected = torch.stack([call(torch, fn, case, item) for item in batch])
    try:
        assert_close(torch, request, f"{case.name}: batch vs items stacked", actual, expected)
    except AssertionError as exc:  # assert_close raises AssertionError: keep it a `fail`
        raise AssertionError(f"{case.name}: {exc}") from None
