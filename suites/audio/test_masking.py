"""TimeMasking and FrequencyMasking (SpecAugment, torchaudio 0.4).

The reference is SpecAugment's definition (Park et al. 2019, https://arxiv.org/abs/1904.08779):
one band of consecutive rows (frequency) or columns (time) of width w, drawn uniformly from
[0, W] for the mask parameter W, set to the mask value; everything else unchanged.
"""
import numpy as np
import pytest

from suites.audio._signals import spectrogram_like

SHAPE = (2, 64, 120)  # (channel, freq, time)
PARAM = 20
MASK_VALUE = -7.5  # spectrogram_like() never produces it, so masked cells are recognisable
DRAWS = 300


def masking(torchaudio, axis: str, **kwargs):
    cls = torchaudio.transforms.TimeMasking if axis == "time" else torchaudio.transforms.FrequencyMasking
    return cls(PARAM, **kwargs)


def band(masked: np.ndarray, axis: str) -> np.ndarray:
    """Indices along `axis` of the masked band of a (freq, time) boolean mask; checks its shape."""
    lines = masked.all(axis=0) if axis == "time" else masked.all(axis=1)
    partial = masked.any(axis=0 if axis == "time" else 1) & ~lines
    assert not partial.any(), f"{axis} mask covers only part of a {'column' if axis == 'time' else 'row'}"
    index = np.flatnonzero(lines)
    if index.size:
        contiguous = np.array_equal(index, np.arange(index[0], index[-1] + 1))
        assert contiguous, f"{axis} band not contiguous: {index}"
    return index


@pytest.mark.feature("audio.transforms.masking")
@pytest.mark.parametrize("axis", ["time", "freq"])
def test_one_band_within_its_bound_set_to_the_mask_value(torch, torchaudio, axis):
    """Only one contiguous band changes, to the mask value; widths spread over [0, W]."""
    spec = torch.from_numpy(spectrogram_like(SHAPE, seed=3))
    transform = masking(torchaudio, axis)
    torch.manual_seed(0)
    widths = []
    for _ in range(DRAWS):
        out = transform(spec, MASK_VALUE).numpy()
        changed = out != spec.numpy()
        assert np.all(out[changed] == MASK_VALUE), "a changed cell does not hold the mask value"
        bands = [band(changed[c], axis) for c in range(SHAPE[0])]
        assert all(np.array_equal(bands[0], b) for b in bands), "channels got different masks"
        widths.append(bands[0].size)
    widths = np.array(widths)
    assert widths.max() <= PARAM, f"width {widths.max()} exceeds the mask parameter {PARAM}"
    # Uniform widths over [0, W] have mean W/2 (W/2 - 1/2 if the upper end is open); the mean of
    # 300 draws has a standard error of ~0.35 here, so allow 1/2 + 4 standard errors.
    tolerance = 0.5 + 4 * np.sqrt((PARAM + 1) ** 2 / 12 / DRAWS)
    assert abs(widths.mean() - PARAM / 2) <= tolerance, f"mean width {widths.mean():.2f}"


@pytest.mark.feature("audio.transforms.masking")
@pytest.mark.parametrize("axis", ["time", "freq"])
def test_iid_masks_differ_per_example_and_shared_masks_do_not(torch, torchaudio, axis):
    """iid_masks=True draws a band per example and channel; False applies one band to the batch."""
    batch = torch.from_numpy(spectrogram_like((8, *SHAPE), seed=4))
    torch.manual_seed(1)
    shared = masking(torchaudio, axis, iid_masks=False)(batch, MASK_VALUE).numpy() == MASK_VALUE
    iid = masking(torchaudio, axis, iid_masks=True)(batch, MASK_VALUE).numpy() == MASK_VALUE
    shared_bands = {tuple(band(shared[b, c], axis)) for b in range(8) for c in range(SHAPE[0])}
    iid_bands = [tuple(band(iid[b, c], axis)) for b in range(8) for c in range(SHAPE[0])]
    assert len(shared_bands) == 1, "iid_masks=False gave different bands within a batch"
    # 16 independent draws of a band among hundreds of (start, width) pairs: all equal only if
    # the draws are not independent.
    assert len(set(iid_bands)) > 1, "iid_masks=True gave the same band to every example"
    assert max(len(b) for b in iid_bands) <= PARAM


@pytest.mark.feature("audio.transforms.masking")
@pytest.mark.parametrize("iid_masks", [False, True])
def test_masks_are_determined_by_the_seed(torch, torchaudio, iid_masks):
    """The same seed gives the same masks; other seeds give other masks."""
    batch = torch.from_numpy(spectrogram_like((4, *SHAPE), seed=5))
    transforms = [masking(torchaudio, "time", iid_masks=iid_masks),
                  masking(torchaudio, "freq", iid_masks=iid_masks)]

    def augment(seed):
        torch.manual_seed(seed)
        out = batch
        for transform in transforms:
            out = transform(out, MASK_VALUE)
        return out

    assert torch.equal(augment(7), augment(7))
    assert any(not torch.equal(augment(7), augment(seed)) for seed in range(8, 12))
