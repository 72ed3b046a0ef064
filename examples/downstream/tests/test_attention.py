"""Fused scaled-dot-product attention matches the written-out formula (predicted: pass in every row)."""
import pytest
import torch

from downstream.attention import attend, attend_reference


@pytest.mark.parametrize("causal", [False, True])
def test_attention_matches_reference(causal):
    q, k, v = (torch.randn(2, 4, 16, 8) for _ in range(3))
    torch.testing.assert_close(attend(q, k, v, causal), attend_reference(q, k, v, causal), atol=1e-5, rtol=1e-5)
