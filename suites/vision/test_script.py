"""TorchScript for torchvision models, as the 0.5 release promised: every model scripts and agrees with eager.

Random weights, fixed seeds, small inputs. Depth `quick` runs one cheap classifier per source module of
torchvision.models plus the variants that compile other classes (_compat.QUICK_CLASSIFIERS), and one detector per
detection module (Faster, Mask and Keypoint R-CNN, RetinaNet, SSD, SSDlite, FCOS); `full` runs every model the
row's torchvision offers.
"""
import io

import pytest

from suites.vision import _compat

# Eager and scripted run the same float32 kernels; the JIT's profiling executor may fuse elementwise ops and
# reorder float32 sums, so allow float32 round-off through a deep network. ATOL is relative to the output's
# magnitude, because random-weight networks emit logits anywhere from 1e-10 to 1e3.
RTOL, ATOL = 1e-4, 1e-5

QUICK_DETECTORS = (
    "fasterrcnn_resnet50_fpn", "maskrcnn_resnet50_fpn", "keypointrcnn_resnet50_fpn", "retinanet_resnet50_fpn",
    "ssd300_vgg16", "ssdlite320_mobilenet_v3_large", "fcos_resnet50_fpn",
)


def pytest_generate_tests(metafunc):
    if "detector" in metafunc.fixturenames:
        metafunc.parametrize("detector", _compat.model_params(
            metafunc.config, lambda tv: tv.models.detection, _compat.detection_models, QUICK_DETECTORS))


def assert_close(torch, actual, expected, rtol=RTOL, atol=ATOL):
    scale = expected.abs().max().item() if expected.numel() else 0.0
    torch.testing.assert_close(actual, expected, rtol=rtol, atol=atol * max(scale, 1e-30))


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
def test_classifier_scripts_and_its_saved_copy_agrees(torch, torchvision, classifier):
    """torch.jit.script compiles the model's Python; the saved file is what C++ and mobile deployments load."""
    kwargs, side = _compat.classifier_setup(classifier)
    torch.manual_seed(0)
    model = _compat.build(_compat.builder(torchvision.models, classifier), **kwargs).eval()
    images = torch.rand(2, 3, side, side)
    scripted = torch.jit.script(model)
    reloaded = round_trip(torch, scripted)
    with torch.no_grad():
        expected = model(images)
        actual = _compat.logits(run_optimized(scripted, images))
        after_load = _compat.logits(reloaded(images))
    assert_close(torch, actual, expected)
    assert_close(torch, after_load, actual)


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
def test_detector_scripts_and_agrees_with_eager(torch, torchvision, detector):
    """A scripted detector returns (losses, detections): both must be what the eager model computes."""
    detection = torchvision.models.detection
    family = _compat.family(detection, detector)
    torch.manual_seed(0)
    model = _compat.build(_compat.builder(detection, detector), num_classes=NUM_CLASSES,
                          **detector_kwargs(family)).eval()
    images = [torch.rand(3, h, w) for h, w in IMAGE_SIZES]
    scripted = torch.jit.script(model)

    with torch.no_grad():
        expected = model(images)
        losses, detections = run_optimized(scripted, images)
    assert losses == {}
    assert all(len(d["boxes"]) for d in expected), "random weights gave no detection to compare"
    for actual, wanted in zip(detections, expected, strict=True):
        assert actual.keys() == wanted.keys()
        for key in wanted:
            assert_close(torch, actual[key], wanted[key])

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
    for key, value in expected_losses.items():
        assert_close(torch, actual_losses[key].detach(), value.detach())
