"""Realistic parameters for the models the checks run: nothing left at its freshly initialised value.

A freshly built torchvision model hides whole classes of bugs. Its BatchNorm layers hold mean 0, variance 1,
weight 1 and bias 0, so folding them into the convolution before gives a zero bias; most conv/linear biases start
at 0; some heads start at 0 (ViT's classifier) and ConvNeXt's layer scale at 1e-6 (every residual branch is
switched off). An exporter, fuser or quantizer that drops a folded bias, mixes up mean and variance or ignores an
affine term then computes the right answer. The real case (pytorch/pytorch#169178, fixed by
microsoft/onnxscript#2680): torch 2.9.1 + onnxscript 0.5.6 export ResNet18 with the dynamo exporter, and
onnxruntime's output differs from eager by 1e-6 with default BatchNorm but by 0.92 (output scale 3.8) once the
BatchNorm statistics are drawn at random; onnxscript 0.5.7 gives 3e-6.

`realistic(torch, model, seed=...)` therefore redraws every floating-point parameter and every normalisation buffer
from a seeded distribution of non-trivial scale, before a check scripts, quantizes, exports or times the model.
Row libraries arrive as arguments (as in suites/vision/_compat.py); nothing here imports them at module level.
"""
from __future__ import annotations

import math

# ---- the distributions ---------------------------------------------------------------------------------------
# Normalisation layers (BatchNorm*, SyncBatchNorm, torchvision's FrozenBatchNorm2d, LayerNorm, GroupNorm,
# InstanceNorm with affine, RMSNorm): the ranges of the reproduction (the ones that exposed #169178).
# The weight stays positive and O(1), so a layer neither flips nor kills a channel; the bias shifts it by up to
# half a standard deviation, enough that a dropped or misplaced bias moves the output by O(1).
NORM_WEIGHT = (0.5, 1.5)
NORM_BIAS = (-0.5, 0.5)
# Running statistics, in units of the statistics the channel really sees (see `realistic`, `probe`): the mean is
# off by up to one standard deviation of the data, the variance off by a factor 0.5 to 2. Without a probe batch the
# same ranges are taken as absolute values, as in the issue: running_mean ~ U(-1, 1), running_var ~ U(0.5, 2).
RUNNING_MEAN = (-1.0, 1.0)
RUNNING_VAR = (0.5, 2.0)
# A channel whose input hardly varies on the probe would get a variance near 0 and a gain of 1/sqrt(eps); one
# measured on few samples (a 2x2 map of a small batch) is underestimated by chance. Either makes the network
# chaotic: measured on Inception V3 with a 2-image probe and a floor of 1e-2, an input perturbation of 1e-6 moved
# the logits by 1.5x their scale. Give every channel at least this share of the layer's average variance
# (with it and `probe_images`' sizes: 2e-5 to 3e-4 of the scale on the quick sample; default BatchNorm: 3e-6).
VAR_FLOOR = 0.3
# Probe images: enough that the last stage of a classifier (2x2 at 64 px, 7x7 at 224 px) sees >= ~100 values per
# channel: PROBE_PIXELS / side**2 images, at least PROBE_MIN. EfficientNetV2-S at 64 px: 2 images gave logits
# of 1e7, 16 gave 300, 32 gave 16 (the O(1) it has on the probe itself) when evaluated on other images.
PROBE_PIXELS, PROBE_MIN = 32 * 64 * 64, 4
# Conv/linear/attention-projection weights: He (kaiming) normal over fan_in, std = sqrt(2 / fan_in). It keeps the
# second moment of a ReLU network layer to layer, so networks without normalisation (AlexNet, VGG, SqueezeNet)
# and heads after the last norm neither vanish nor explode with depth; PyTorch's default init (kaiming_uniform
# with a = sqrt(5), std = 1/sqrt(3 fan_in)) shrinks every layer by ~2.4x after a ReLU, which is where the 1e-10
# logits of random MobileNets came from.
WEIGHT_GAIN = math.sqrt(2.0)
# Conv/linear/attention biases: O(1) signals (the weights above keep them there), so a bias of up to +-0.5 moves
# every output by a visible fraction of its scale without swamping the weighted sum.
BIAS = (-0.5, 0.5)
# Any other floating-point parameter (ViT's class token and position embedding, Swin's relative-position bias
# tables and logit scale, ConvNeXt's layer scale, ...): a parameter that holds one value everywhere (zeros, ones,
# 1e-6, log(10)) gets that value times U(0.5, 1.5), or U(-0.5, 0.5) where it is 0; one that already varies gets
# fresh normal noise of its own mean and standard deviation.
OTHER_FACTOR = (0.5, 1.5)
OTHER_ZERO = (-0.5, 0.5)
# ConvNeXt's layer scale starts at 1e-6 and switches every residual branch off; trained models hold ~0.1-1.
LAYER_SCALE = (0.1, 1.0)
# Floating-point buffers other than normalisation statistics are geometry, not learned state (Swin V2's
# relative_coords_table, anchors, the lite interpreter's constants): they are left alone.

# MEASURED (torch 2.14, torchvision 0.29.1, the 19 classifiers of suites/vision/_compat.QUICK_CLASSIFIERS at their
# check's input size, logits on two images that are not the probe):
# - fresh models: logit std from 0 (ViT: zero head) and 5e-15 (EfficientNet-B0), 1e-10 (MobileNets) to 1.6e8
#   (Inception V3);
# - absolute statistics, He weights, no probe: std 0.5 to 10 for most, but 64 (MnasNet), 782 (RegNet X) and 1.3e4
#   (EfficientNetV2-S): U(0.5, 2) variances that are not the data's compound over 50+ BatchNorm layers;
# - with a probe (`probe_images`): std 0.53 (SqueezeNet, which ends in a ReLU) to 2.4, largest logit 2.7 to 10;
#   a 1e-6 perturbation of the input moves the logits by 3e-6 to 1.3e-3 (fresh BatchNorm: ~3e-6), and
#   onnxruntime's export differs from eager by at most 2.7e-5 of the largest logit.


def realistic(torch, model, *, seed: int = 0, probe: tuple | None = None, keep_zero: bool = False):
    """Redraw `model`'s parameters and normalisation statistics in place from a seeded distribution; return it.

    `torch` is the row's torch module. `seed` (an int) fixes every draw: the same model class and seed give the
    same parameters whatever the global RNG state was. `probe` is an optional tuple of positional arguments for
    `model(*probe)` (for example `(images,)`, an N x 3 x H x W float tensor, or `([image, ...],)` for a detector):
    with it, each running-statistic normaliser (BatchNorm, FrozenBatchNorm2d) takes its statistics relative to
    what its input really carries on the probe, in order through the network within one eval-mode forward pass:
    running_mean = mean + std * U(-1, 1), running_var = var * U(0.5, 2), per channel. Every layer's output then
    stays O(1) however deep the network is. Without `probe` the ranges are absolute (mean U(-1, 1), var
    U(0.5, 2)), as in the issue's reproduction; that compounds with depth (see MEASURED), so every check passes a
    probe and the absolute form is for small models.
    With a probe, each conv/linear weight is also scaled so its weighted sum has unit standard deviation on the
    probe (see `_relative_statistics`).
    `keep_zero=True` keeps one property of a fresh model, for a check that needs it: an all-zero input gives an
    all-zero output in every layer. Conv/linear/attention biases and the biases of normalisers without running
    statistics (LayerNorm, GroupNorm) are then 0, and each running-statistic normaliser's bias is set
    from its (still random) statistics so that 0 maps to 0: bias = running_mean * weight / sqrt(running_var + eps);
    with a probe the weights are scaled on the second moment of their output (nothing re-centres the signal).
    Distributions and their reasons: the constants above. The module keeps its train/eval mode. Call it before
    scripting, fusing, quantizing, exporting or timing (observers and fused modules are not touched).

    Raises TypeError when `model` is not a torch.nn.Module, and whatever `model(*probe)` raises.
    """
    nn = torch.nn
    if not isinstance(model, nn.Module):
        raise TypeError(f"realistic() takes a torch.nn.Module, not {type(model).__name__}")
    generator = torch.Generator().manual_seed(seed)

    def uniform(tensor, low, high):
        return torch.rand(tensor.shape, generator=generator, dtype=torch.float64).mul(high - low).add(low).to(tensor)

    def normal(tensor, mean, std):
        return torch.randn(tensor.shape, generator=generator, dtype=torch.float64).mul(std).add(mean).to(tensor)

    def floating(tensor) -> bool:
        return tensor is not None and tensor.is_floating_point()

    def fan_in(weight) -> int:
        return max(1, weight[0].numel()) if weight.dim() > 1 else max(1, weight.numel())

    statistics = []  # running-statistic normalisers, in module order
    with torch.no_grad():
        for name, module in model.named_modules():
            own = dict(module.named_parameters(recurse=False))
            if _has_running_stats(module):
                statistics.append(module)
                for key, value in (("weight", module.weight), ("bias", module.bias)):
                    if floating(value):  # a parameter (affine BatchNorm) or a buffer (FrozenBatchNorm2d)
                        value.copy_(uniform(value, *(NORM_WEIGHT if key == "weight" else NORM_BIAS)))
                    own.pop(key, None)
                module.running_mean.copy_(uniform(module.running_mean, *RUNNING_MEAN))
                module.running_var.copy_(uniform(module.running_var, *RUNNING_VAR))
            elif _is_norm(torch, module):
                for key, bounds in (("weight", NORM_WEIGHT), ("bias", NORM_BIAS)):
                    if floating(own.get(key)):
                        drawn = uniform(module._parameters[key], *bounds)
                        own.pop(key).copy_(drawn * 0.0 if keep_zero and key == "bias" else drawn)
            elif isinstance(module, (nn.modules.conv._ConvNd, nn.Linear)):
                weight = own.pop("weight", None)
                if floating(weight):
                    weight.copy_(normal(weight, 0.0, WEIGHT_GAIN / math.sqrt(fan_in(_transposed(module, weight)))))
                if floating(own.get("bias")):
                    own.pop("bias").copy_(uniform(module.bias, *BIAS) * (0.0 if keep_zero else 1.0))
            elif isinstance(module, nn.MultiheadAttention):
                for key in [k for k in own if k.endswith("_weight")]:
                    weight = own.pop(key)
                    # Attention projections feed a softmax, not a ReLU: gain 1 keeps q.k / sqrt(d) O(1).
                    weight.copy_(normal(weight, 0.0, 1.0 / math.sqrt(fan_in(weight))))
                for key in [k for k in own if k.startswith(("in_proj_bias", "bias_"))]:
                    own.pop(key).copy_(uniform(module._parameters[key], *BIAS) * (0.0 if keep_zero else 1.0))
            for key, value in own.items():  # everything else the module holds directly
                if floating(value):
                    value.copy_(_other(torch, f"{name}.{key}", value, uniform, normal))
        if probe is not None:
            _relative_statistics(torch, model, statistics, probe, uniform, keep_zero)
        if keep_zero:
            for module in statistics:
                _zero_preserving(module)
    return model


def _zero_preserving(module) -> None:
    """Set a running-statistic normaliser's bias so that it maps 0 to 0 (its folded bias is then 0)."""
    if module.bias is not None and module.weight is not None:
        eps = getattr(module, "eps", 1e-5)
        module.bias.copy_(module.running_mean * module.weight / (module.running_var + eps).sqrt())


def _transposed(module, weight):
    """ConvTranspose weights are (in, out/groups, k...): their fan_in is what dim 0 of the forward conv sums."""
    return weight.transpose(0, 1) if getattr(module, "transposed", False) else weight


def _has_running_stats(module) -> bool:
    mean, var = getattr(module, "running_mean", None), getattr(module, "running_var", None)
    return mean is not None and var is not None and mean.is_floating_point()


def _is_norm(torch, module) -> bool:
    nn = torch.nn
    kinds = [nn.LayerNorm, nn.GroupNorm, nn.modules.batchnorm._NormBase, nn.LocalResponseNorm]
    if hasattr(nn, "RMSNorm"):  # torch 2.4+
        kinds.append(nn.RMSNorm)
    return isinstance(module, tuple(kinds))


def _other(torch, name: str, value, uniform, normal):
    if name.rsplit(".", 1)[-1] == "layer_scale":
        return uniform(value, *LAYER_SCALE)
    flat = value.detach().double().flatten()
    if flat.numel() < 2 or bool((flat == flat[0]).all()):
        first = float(flat[0]) if flat.numel() else 0.0
        return uniform(value, *OTHER_ZERO) if first == 0.0 else uniform(value, *OTHER_FACTOR) * first
    return normal(value, float(flat.mean()), float(flat.std()))


def _relative_statistics(torch, model, statistics, probe, uniform, keep_zero: bool = False) -> None:
    """One eval-mode pass over the probe, in the order the network computes:
    - each conv/linear, on its first call, divides its weight by the standard deviation of its weighted sum
      (output minus bias), so that sum has unit variance on the probe (LSUV, Mishkin and Matas, "All you need is
      a good init", arXiv:1511.06422), and its output is recomputed accordingly;
    - each running-statistic normaliser, on its first call, measures its input per channel and sets its running
      statistics from it before it normalises.
    Every later layer therefore sees the realistic distribution, and no depth or topology (FPN sums, detection
    heads without normalisation, long chains without BatchNorm) can inflate or shrink it."""
    nn = torch.nn
    done = set()

    def before(module, inputs):
        if id(module) in done:
            return
        done.add(id(module))
        x = inputs[0].detach().double()
        dims = [d for d in range(x.dim()) if d != 1]
        mean, var = x.mean(dim=dims), x.var(dim=dims, unbiased=False)
        var = var.clamp_min(VAR_FLOOR * float(var.mean()) + 1e-12)
        module.running_mean.copy_(mean + var.sqrt() * uniform(mean, *RUNNING_MEAN))
        module.running_var.copy_(var * uniform(var, *RUNNING_VAR))
        if keep_zero:
            _zero_preserving(module)

    def after(module, inputs, output):
        if id(module) in done or not isinstance(output, torch.Tensor) or not output.is_floating_point():
            return None
        done.add(id(module))
        bias = module.bias
        if bias is not None and not isinstance(module, nn.Linear):
            bias = bias.view(1, -1, *([1] * (output.dim() - 2)))
        weighted = output if bias is None else output - bias
        if keep_zero:
            std = float(weighted.double().pow(2).mean().sqrt())
        else:
            std = float(weighted.double().std()) if weighted.numel() > 1 else 0.0
        if not math.isfinite(std) or std <= 0.0:
            return None
        module.weight.div_(std)
        return weighted / std if bias is None else weighted / std + bias

    layers = [m for m in model.modules() if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear))
              and m.weight is not None and m.weight.is_floating_point()]
    modes = {module: module.training for module in model.modules()}
    hooks = [module.register_forward_pre_hook(before) for module in statistics]
    hooks += [module.register_forward_hook(after) for module in layers]
    try:
        model.eval()
        model(*probe)
    finally:
        for hook in hooks:
            hook.remove()
        for module, training in modes.items():
            module.training = training


def probe_images(torch, side: int, *, seed: int = 100, count: int | None = None):
    """A probe batch for `realistic`: `count` (default PROBE_PIXELS / side**2, at least PROBE_MIN) RGB images of
    side x side pixels, uniform in [0, 1) like the checks' inputs, from their own seeded generator. Returns an
    N x 3 x side x side float32 tensor."""
    if count is None:
        count = max(PROBE_MIN, round(PROBE_PIXELS / side ** 2))
    return torch.rand(count, 3, side, side, generator=torch.Generator().manual_seed(seed))


def assert_not_degenerate(torch, output, *, min_std: float = 1e-2, name: str = "output") -> None:
    """Fail (AssertionError) unless `output` (a tensor or numpy array of any shape) is finite, non-empty and
    varies: its standard deviation over all elements at least `min_std`. A comparison against a constant or
    all-zero reference would pass whatever the check compared."""
    values = torch.as_tensor(output).detach().double()
    assert values.numel() > 1, f"{name}: empty reference output {tuple(values.shape)}"
    assert bool(torch.isfinite(values).all()), f"{name}: reference output is not finite"
    std = float(values.std())
    assert std >= min_std, f"{name}: reference output is degenerate (std {std:.3g} < {min_std:g})"
