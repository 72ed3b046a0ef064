"""TorchScript for torchvision models, as the 0.5 release promised: every model scripts and agrees with eager.

Random weights, fixed seeds, small inputs. Depth `quick` runs one cheap classifier per source module of
torchvision.models plus the variants that compile other classes (_compat.QUICK_CLASSIFIERS), and one detector per
detection module (Faster, Mask and Keypoint R-CNN, RetinaNet, SSD, SSDlite, FCOS); `full` runs every model the
row's torchvision offers.
"""
import io

import pytest

from harness.measure import assert_allclose
from suites import _models
from suites.vision import _compat

# Eager and scripted run the same float32 kernels; the JIT's profiling executor may fuse elementwise ops and
# reorder float32 sums, so allow float32 round-off through a deep network. ATOL is relative to the output's
# magnitude: with realistic parameters (suites/_models.py) every classifier's logits are O(1) (std 0.5-4.3, max
# 2-15 measured on the quick sample, torch 2.14), so the bound is ~1e-5-1e-4 absolute; the scaling only guards
# the boxes of a detector, which are in pixels (O(100)).
RTOL, ATOL = 1e-4, 1e-5
# The reference must vary, or the comparison proves nothing: realistic logits have std >= 0.5.
MIN_STD = 0.05

QUICK_DETECTORS = (
    "fasterrcnn_resnet50_fpn", "maskrcnn_resnet50_fpn", "keypointrcnn_resnet50_fpn", "retinanet_resnet50_fpn",
    "ssd300_vgg16", "ssdlite320_mobilenet_v3_large", "fcos_resnet50_fpn",
)


def pytest_generate_tests(metafunc):
    if "detector" in metafunc.fixturenames:
        metafunc.parametrize("detector", _compat.model_params(
            metafunc.config, lambda tv: tv.models.detection, _compat.detection_models, QUICK_DETECTORS))


def assert_close(request, name, actual, expected, rtol=RTOL, atol=ATOL):
    """Measured and recorded (harness.measure) as well as asserted; a shape difference fails first."""
    assert actual.shape == expected.shape, f"{name}: shape {tuple(actual.shape)} != {tuple(expected.shape)}"
    scale = expected.abs().max().item() if expected.numel() else 0.0
    assert_allclose(request, name, actual.detach().double(), expected.detach().double(), rtol=rtol,
                    atol=atol * max(scale, 1e-30))




def run_optimized(scripted, *args):
    """The profiling executor records shapes on the first call and runs its optimized graph from the second."""
    scripted(*args)
    return scripted(*args)


def round_trip(torch, scripted):
    buffer = io.BytesIO()
    torch.jit.save(scripted, buffer)
    buffer.seek(0)
    return torch.jit.load(buffer)


@pytest.mark.feature("vision.script.classification")
def test_classifier_scripts_and_its_saved_copy_agrees(torch, torchvision, classifier, request):
    """torch.jit.script compiles the model's Python; the saved file is what C++ and mobile deployments load."""
    kwargs, side = _compat.classifier_setup(classifier)
    torch.manual_seed(0)
    model = _compat.build(_compat.builder(torchvision.models, classifier), **kwargs).eval()
    # Statistics drawn around a probe batch: same distribution as the checked images, another draw, as a trained
    # model saw its training data and not the test batch.
    _models.realistic(torch, model, seed=0, probe=(_models.probe_images(torch, side),))
    images = torch.rand(2, 3, side, side)
    scripted = torch.jit.script(model)
    reloaded = round_trip(torch, scripted)
    with torch.no_grad():
        expected = model(images)
        actual = _compat.logits(run_optimized(scripted, images))
        after_load = _compat.logits(reloaded(images))
    _models.assert_not_degenerate(torch, expected, min_std=MIN_STD, name="eager logits")
    assert_close(request, "scripted", actual, expected)
    assert_close(request, "reloaded", after_load, actual)


# ---- detection ------------------------------------------------------------------------------------

NUM_CLASSES = 3  # background + 2 classes
# Image sides whose resize scale to min_size=96 is exact in float32 (1.5 and 2.0). The scripted transform
# computes the scale in float32 and eager in float64, so other sizes can resize to one row fewer when scripted
# (torchvision PR #3654 unified the resize paths with a float32 tensor scale; see pytorch/pytorch#58234).
IMAGE_SIZES = ((64, 80), (48, 56))
RESIZE = {"min_size": 96, "max_size": 160}


def detector_kwargs(family: str) -> dict:
    """Small inputs and few detections per image, so the per-detection heads (masks, keypoints) stay cheap."""
    if family in ("faster_rcnn", "mask_rcnn", "keypoint_rcnn"):
        # Random scores fall anywhere (Mask R-CNN v2 tops out at 0.05 here): keep the four best above 0.001.
        return {**RESIZE, "box_score_thresh": 0.001, "box_detections_per_img": 4, "box_batch_size_per_image": 32,
                "rpn_pre_nms_top_n_test": 100, "rpn_post_nms_top_n_test": 50,
                "rpn_pre_nms_top_n_train": 100, "rpn_post_nms_top_n_train": 50}
    if family == "retinanet":
        # Its classifier starts at the focal-loss prior 0.01: lower the 0.05 threshold so detections exist.
        return {**RESIZE, "detections_per_img": 4, "topk_candidates": 100, "score_thresh": 0.005}
    if family == "fcos":
        # Scores are sqrt(prior 0.01 x centerness ~0.5) ~ 0.07: below the default 0.2 threshold.
        return {**RESIZE, "detections_per_img": 4, "topk_candidates": 100, "score_thresh": 0.02}
    return {"detections_per_img": 4, "topk_candidates": 100}  # SSD, SSDlite: fixed 300/320 px inputs


def detection_targets(torch, family: str):
    """Two boxes per image, with the masks and keypoints the heads of Mask and Keypoint R-CNN train on."""
    targets = []
    for (height, width), boxes in zip(IMAGE_SIZES, ([[10, 8, 50, 40], [30, 20, 70, 60]],
                                                    [[5, 5, 40, 30], [20, 10, 50, 44]]), strict=True):
        boxes = torch.tensor(boxes, dtype=torch.float32)
        target = {"boxes": boxes, "labels": torch.tensor([1, 2])}
        if family == "mask_rcnn":
            masks = torch.zeros(len(boxes), height, width, dtype=torch.uint8)
            for mask, (x1, y1, x2, y2) in zip(masks, boxes.int().tolist(), strict=True):
                mask[y1:y2, x1:x2] = 1
            target["masks"] = masks
        if family == "keypoint_rcnn":
            corner, size = boxes[:, None, :2], (boxes[:, None, 2:] - boxes[:, None, :2])
            points = corner + size * torch.linspace(0.1, 0.9, 17)[None, :, None]
            target["keypoints"] = torch.cat([points, torch.ones(len(boxes), 17, 1)], dim=2)
        targets.append(target)
    return targets


@pytest.mark.feature("vision.script.detection")
def test_detector_scripts_and_agrees_with_eager(torch, torchvision, detector, request):
    """A scripted detector returns (losses, detections): both must be what the eager model computes."""
    detection = torchvision.models.detection
    family = _compat.family(detection, detector)
    torch.manual_seed(0)
    model = _compat.build(_compat.builder(detection, detector), num_classes=NUM_CLASSES,
                          **detector_kwargs(family)).eval()
    generator = torch.Generator().manual_seed(100)
    _models.realistic(torch, model, seed=0, probe=([torch.rand(3, h, w, generator=generator) for h, w in IMAGE_SIZES],))
    images = [torch.rand(3, h, w) for h, w in IMAGE_SIZES]
    scripted = torch.jit.script(model)

    with torch.no_grad():
        expected = model(images)
        losses, detections = run_optimized(scripted, images)
    assert losses == {}
    assert all(len(d["boxes"]) for d in expected), "random weights gave no detection to compare"
    _models.assert_not_degenerate(torch, torch.cat([d["scores"] for d in expected]), min_std=1e-4,
                                  name="eager scores")
    for index, (actual, wanted) in enumerate(zip(detections, expected, strict=True)):
        assert actual.keys() == wanted.keys()
        for key in wanted:
            assert_close(request, f"image{index}.{key}", actual[key], wanted[key])

    # Training mode: the samplers draw from the global generator, so both runs start from one seed.
    targets = detection_targets(torch, family)
    model.train()
    scripted.train()
    torch.manual_seed(1)
    expected_losses = model(images, targets)
    scripted(images, targets)  # the profiling run
    torch.manual_seed(1)
    actual_losses, _ = scripted(images, targets)
    assert actual_losses.keys() == expected_losses.keys()
    assert all(bool(torch.isfinite(v)) for v in expected_losses.values()), expected_losses
    for key, value in expected_losses.items():
        assert_close(request, f"loss.{key}", actual_losses[key], value)
