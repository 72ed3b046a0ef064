"""Version adapters for the benchmarks: one place for API differences between releases."""
from __future__ import annotations

import inspect


def export_onnx(torch, model, example, path) -> None:
    """The TorchScript ONNX exporter in every release: `dynamo=False` where the parameter exists
    (2.5+, where 2.9 made the dynamo exporter the default), the only exporter before that."""
    kwargs = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    torch.onnx.export(model, (example,), str(path), input_names=["input"], output_names=["logits"],
                      opset_version=17, **kwargs)


def quantize_engine(torch) -> str:
    """fbgemm (x86) where built in, else whatever the build offers (qnnpack on ARM)."""
    engines = torch.backends.quantized.supported_engines
    return "fbgemm" if "fbgemm" in engines else next(e for e in engines if e != "none")
