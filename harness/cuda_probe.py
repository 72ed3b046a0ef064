"""`python -m harness.cuda_probe`: print, as JSON, the CUDA version each row library was compiled with.

Run in a child process (harness.runner.cuda_builds) because loading a library built for another torch
can abort. Each library's native part is loaded directly, without the import-time version check that
refuses a mismatch (torchaudio's `_check_cuda_version`), so a mismatch is shown rather than hidden.
"""
from __future__ import annotations

import glob
import json
import os


def cuda_text(version) -> str:
    """13000 (CUDA_VERSION: major * 1000 + minor * 10) or "13.0" -> "13.0"; None, 0 or -1 -> "cpu"."""
    if isinstance(version, int):
        return f"{version // 1000}.{version % 1000 // 10}" if version > 0 else "cpu"
    return str(version) if version else "cpu"


def _library_cuda(torch, package: str, pattern: str, op: str) -> str:
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return "not installed"
    found = sorted(glob.glob(os.path.join(spec.submodule_search_locations[0], pattern)))
    if not found:
        return "unknown: no native library"
    try:
        for library in found:
            torch.ops.load_library(library)
        namespace, name = op.split(".")
        return cuda_text(int(getattr(getattr(torch.ops, namespace), name)()))
    except Exception as exc:  # noqa: BLE001 - reported, not raised: this is a description of the row
        return f"unknown: {type(exc).__name__}"


def probe() -> dict[str, str]:
    import torch

    return {"torch": cuda_text(torch.version.cuda),
            "torchvision": _library_cuda(torch, "torchvision", "_C*.so", "torchvision._cuda_version"),
            "torchaudio": _library_cuda(torch, "torchaudio", "lib/*torchaudio.*so", "_torchaudio.cuda_version")}


if __name__ == "__main__":
    print(json.dumps(probe()))
