"""CUDA builds must compute what the CPU computes: each check runs on both and compares.

CPU-only environments show these features as `n/a` (the registry marks them device = "cuda").
"""
import copy
import os
from pathlib import Path

import pytest

from harness.isolate import run_python
from harness.measure import Measurement, assert_allclose, record
from harness.plugin import require_module
from suites import _models
from suites.audio._signals import speech_in_silence

REPO = Path(__file__).resolve().parents[2]
# Same float32 math, different kernels (cuFFT vs pocketfft, different reduction order).
FFT_RTOL, FFT_ATOL = 1e-4, 1e-3
# A recursive IIR filter accumulates the kernel's round-off sample after sample.
IIR_ATOL = 1e-4
# Convolution networks: TF32 matmuls/convs on Ampere+ keep 10 mantissa bits (~1e-3 relative)
# and cuDNN picks different algorithms; compare against a relative bound of the output scale.
# The models have realistic parameters (suites/_models.py): logits O(1) (std ~1, max 3-5), so
# the bound is ~0.1 absolute, while a dropped folded bias moves them by O(1).
NET_REL = 2e-2
# The CPU reference must vary, or agreement proves nothing: realistic logits have std ~1.
MIN_STD = 0.05


def realistic_model(torch, torchvision, name, side=64):
    """A classifier with realistic parameters (statistics drawn around a CPU probe batch's), eval mode."""
    torch.manual_seed(0)
    model = torchvision.models.get_model(name, num_classes=10).eval()
    return _models.realistic(torch, model, seed=0, probe=(_models.probe_images(torch, side),))


def assert_net_close(request, name, actual, expected):
    """Absolute bound NET_REL x the reference's largest magnitude, measured and recorded."""
    scale = max(float(abs(expected).max()), 1e-3)
    assert_allclose(request, name, actual, expected, rtol=0.0, atol=NET_REL * scale)


@pytest.fixture(scope="module")
def cuda(torch):
    return torch.device("cuda")


@pytest.mark.feature("audio.cuda.transforms")
def test_audio_transforms_on_cuda_equal_cpu(torch, torchaudio, cuda):
    torch.manual_seed(0)
    wave = torch.rand(2, 16000) * 2 - 1
    mfcc = torchaudio.transforms.MFCC(sample_rate=16000, n_mfcc=13)
    on_gpu = copy.deepcopy(mfcc).to(cuda)  # Module.to moves in place: keep a CPU twin
    assert torch.allclose(on_gpu(wave.to(cuda)).cpu(), mfcc(wave), rtol=FFT_RTOL, atol=FFT_ATOL)
    F = torchaudio.functional
    for name, filt in {"lowpass": lambda w: F.lowpass_biquad(w, 16000, 1000.0),
                       "highpass": lambda w: F.highpass_biquad(w, 16000, 1000.0),
                       "equalizer": lambda w: F.equalizer_biquad(w, 16000, 1000.0, 6.0)}.items():
        assert torch.allclose(filt(wave.to(cuda)).cpu(), filt(wave), atol=IIR_ATOL), name
    spec = mfcc(wave)
    masking = torchaudio.transforms.FrequencyMasking(freq_mask_param=5)
    torch.manual_seed(1)
    on_cpu = masking(spec)
    torch.manual_seed(1)
    on_gpu = masking(spec.to(cuda)).cpu()
    # The mask position is drawn from the CPU generator on both devices: identical masks.
    assert torch.equal(on_gpu == 0, on_cpu == 0)


@pytest.mark.feature("audio.cuda.vad")
@pytest.mark.parametrize("noise", [0.0, 0.003], ids=["clean", "noisy"])
def test_vad_on_cuda_equals_cpu(torch, torchaudio, cuda, request, noise):
    """`functional.vad` trims at the CPU's position (both ends) and keeps the input's samples.

    The decision is per measurement period (800 samples at 16 kHz); cuFFT's round-off could flip
    one period at the trigger threshold, so the position may differ by at most one period
    (the same bound as against SoX, suites/audio/test_vad.py), recorded in samples.
    """
    rate = 16000
    period = rate // 20  # 1 / measure_freq (20 Hz by default)
    wave = torch.from_numpy(speech_in_silence(rate, noise=noise, seed=0))[None, :]
    vad = torchaudio.functional.vad
    for end, fn in {"leading": lambda w: vad(w, rate),
                    "both ends": lambda w: vad(vad(w, rate).flip(-1), rate).flip(-1)}.items():
        on_cpu, on_gpu = fn(wave), fn(wave.to(cuda)).cpu()
        error = abs(on_gpu.shape[-1] - on_cpu.shape[-1])
        record(request, Measurement(f"{end}: kept samples CUDA vs CPU", "max_abs", float(error), float(period),
                                    max_abs=float(error)))
        assert error <= period, f"{end}: CUDA keeps {on_gpu.shape[-1]} samples, CPU {on_cpu.shape[-1]}"
        if error == 0:  # vad copies samples, it computes none: the kept samples are identical
            assert torch.equal(on_gpu, on_cpu), end


@pytest.mark.feature("vision.cuda.script")
def test_scripted_models_on_cuda_agree_with_cpu_eager(torch, torchvision, cuda, depth, request):
    names = ["resnet18", "mobilenet_v3_small"] + (["efficientnet_b0", "regnet_y_400mf"] if depth == "full" else [])
    for name in names:
        model = realistic_model(torch, torchvision, name)
        x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            expected = model(x)
            scripted = torch.jit.script(model).to(cuda)
            scripted(x.to(cuda))  # the profiling executor optimises from the second call
            got = scripted(x.to(cuda)).cpu()
        _models.assert_not_degenerate(torch, expected, min_std=MIN_STD, name=f"{name} CPU logits")
        assert_net_close(request, name, got, expected)


@pytest.mark.feature("vision.cuda.ops")
def test_nms_and_roi_align_on_cuda_equal_cpu(torch, torchvision, cuda):
    torch.manual_seed(0)
    xy = torch.rand(200, 2) * 100
    boxes = torch.cat([xy, xy + torch.rand(200, 2) * 50 + 1], dim=1)
    scores = torch.rand(200)
    keep_cpu = torchvision.ops.nms(boxes, scores, 0.5)
    keep_gpu = torchvision.ops.nms(boxes.to(cuda), scores.to(cuda), 0.5).cpu()
    assert torch.equal(keep_cpu, keep_gpu)
    feats = torch.rand(2, 8, 32, 32)
    rois = torch.cat([torch.randint(0, 2, (20, 1)).float(), boxes[:20] / 5], dim=1)
    cpu = torchvision.ops.roi_align(feats, rois, output_size=(7, 7), spatial_scale=1.0, sampling_ratio=2)
    gpu = torchvision.ops.roi_align(feats.to(cuda), rois.to(cuda), output_size=(7, 7), spatial_scale=1.0,
                                    sampling_ratio=2).cpu()
    # Bilinear interpolation of the same inputs: only float32 rounding of the weights differs.
    assert torch.allclose(cpu, gpu, atol=1e-5)


@pytest.mark.feature("core.cuda.rpc_device_map")
def test_rpc_moves_cuda_tensors_through_device_maps(torch, tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    done = run_python(["-m", "suites.cuda._rpc_cuda_worker", str(tmp_path)], 120, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    result = torch.load(tmp_path / "result.pt", weights_only=True)
    assert result["device"] == "cuda:0"  # arrived on the mapped device, not copied to CPU
    assert torch.equal(result["value"], result["expected"])


@pytest.mark.feature("vision.cuda.onnxruntime")
def test_onnxruntime_cuda_provider_agrees(request, torch, torchvision, tmp_path):
    ort = require_module(request.config, "onnxruntime")
    assert "CUDAExecutionProvider" in ort.get_available_providers()
    model = realistic_model(torch, torchvision, "resnet18")
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    path = tmp_path / "resnet18.onnx"
    kwargs = {"dynamo": False} if "dynamo" in torch.onnx.export.__code__.co_varnames else {}
    torch.onnx.export(model, (x,), str(path), input_names=["x"], **kwargs)
    session = ort.InferenceSession(str(path), providers=["CUDAExecutionProvider"])
    with torch.no_grad():
        expected = model(x).numpy()
    got = session.run(None, {"x": x.numpy()})[0]
    _models.assert_not_degenerate(torch, expected, min_std=MIN_STD, name="CPU logits")
    assert_net_close(request, "onnxruntime-cuda", got, expected)
