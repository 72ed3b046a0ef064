"""ONNX export of torchvision models, as the 0.5 release promised for every model, Mask R-CNN included.

Each exported graph runs in onnxruntime, an independent implementation of every operator, and must agree with
the eager model. Depth `quick` exports the scripting check's sample (one classifier per source module) with the
TorchScript-based exporter and ResNet18 with the dynamo exporter (~5-10 s a model); `full` exports every
classifier with both exporters.
"""
import numpy as np
import pytest

from harness.measure import Measurement, assert_allclose, record
from harness.plugin import require_module
from suites import _models
from suites.vision import _compat

# The TorchScript exporter traces: its warnings about Python values frozen into the trace are expected here.
pytestmark = pytest.mark.filterwarnings("ignore:.*trace")

# onnxruntime's convolution and matmul kernels sum in another order than ATen's. torchvision's own test_onnx.py
# allows rtol 1e-3, atol 1e-5 on pretrained models, whose logits are O(1-10). With realistic parameters
# (suites/_models.py) ours are O(1) too (std ~1, max 3-10 on the quick sample), but a random network amplifies
# float32 round-off more than a trained one: onnxruntime's error measured up to 2.7e-5 of the output's largest
# magnitude (Inception V3, EfficientNetV2-S; 1e-6 to 1e-5 elsewhere, torch 2.14). ATOL is therefore 1e-4 of that
# magnitude (~4e-4 absolute): 4x headroom over the worst, while a dropped folded BatchNorm bias
# (pytorch/pytorch#169178: 0.92 on ResNet18, output scale 3.8) is 600x outside it.
RTOL, ATOL = 1e-3, 1e-4
# The reference must vary, or agreement proves nothing: realistic logits have std ~1.
MIN_STD = 0.05

# The dynamo exporter takes 5-10 s a model: `quick` exports one, `full` every classifier.
QUICK_DYNAMO_EXPORTER = ("resnet18",)


def pytest_generate_tests(metafunc):
    if "dynamo_classifier" in metafunc.fixturenames:
        metafunc.parametrize("dynamo_classifier", _compat.model_params(
            metafunc.config, lambda tv: tv.models, _compat.classification_models, QUICK_DYNAMO_EXPORTER,
            every_family=False))


@pytest.fixture(scope="module")
def onnxruntime(request):
    return require_module(request.config, "onnxruntime")


def run_onnx(onnxruntime, path, *inputs) -> list:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1  # see _compat.one_thread
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = [arg.name for arg in session.get_inputs()]
    return session.run(None, {name: value.numpy() for name, value in zip(names, inputs, strict=True)})


def assert_agrees(request, name: str, actual: np.ndarray, expected, rtol=RTOL, atol=ATOL) -> None:
    """onnxruntime's output against eager, measured and recorded (harness.measure) as well as asserted."""
    expected = expected.detach().numpy()
    assert actual.shape == expected.shape, f"{name}: shape {actual.shape} != eager {expected.shape}"
    scale = float(np.abs(expected).max()) if expected.size else 0.0
    assert_allclose(request, name, actual, expected, rtol=rtol, atol=atol * max(scale, 1e-30))


def classifier_and_images(torch, torchvision, name):
    """The classifier with realistic parameters (BatchNorm statistics drawn around a probe batch's, non-zero
    biases: what exposes a dropped folded bias), and the two images the check exports and compares on."""
    kwargs, side = _compat.classifier_setup(name)
    torch.manual_seed(0)
    model = _compat.build(_compat.builder(torchvision.models, name), **kwargs).eval()
    _models.realistic(torch, model, seed=0, probe=(_models.probe_images(torch, side),))
    return model, torch.rand(2, 3, side, side)


@pytest.mark.feature("vision.onnx.torchscript_exporter")
def test_classifier_exports_with_the_torchscript_exporter(torch, torchvision, onnxruntime, classifier, tmp_path,
                                                          request):
    """torch.onnx.export traced through TorchScript: the exporter of the 0.5 release, default until torch 2.9."""
    model, images = classifier_and_images(torch, torchvision, classifier)
    path = tmp_path / f"{classifier}.onnx"
    # Exported with autograd on, as documented: under no_grad nn.MultiheadAttention takes its fused fast path,
    # which the TorchScript exporter cannot translate (pytorch/pytorch#143107).
    _compat.export_torchscript_onnx(torch, model, (images,), path, input_names=["images"])
    with torch.no_grad():
        expected = model(images)
    (actual,) = run_onnx(onnxruntime, path, images)
    _models.assert_not_degenerate(torch, expected, min_std=MIN_STD, name="eager logits")
    assert_agrees(request, "onnxruntime", actual, expected)


@pytest.mark.feature("vision.onnx.dynamo_exporter")
def test_classifier_exports_with_the_dynamo_exporter(torch, torchvision, onnxruntime, dynamo_classifier, tmp_path,
                                                     request):
    """torch.onnx.export(dynamo=True) captures the model with torch.export and translates it with onnxscript."""
    require_module(request.config, "onnxscript")
    model, images = classifier_and_images(torch, torchvision, dynamo_classifier)
    path = tmp_path / f"{dynamo_classifier}.onnx"
    _compat.export_dynamo_onnx(torch, model, (images,), path)
    with torch.no_grad():
        expected = model(images)
    (actual,) = run_onnx(onnxruntime, path, images)
    _models.assert_not_degenerate(torch, expected, min_std=MIN_STD, name="eager logits")
    assert_agrees(request, "onnxruntime", actual, expected)


# ---- Mask R-CNN -----------------------------------------------------------------------------------

MASK_OUTPUTS = ["boxes", "labels", "scores", "masks"]
# Dynamic axes as torchvision's test_onnx.py exports Mask R-CNN: any image size, any number of detections.
DYNAMIC_AXES = {"images": [0, 1, 2], "boxes": [0, 1], "labels": [0], "scores": [0], "masks": [0, 1, 2]}
# Pasting a 28x28 mask into the image rounds box corners differently in the ONNX graph than in eager: a few border
# pixels differ (measured 26 of 600,000, by up to 0.007). torchvision's test accepts a mismatch that prints as
# 0.00%; allow 1 pixel in 10,000, each within 0.05 of eager.
MASK_MISMATCH_FRACTION, MASK_MAX_ERROR = 1e-4, 0.05
# A mask pixel is a probability in [0, 1]: it matches within torchvision's own tolerance, unscaled.
MASK_RTOL, MASK_ATOL = 1e-3, 1e-5


# Where a blank image's features never go (proposal scoring, box regression, the mask branch): biases drawn again.
OFF_BLANK_PATH = ("rpn.head", "roi_heads.box_predictor.bbox_pred", "roi_heads.mask_head", "roi_heads.mask_predictor")
# A random image's box scores must vary, or "the graph agrees with eager" is checked on saturated values.
MIN_SCORE_STD = 1e-3


def mask_rcnn(torch, torchvision):
    """Mask R-CNN with realistic parameters except one property it keeps on purpose: an image of the mean colour
    gives no detection, so the exported graph is also checked on the empty path (zero boxes, zero masks).

    The image normalizes to zero; `_models.realistic(..., keep_zero=True)` makes every layer map zero to zero
    (conv/linear biases 0, each BatchNorm's bias set from its random statistics so that 0 stays 0), so every
    feature and proposal feature of that image is zero and only the class bias decides: background.
    logit(background) - logit(object) = 4: score of a zero feature 1/(1+e^4) = 0.018 < box_score_thresh 0.05.
    Weights and BatchNorm statistics are drawn as everywhere else (relative to a probe image), and the parts the
    blank image never reaches get non-zero biases back. Random images then give scores 0.2-0.4 (torch 2.14)."""
    torch.manual_seed(0)
    model = _compat.build(torchvision.models.detection.maskrcnn_resnet50_fpn, num_classes=2,
                          min_size=200, max_size=300, box_detections_per_img=10).eval()
    probe = torch.rand(3, 200, 300, generator=torch.Generator().manual_seed(100))
    _models.realistic(torch, model, seed=0, probe=([probe],), keep_zero=True)
    generator = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for prefix in OFF_BLANK_PATH:
            for name, param in model.named_parameters():
                if name.startswith(prefix) and name.endswith(".bias"):
                    param.copy_(torch.rand(param.shape, generator=generator) - 0.5)
        model.roi_heads.box_predictor.cls_score.bias.copy_(torch.tensor([4.0, 0.0]))
    return model


@pytest.mark.feature("vision.onnx.maskrcnn")
def test_mask_rcnn_exports_with_dynamic_axes_and_agrees_with_eager(torch, torchvision, onnxruntime, tmp_path,
                                                                     request):
    """Exported on one image, the graph must serve other image sizes and images without any detection."""
    model = mask_rcnn(torch, torchvision)
    generator = torch.Generator().manual_seed(1)
    first, second = torch.rand(3, 200, 300, generator=generator), torch.rand(3, 250, 200, generator=generator)
    blank = torch.tensor(model.transform.image_mean).view(3, 1, 1).expand(3, 120, 150).contiguous()
    path = tmp_path / "maskrcnn.onnx"
    _compat.export_torchscript_onnx(torch, model, ([first],), path, input_names=["images"],
                                    output_names=MASK_OUTPUTS, dynamic_axes=DYNAMIC_AXES)
    with torch.no_grad():
        expected = {name: model([image])[0] for name, image in
                    (("first", first), ("second", second), ("blank", blank))}
    assert len(expected["first"]["boxes"]) and len(expected["second"]["boxes"]), "no detections to compare"
    assert len(expected["blank"]["boxes"]) == 0
    for name in ("first", "second"):
        _models.assert_not_degenerate(torch, expected[name]["scores"], min_std=MIN_SCORE_STD, name=f"{name} scores")
        _models.assert_not_degenerate(torch, expected[name]["masks"], min_std=MIN_SCORE_STD, name=f"{name} masks")

    for name, image in (("first", first), ("second", second), ("blank", blank)):
        actual = dict(zip(MASK_OUTPUTS, run_onnx(onnxruntime, path, image), strict=True))
        wanted = expected[name]
        assert_agrees(request, f"{name}.boxes", actual["boxes"], wanted["boxes"])
        np.testing.assert_array_equal(actual["labels"], wanted["labels"].numpy())
        assert_agrees(request, f"{name}.scores", actual["scores"], wanted["scores"])
        masks, wanted_masks = actual["masks"], wanted["masks"].numpy()
        assert masks.shape == wanted_masks.shape, name
        if masks.size:
            mismatch = ~np.isclose(masks, wanted_masks, rtol=MASK_RTOL, atol=MASK_ATOL)
            error = float(np.abs(masks - wanted_masks).max())
            record(request, Measurement(f"{name}.masks", "mismatch_fraction", float(mismatch.mean()),
                                        MASK_MISMATCH_FRACTION, max_abs=error, mismatched=int(mismatch.sum())))
            record(request, Measurement(f"{name}.masks", "max_abs", error, MASK_MAX_ERROR))
            assert mismatch.mean() <= MASK_MISMATCH_FRACTION, f"{name}: {mismatch.sum()} of {mismatch.size} pixels"
            assert error <= MASK_MAX_ERROR, name
