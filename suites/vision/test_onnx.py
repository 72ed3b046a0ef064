"""ONNX export of torchvision models, as the 0.5 release promised for every model, Mask R-CNN included.

Each exported graph runs in onnxruntime, an independent implementation of every operator, and must agree with
the eager model. Depth `quick` exports the scripting check's sample (one classifier per source module) with the
TorchScript-based exporter and ResNet18 with the dynamo exporter (~5-10 s a model); `full` exports every
classifier with both exporters.
"""
import numpy as np
import pytest

from harness.plugin import require_module
from suites.vision import _compat

# The TorchScript exporter traces: its warnings about Python values frozen into the trace are expected here.
pytestmark = pytest.mark.filterwarnings("ignore:.*trace")

# torchvision's own test_onnx.py tolerance: onnxruntime's convolution and matmul kernels sum in another order
# than ATen's. ATOL is scaled by the output's magnitude: torchvision tests pretrained models whose logits are
# O(1-10), random-weight logits range from 1e-10 (MobileNets) to 1e3.
RTOL, ATOL = 1e-3, 1e-5

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


def assert_agrees(actual: np.ndarray, expected, rtol=RTOL, atol=ATOL) -> None:
    expected = expected.detach().numpy()
    assert actual.shape == expected.shape
    scale = float(np.abs(expected).max()) if expected.size else 0.0
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol * max(scale, 1e-30))


def classifier_and_images(torch, torchvision, name):
    kwargs, side = _compat.classifier_setup(name)
    torch.manual_seed(0)
    model = _compat.build(_compat.builder(torchvision.models, name), **kwargs).eval()
    return model, torch.rand(2, 3, side, side)


@pytest.mark.feature("vision.onnx.torchscript_exporter")
def test_classifier_exports_with_the_torchscript_exporter(torch, torchvision, onnxruntime, classifier, tmp_path):
    """torch.onnx.export traced through TorchScript: the exporter of the 0.5 release, default until torch 2.9."""
    model, images = classifier_and_images(torch, torchvision, classifier)
    path = tmp_path / f"{classifier}.onnx"
    # Exported with autograd on, as documented: under no_grad nn.MultiheadAttention takes its fused fast path,
    # which the TorchScript exporter cannot translate (pytorch/pytorch#143107).
    _compat.export_torchscript_onnx(torch, model, (images,), path, input_names=["images"])
    with torch.no_grad():
        expected = model(images)
    (actual,) = run_onnx(onnxruntime, path, images)
    assert_agrees(actual, expected)


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
    assert_agrees(actual, expected)


# ---- Mask R-CNN -----------------------------------------------------------------------------------

MASK_OUTPUTS = ["boxes", "labels", "scores", "masks"]
# Dynamic axes as torchvision's test_onnx.py exports Mask R-CNN: any image size, any number of detections.
DYNAMIC_AXES = {"images": [0, 1, 2], "boxes": [0, 1], "labels": [0], "scores": [0], "masks": [0, 1, 2]}
# Pasting a 28x28 mask into the image rounds box corners differently in the ONNX graph than in eager: a few border
# pixels differ (measured 26 of 600,000, by up to 0.007). torchvision's test accepts a mismatch that prints as
# 0.00%; allow 1 pixel in 10,000, each within 0.05 of eager.
MASK_MISMATCH_FRACTION, MASK_MAX_ERROR = 1e-4, 0.05


def mask_rcnn(torch, torchvision):
    """Random-weight Mask R-CNN whose classifier leans to background: an image of the mean colour normalizes to
    zero, every feature and proposal feature is then zero, and only the class bias decides: background."""
    torch.manual_seed(0)
    model = _compat.build(torchvision.models.detection.maskrcnn_resnet50_fpn, num_classes=2,
                          min_size=200, max_size=300, box_detections_per_img=10).eval()
    with torch.no_grad():
        model.roi_heads.box_head.fc6.bias.zero_()
        model.roi_heads.box_head.fc7.bias.zero_()
        # logit(background) - logit(object) = 4: score of a zero feature 1/(1+e^4) = 0.018 < box_score_thresh 0.05.
        model.roi_heads.box_predictor.cls_score.bias.copy_(torch.tensor([4.0, 0.0]))
    return model


@pytest.mark.feature("vision.onnx.maskrcnn")
def test_mask_rcnn_exports_with_dynamic_axes_and_agrees_with_eager(torch, torchvision, onnxruntime, tmp_path):
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

    for name, image in (("first", first), ("second", second), ("blank", blank)):
        actual = dict(zip(MASK_OUTPUTS, run_onnx(onnxruntime, path, image), strict=True))
        wanted = expected[name]
        assert_agrees(actual["boxes"], wanted["boxes"])
        np.testing.assert_array_equal(actual["labels"], wanted["labels"].numpy())
        assert_agrees(actual["scores"], wanted["scores"])
        masks, wanted_masks = actual["masks"], wanted["masks"].numpy()
        assert masks.shape == wanted_masks.shape, name
        if masks.size:
            mismatch = ~np.isclose(masks, wanted_masks, rtol=RTOL, atol=ATOL)
            assert mismatch.mean() <= MASK_MISMATCH_FRACTION, f"{name}: {mismatch.sum()} of {mismatch.size} pixels"
            assert np.abs(masks - wanted_masks).max() <= MASK_MAX_ERROR, name
