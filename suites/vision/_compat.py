"""Adapters over torchvision and torch releases: model lists, random-weight builders, quantization and ONNX calls.

Every version difference of the vision suite lives here, so the tests read as the 0.5 release promised them.
Row libraries arrive as arguments (the plugin's fixtures); nothing here imports them at module level.
"""
from __future__ import annotations

import contextlib
import inspect

# Parameter of a model test when the row's torchvision cannot even be imported: the test still runs, asks for
# the `torchvision` fixture, and so reports the import failure as `error` instead of vanishing from collection.
UNAVAILABLE = "torchvision-unavailable"

# Depth `quick` for the classifiers (scripting and the TorchScript-based ONNX exporter): one cheap model per source
# module of torchvision.models, the code that scripting compiles and the exporter traces (models of one module
# differ in widths and depths), plus the variants that compile other classes: EfficientNetV2's fused blocks and
# Swin V2's attention.
QUICK_CLASSIFIERS = (
    "alexnet", "convnext_tiny", "densenet121", "efficientnet_b0", "efficientnet_v2_s", "googlenet", "inception_v3",
    "maxvit_t", "mnasnet0_5", "mobilenet_v2", "mobilenet_v3_small", "regnet_x_400mf", "resnet18",
    "shufflenet_v2_x0_5", "squeezenet1_1", "swin_t", "swin_v2_t", "vgg11", "vit_b_32",
)

# Builders of the releases before torchvision.models.list_models (0.14), filtered by what the row has.
LEGACY_CLASSIFIERS = (
    "alexnet", "densenet121", "densenet161", "densenet169", "densenet201", "efficientnet_b0", "efficientnet_b1",
    "efficientnet_b2", "efficientnet_b3", "efficientnet_b4", "efficientnet_b5", "efficientnet_b6", "efficientnet_b7",
    "efficientnet_v2_s", "efficientnet_v2_m", "efficientnet_v2_l", "convnext_tiny", "convnext_small", "convnext_base",
    "convnext_large", "googlenet", "inception_v3", "mnasnet0_5", "mnasnet0_75", "mnasnet1_0", "mnasnet1_3",
    "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small", "regnet_x_400mf", "regnet_x_800mf", "regnet_x_1_6gf",
    "regnet_x_3_2gf", "regnet_x_8gf", "regnet_x_16gf", "regnet_x_32gf", "regnet_y_400mf", "regnet_y_800mf",
    "regnet_y_1_6gf", "regnet_y_3_2gf", "regnet_y_8gf", "regnet_y_16gf", "regnet_y_32gf", "regnet_y_128gf",
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "resnext101_32x8d",
    "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0", "squeezenet1_0",
    "squeezenet1_1", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
    "vit_b_16", "vit_b_32", "vit_l_16", "vit_l_32", "wide_resnet50_2", "wide_resnet101_2",
)
LEGACY_DETECTORS = (
    "fasterrcnn_resnet50_fpn", "fasterrcnn_mobilenet_v3_large_fpn", "fasterrcnn_mobilenet_v3_large_320_fpn",
    "maskrcnn_resnet50_fpn", "keypointrcnn_resnet50_fpn", "retinanet_resnet50_fpn", "fcos_resnet50_fpn",
    "ssd300_vgg16", "ssdlite320_mobilenet_v3_large",
)
LEGACY_QUANTIZABLE = (
    "googlenet", "inception_v3", "mobilenet_v2", "mobilenet_v3_large", "resnet18", "resnet50", "resnext101_32x8d",
    "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0",
)


def _listed(module, legacy: tuple[str, ...], list_models) -> list[str]:
    if list_models is not None:
        return sorted(list_models(module=module))
    return sorted(name for name in legacy if callable(getattr(module, name, None)))


def classification_models(torchvision) -> list[str]:
    models = torchvision.models
    return _listed(models, LEGACY_CLASSIFIERS, getattr(models, "list_models", None))


def detection_models(torchvision) -> list[str]:
    models = torchvision.models
    return _listed(models.detection, LEGACY_DETECTORS, getattr(models, "list_models", None))


def quantizable_models(torchvision) -> list[str]:
    """Builder names in torchvision.models.quantization (list_models registers them as `quantized_<name>`)."""
    models = torchvision.models
    names = _listed(models.quantization, LEGACY_QUANTIZABLE, getattr(models, "list_models", None))
    return sorted(name.removeprefix("quantized_") for name in names)


def builder(module, name: str):
    return getattr(module, name)


def family(module, name: str) -> str:
    """The source module that defines a builder (faster_rcnn, mask_rcnn, resnet, ...)."""
    return builder(module, name).__module__.rsplit(".", 1)[-1]


def model_params(config, module_of, lister, quick: tuple[str, ...], every_family: bool = True) -> list[str]:
    """Collection-time model list: every model at depth `full`; at `quick` the documented sample the row has,
    plus (every_family) the first model of any source module the sample misses, e.g. an architecture new in the row."""
    from harness.plugin import LibraryError, import_library

    try:
        torchvision = import_library("torchvision")
    except LibraryError:
        return [UNAVAILABLE]
    names = lister(torchvision)
    if config.getoption("--depth") == "full":
        return names
    module = module_of(torchvision)
    chosen = [name for name in names if name in quick]
    covered = {family(module, name) for name in chosen}
    for name in names if every_family else ():
        if family(module, name) not in covered:
            chosen.append(name)
            covered.add(family(module, name))
    return sorted(chosen)


@contextlib.contextmanager
def one_thread(torch):
    """Run intra-op kernels on one thread, then restore the row's setting. Nothing these checks compare depends on
    it, and on a shared 2-core machine two OpenMP threads stall each other: QAT steps measured 0.1 s on one
    thread and 0.1-6.6 s on two, the quick suite (37 tests then) 70 s against 300 s."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def build(make, **kwargs):
    """A model with random weights and no download: `weights=None` (0.13+) or `pretrained=False` before."""
    params = inspect.signature(make).parameters
    if "weights" in params:
        kwargs.setdefault("weights", None)
        if "weights_backbone" in params:
            kwargs.setdefault("weights_backbone", None)
    else:
        kwargs.setdefault("pretrained", False)
        if "pretrained_backbone" in params:
            kwargs.setdefault("pretrained_backbone", False)
    return make(**kwargs)


def classifier_setup(name: str) -> tuple[dict, int]:
    """Constructor arguments and input side for a classifier: 64 px where the architecture allows it."""
    if name.startswith("vit_"):
        patch = int(name.rsplit("_", 1)[1])
        return {"image_size": 4 * patch}, 4 * patch  # the position embedding is sized by image_size
    if name.startswith(("maxvit", "alexnet", "vgg")):
        # MaxViT's 7x7 attention partitions need the 224 px it was designed for; AlexNet and VGG pool adaptively
        # to 6x6 / 7x7, which the TorchScript-based ONNX exporter translates only where that divides the feature map.
        return {}, 224
    if name.startswith("inception"):
        return {}, 96  # documented minimum input 75x75
    return {}, 64


def logits(output):
    """GoogLeNet and Inception return a named tuple when scripted (and in training); the logits are its first field."""
    return getattr(output, "logits", output)


# ---- quantization ---------------------------------------------------------------------------------

def quantization(torch):
    """torch.ao.quantization (1.10+), torch.quantization before."""
    ao = getattr(torch, "ao", None)
    return getattr(ao, "quantization", None) or torch.quantization


def quantized_layers(torch) -> tuple[type, ...]:
    """The int8 module types that hold weights (their fused ReLU variants subclass them)."""
    ao = getattr(torch, "ao", None)
    nnq = getattr(getattr(ao, "nn", None), "quantized", None) or torch.nn.quantized
    return (nnq.Conv2d, nnq.Linear)


def default_engine(torch) -> str:
    """The row's default server engine: x86 from torch 2.0, fbgemm before."""
    engine = torch.backends.quantized.engine
    if engine in ("x86", "fbgemm"):
        return engine
    return "x86" if "x86" in torch.backends.quantized.supported_engines else "fbgemm"


def fuse(model, is_qat: bool) -> None:
    """torchvision 0.13 added `is_qat`; before, fuse_model picked QAT fusion from model.training."""
    if "is_qat" in inspect.signature(model.fuse_model).parameters:
        model.fuse_model(is_qat=is_qat)
    else:
        model.fuse_model()


# ---- ONNX -----------------------------------------------------------------------------------------

def export_torchscript_onnx(torch, model, args: tuple, path, **kwargs) -> None:
    """The TorchScript-based exporter: the default before 2.9, `dynamo=False` where that parameter exists (2.5+)."""
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False
    torch.onnx.export(model, args, str(path), **kwargs)


def export_dynamo_onnx(torch, model, args: tuple, path, **kwargs) -> None:
    """The torch.export-based exporter: `torch.onnx.export(..., dynamo=True)`, torch 2.5+, needs onnxscript."""
    torch.onnx.export(model, args, str(path), dynamo=True, **kwargs)
