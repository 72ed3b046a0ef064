"""Vision and deployment baselines: ResNet18 eager, scripted and int8; MobileNetV2 in the lite
interpreter; onnxruntime on the ONNX export. Each timed output is first checked against eager."""
import copy

import pytest

from harness.plugin import require_module
from suites import _models
from suites.bench import _compat
from suites.bench._bench import bench, measure

# Quick depth times batch 1 only (the latency case); full depth adds batch 8 (throughput).
BATCHES = {"quick": (1,), "full": (1, 8)}
# (rounds, warm-up rounds) per batch: ~50 ms of CPU per batch-1 forward, ~8x for batch 8.
ROUNDS = {1: (30, 3), 8: (10, 2)}
SIZE = 224  # the ImageNet resolution the models are used at

# Same float32 kernels, only the graph executor differs: float32 round-off of ~20 layers.
RTOL, ATOL = 1e-4, 1e-5
# onnxruntime uses its own conv kernels (and fuses batch norm), which reorder float32 sums.
ORT_RTOL, ORT_ATOL = 1e-3, 1e-4
# float32 against a float64 copy of the same weights: accumulated round-off of 18 layers stays
# far below this; a wrong kernel would be off by O(1).
F64_RTOL, F64_ATOL = 1e-3, 1e-4
# int8 against float32: per-tensor activation and per-channel weight rounding. Random weights
# spread activations evenly: the relative L2 error measured 2.7% in torch 2.3 and 2.14 with fresh
# parameters, 3.9% in torch 2.14 with realistic ones (logits std ~1).
INT8_REL_L2 = 0.10


# Every timed model has realistic parameters (suites/_models.py): non-trivial BatchNorm statistics and biases,
# so the kernels time what a trained model computes (no all-zero bias adds, no denormal-prone tiny activations),
# and its logits are O(1) (std ~1): the reference checks below assert that too.
MIN_STD = 0.05


def realistic(torch, model, seed=0):
    """`model` with realistic parameters, its statistics drawn around a probe batch at the timed size."""
    return _models.realistic(torch, model, seed=seed, probe=(_models.probe_images(torch, SIZE),))


def pytest_generate_tests(metafunc):
    if "batch" in metafunc.fixturenames:
        depth = metafunc.config.getoption("--depth")
        metafunc.parametrize("batch", BATCHES[depth], ids=lambda b: f"b{b}")


@pytest.fixture(scope="module")
def resnet18(torch, torchvision):
    torch.manual_seed(0)
    model = realistic(torch, torchvision.models.resnet18(num_classes=1000).eval())
    with torch.no_grad():
        _models.assert_not_degenerate(torch, model(images(torch, 1)), min_std=MIN_STD, name="ResNet18 logits")
    return model


def images(torch, batch):
    return torch.rand(batch, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(batch))


@bench("vision")
@pytest.mark.feature("bench.vision.resnet18_eager")
def test_resnet18_eager(torch, resnet18, benchmark, batch):
    """Eager ResNet18 forward: the baseline all other execution paths are compared to."""
    x = images(torch, batch)
    with torch.no_grad():
        expected = copy.deepcopy(resnet18).double()(x.double()).float()
        assert torch.allclose(resnet18(x), expected, rtol=F64_RTOL, atol=F64_ATOL)
        rounds, warmup = ROUNDS[batch]
        measure(benchmark, lambda: resnet18(x), rounds=rounds, warmup=warmup, batch=batch)


@bench("vision")
@pytest.mark.feature("bench.vision.resnet18_scripted")
def test_resnet18_scripted(torch, resnet18, benchmark, batch):
    """TorchScript ResNet18 forward; the profiling executor optimises during warm-up."""
    x = images(torch, batch)
    scripted = torch.jit.script(resnet18)
    with torch.no_grad():
        assert torch.allclose(scripted(x), resnet18(x), rtol=RTOL, atol=ATOL)
        rounds, warmup = ROUNDS[batch]
        measure(benchmark, lambda: scripted(x), rounds=rounds, warmup=warmup, batch=batch)


@bench("vision")
@pytest.mark.feature("bench.vision.resnet18_quantized")
def test_resnet18_int8(torch, torchvision, benchmark, batch):
    """Post-training static int8 quantization (fuse, calibrate, convert) of the same ResNet18."""
    engine = _compat.quantize_engine(torch)
    torch.backends.quantized.engine = engine
    torch.manual_seed(0)
    model = realistic(torch, torchvision.models.quantization.resnet18(quantize=False, num_classes=1000).eval())
    reference = torchvision.models.quantization.resnet18(quantize=False, num_classes=1000).eval()
    reference.load_state_dict(model.state_dict())
    model.fuse_model()
    model.qconfig = torch.ao.quantization.get_default_qconfig(engine)
    torch.ao.quantization.prepare(model, inplace=True)
    x = images(torch, batch)
    with torch.no_grad():
        for seed in range(4):  # calibrate the observers on inputs from the same distribution
            model(torch.rand(2, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(100 + seed)))
        torch.ao.quantization.convert(model, inplace=True)
        actual, expected = model(x), reference(x)
        assert (actual - expected).norm() / expected.norm() < INT8_REL_L2
        rounds, warmup = ROUNDS[batch]
        measure(benchmark, lambda: model(x), rounds=rounds, warmup=warmup, batch=batch,
                engine=engine)


@bench("mobile")
@pytest.mark.feature("bench.core.lite_interpreter")
def test_mobilenet_v2_lite_interpreter(torch, torchvision, benchmark, tmp_path):
    """MobileNetV2 saved for and loaded by the lite interpreter, as a mobile app runs it."""
    from torch.jit.mobile import _load_for_lite_interpreter

    torch.manual_seed(0)
    model = realistic(torch, torchvision.models.mobilenet_v2(num_classes=1000).eval())
    path = tmp_path / "mobilenet_v2.ptl"
    torch.jit.script(model)._save_for_lite_interpreter(str(path))
    lite = _load_for_lite_interpreter(str(path))
    x = images(torch, 1)
    with torch.no_grad():
        expected = model(x)
        _models.assert_not_degenerate(torch, expected, min_std=MIN_STD, name="MobileNetV2 logits")
        assert torch.allclose(lite(x), expected, rtol=RTOL, atol=ATOL)
    measure(benchmark, lambda: lite(x), rounds=50, warmup=5, batch=1)


@bench("onnx")
@pytest.mark.feature("bench.onnx.onnxruntime")
def test_onnxruntime_resnet18(torch, resnet18, benchmark, request, tmp_path):
    """onnxruntime (CPU provider, one intra-op thread) running the ONNX export of ResNet18."""
    ort = require_module(request.config, "onnxruntime")
    x = images(torch, 1)
    path = tmp_path / "resnet18.onnx"
    _compat.export_onnx(torch, resnet18, x, path)
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feed = {"input": x.numpy()}
    with torch.no_grad():
        expected = resnet18(x)
    assert torch.allclose(torch.from_numpy(session.run(None, feed)[0]), expected,
                          rtol=ORT_RTOL, atol=ORT_ATOL)
    measure(benchmark, lambda: session.run(None, feed), rounds=30, warmup=3, batch=1,
            onnxruntime=ort.__version__)
