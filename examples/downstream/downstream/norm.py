"""RMS normalisation through torch's own module.

`torch.nn.RMSNorm` was added in PyTorch 2.4 (release notes: https://github.com/pytorch/pytorch/releases/tag/v2.4.0;
docs: https://pytorch.org/docs/2.4/generated/torch.nn.RMSNorm.html; absent from the 2.3 docs). A team that
adopted it cannot go back to torch 2.3: the harness shows this module as `error` in the torch-2.3 row.
"""
import torch


def rms_norm_layer(dim: int, eps: float = 1e-6) -> torch.nn.Module:
    """A learnable RMSNorm over the last `dim` features."""
    return torch.nn.RMSNorm(dim, eps=eps)


def rms_norm_reference(x: torch.Tensor, weight: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """x / sqrt(mean(x²) + eps) * weight, over the last dimension."""
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight
