"""torch.nn.RMSNorm matches the formula (predicted: error in torch 2.3, which lacks it; pass from torch 2.4).

Source: https://github.com/pytorch/pytorch/releases/tag/v2.4.0 and
https://pytorch.org/docs/2.4/generated/torch.nn.RMSNorm.html
"""
import torch

from downstream.norm import rms_norm_layer, rms_norm_reference


def test_rms_norm_matches_reference():
    layer = rms_norm_layer(8)
    with torch.no_grad():
        layer.weight.uniform_(0.5, 1.5)
    x = torch.randn(3, 5, 8)
    torch.testing.assert_close(layer(x), rms_norm_reference(x, layer.weight), atol=1e-5, rtol=1e-5)
