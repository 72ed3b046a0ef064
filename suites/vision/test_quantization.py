"""Quantization of torchvision's classic classifiers, as the 0.5 release promised: eager-mode post-training
quantization and quantization-aware training on the row's default server engine, and scripting of the int8 model.

Every model gets realistic parameters first (suites/_models.py): BatchNorm statistics drawn around what each layer
sees on a probe batch (off by up to one standard deviation in mean, 0.5-2x in variance), non-zero affine terms and
conv/linear biases, so fusion folds non-trivial BatchNorm into every conv and the observers see shifted ranges.
How close int8 stays to fp32 is measured per layer, as PyTorch's Numeric Suite "shadow" comparison does: every int8
conv/linear against its fp32 (fused) counterpart fed the same input, as a signal-to-quantization-noise ratio (SQNR).
End-to-end logits mean nothing with random weights: a random deep network amplifies any perturbation (rounding just
the input to 8 bits already limits ResNet50's logits to 13 dB SQNR), so a correct int8 ResNet50 lands at ~6 dB end
to end and top-1 agreement is a coin toss.
Depth `quick` runs the seven models the release named; `full` adds the other widths the row offers.
"""
import copy
import io
from types import SimpleNamespace

import pytest

from harness.measure import Measurement, assert_allclose, record
from suites import _models
from suites.vision import _compat

PTQ_QUICK = ("resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_large", "shufflenet_v2_x1_0", "googlenet",
             "inception_v3")
QAT_MODELS = ("resnet18", "mobilenet_v2")

# Per-layer SQNR on the calibration batch: 8-bit tensors with histogram-calibrated ranges (x86 and fbgemm keep 7
# bits of activation range) and per-channel weights measure 34-40 dB median and >= 28 dB per layer here; layers
# that see only a few values (Inception's last stages at 1x1) ~19 dB. A wrong scale, packing or fusion gives <= 0 dB.
MEDIAN_DB, WORST_DB = 30.0, 15.0
# QAT: int8 reproduces each fake-quantized layer up to a rounding step (>= 32 dB per layer measured here).
QAT_WORST_DB = 25.0
QAT_STEPS, QAT_LR = 6, 0.01
QAT_SIDE = 32  # the smallest input both networks take: a fake-quantized training step costs ~0.1 s
# Fixed batch, fixed seed: six SGD steps on eight images must cut the loss by at least a tenth.
QAT_LOSS_FALL = 0.9
# Realistic logits have a standard deviation ~1 (int8 ones too): a reference below this is degenerate.
MIN_STD = 0.05


def pytest_generate_tests(metafunc):
    if "quantizable" in metafunc.fixturenames:
        metafunc.parametrize("quantizable", _compat.model_params(
            metafunc.config, lambda tv: tv.models.quantization, _compat.quantizable_models, PTQ_QUICK))


def side(name: str) -> int:
    return 80 if name.startswith("inception") else 64  # Inception's documented minimum input is 75x75


def images(torch, count: int, size: int, seed: int):
    return torch.rand(count, 3, size, size, generator=torch.Generator().manual_seed(seed))


def sqnr(torch, signal, noisy) -> float:
    """Signal-to-quantization-noise ratio in dB."""
    return (20 * torch.log10(signal.norm() / (signal - noisy).norm())).item()


def layer_sqnr(torch, quantized, reference, batch) -> dict[str, float]:
    """SQNR of every int8 conv/linear against the same-named float module fed its (dequantized) input."""
    floats = dict(reference.named_modules())
    results = {}

    def shadow(name):
        def hook(module, inputs, output):
            results[name] = sqnr(torch, floats[name](inputs[0].dequantize()), output.dequantize())
        return hook

    hooks = [module.register_forward_hook(shadow(name)) for name, module in quantized.named_modules()
             if isinstance(module, _compat.quantized_layers(torch))]
    try:
        with torch.no_grad():
            quantized(batch)
    finally:
        for hook in hooks:
            hook.remove()
    return results


def assert_layers_close(request, per_layer: dict[str, float]) -> None:
    """Median and worst per-layer SQNR, recorded (metric snr_db, the floor as tolerance) and asserted."""
    assert per_layer, "convert produced no int8 conv/linear layer"
    values = sorted(per_layer.values())
    worst = min(per_layer, key=per_layer.get)
    median = values[len(values) // 2]
    record(request, Measurement("median layer", "snr_db", median, MEDIAN_DB))
    record(request, Measurement(f"worst layer ({worst})", "snr_db", per_layer[worst], WORST_DB))
    assert median >= MEDIAN_DB, f"median layer SQNR {median:.1f} dB"
    assert per_layer[worst] >= WORST_DB, f"{worst}: {per_layer[worst]:.1f} dB"


def make_realistic(torch, model, size: int) -> None:
    """Realistic parameters (suites/_models.py), BatchNorm statistics drawn around those of a probe batch: another
    draw of the calibration batch's distribution, as a trained model's statistics come from its training data.
    With the initial (0, 1) statistics random MobileNets emit logits of 1e-10 and Inception of 1e7, and no
    observed range means anything; with these every layer stays O(1)."""
    _models.realistic(torch, model, seed=0, probe=(_models.probe_images(torch, size, seed=101),))


def refresh_ranges(torch, model, batch) -> None:
    """Re-observe every range on the trained weights. The observers move 1% per step: a real QAT run converges
    them over thousands of steps, these few steps from random weights leave them far behind the weights, and
    fake quantization (7-bit range) and int8 (8-bit) then clip differently."""
    tq = _compat.quantization(torch)
    fake_quantize = getattr(tq, "FakeQuantizeBase", tq.FakeQuantize)
    for module in model.modules():
        if isinstance(module, fake_quantize):
            module.activation_post_process.reset_min_max_vals()
    with torch.no_grad():
        model(batch)


@pytest.fixture(scope="module")
def engine(torch):
    """The row's default server engine (x86, fbgemm before torch 2.0), restored afterwards."""
    previous = torch.backends.quantized.engine
    torch.backends.quantized.engine = _compat.default_engine(torch)
    yield torch.backends.quantized.engine
    torch.backends.quantized.engine = previous


@pytest.fixture(scope="module")
def post_training_quantized(torch, torchvision, engine):
    """The fused fp32 model, its int8 conversion and the batch, per model name, shared by the PTQ and script tests."""
    done = {}

    def quantize(name: str):
        if name not in done:
            done[name] = _post_training_quantize(torch, torchvision, engine, name)
        return done[name]
    return quantize


def _post_training_quantize(torch, torchvision, engine, name):
    tq = _compat.quantization(torch)
    batch = images(torch, 8, side(name), seed=1)
    torch.manual_seed(0)
    model = _compat.build(_compat.builder(torchvision.models.quantization, name), quantize=False).eval()
    make_realistic(torch, model, side(name))
    fused = copy.deepcopy(model)
    _compat.fuse(fused, is_qat=False)
    quantized = copy.deepcopy(fused)
    quantized.qconfig = tq.get_default_qconfig(engine)
    tq.prepare(quantized, inplace=True)
    with torch.no_grad():
        quantized(batch)
    tq.convert(quantized, inplace=True)
    return SimpleNamespace(fused=fused, quantized=quantized, images=batch)


@pytest.mark.feature("vision.quant.ptq")
def test_post_training_quantization_keeps_every_layer_close_to_fp32(torch, post_training_quantized, quantizable,
                                                                    request):
    """fuse_model, prepare, calibrate on a fixed batch, convert: the eager-mode recipe of the release."""
    result = post_training_quantized(quantizable)
    with torch.no_grad():
        reference = _compat.logits(result.fused(result.images))
    _models.assert_not_degenerate(torch, reference, min_std=MIN_STD, name="fp32 logits")
    assert_layers_close(request, layer_sqnr(torch, result.quantized, result.fused, result.images))


@pytest.mark.feature("vision.quant.qat")
@pytest.mark.parametrize("name", QAT_MODELS)
def test_quantization_aware_training_lowers_the_loss_and_converts(torch, torchvision, engine, name, request):
    """prepare_qat, a few training steps on a fixed batch, convert: int8 computes what fake quantization trained."""
    tq = _compat.quantization(torch)
    batch = images(torch, 8, QAT_SIDE, seed=3)
    labels = torch.randint(0, 10, (8,), generator=torch.Generator().manual_seed(3))
    torch.manual_seed(0)
    model = _compat.build(_compat.builder(torchvision.models.quantization, name), quantize=False, num_classes=10)
    make_realistic(torch, model, QAT_SIDE)
    model.train()
    _compat.fuse(model, is_qat=True)
    model.qconfig = tq.get_default_qat_qconfig(engine)
    tq.prepare_qat(model, inplace=True)
    optimizer = torch.optim.SGD(model.parameters(), lr=QAT_LR, momentum=0.9)
    losses = []
    for _ in range(QAT_STEPS):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(batch), labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < QAT_LOSS_FALL * losses[0], f"losses {[round(x, 3) for x in losses]}"

    model.eval()
    refresh_ranges(torch, model, batch)
    model.apply(tq.disable_observer)
    with torch.no_grad():
        _models.assert_not_degenerate(torch, model(batch), min_std=MIN_STD, name="fake-quantized logits")
    quantized = tq.convert(copy.deepcopy(model))
    per_layer = layer_sqnr(torch, quantized, model, batch)  # against the fake-quantized layers it was trained as
    assert per_layer, "convert produced no int8 conv/linear layer"
    worst = min(per_layer, key=per_layer.get)
    record(request, Measurement(f"worst layer ({worst})", "snr_db", per_layer[worst], QAT_WORST_DB))
    assert per_layer[worst] >= QAT_WORST_DB, f"{worst}: {per_layer[worst]:.1f} dB"


@pytest.mark.feature("vision.quant.script")
def test_quantized_model_scripts_and_reloads(torch, post_training_quantized, quantizable, request):
    """The int8 model is deployed as TorchScript: scripted, saved and reloaded, it computes the same bits."""
    result = post_training_quantized(quantizable)
    scripted = torch.jit.script(result.quantized)
    buffer = io.BytesIO()
    torch.jit.save(scripted, buffer)
    buffer.seek(0)
    reloaded = torch.jit.load(buffer)
    with torch.no_grad():
        expected = result.quantized(result.images)
        scripted(result.images)  # the profiling executor optimizes from the second call
        actual = _compat.logits(scripted(result.images))
        after_load = _compat.logits(reloaded(result.images))
    _models.assert_not_degenerate(torch, expected, min_std=MIN_STD, name="int8 logits")
    # Integer kernels with one float requantization per layer, the same graph: the same bits, no tolerance.
    assert_allclose(request, "scripted", actual, expected, rtol=0.0, atol=0.0)
    assert_allclose(request, "reloaded", after_load, expected, rtol=0.0, atol=0.0)
