"""Java bindings from the 1.4 release: a Java program runs a TorchScript model saved by this row's
torch and gets what Python gets.

The Java side is org.pytorch.{Module,Tensor,IValue} over a JNI bridge built against the row's own
libtorch (suites/core/java, built and cached by _java_build), or the official pytorch_java_only
bindings where HARNESS_PYTORCH_JAVA_JAR / HARNESS_PYTORCH_JNI_LIB point at them. Every Java
program runs in its own JVM process: a crash in native code is a `crash`, a hang a `timeout`.
"""
import re

import numpy as np
import pytest

from harness.measure import assert_allclose
from harness.plugin import require_tool
from suites import _models
from suites.core import _java_build

# Image models the Java check runs: every one in full depth; quick depth runs MobileNetV2
# (depthwise convolutions, batch norm, ReLU6: the release note's own example model).
VISION_MODELS = ["mobilenet_v2", "resnet18"]
QUICK_SAMPLE = ["mobilenet_v2"]
# Same libtorch and float32 kernels in both processes, but the JVM process picks its own
# intra-op thread count, which can reorder convolution sums: float32 round-off of ~50 layers.
# The model has realistic parameters (suites/_models.py): logits O(1) (std ~1), so ATOL is
# round-off in the logits' own units.
MODEL_RTOL, MODEL_ATOL = 1e-4, 1e-5
# The reference logits must vary, or agreement proves nothing.
MIN_STD = 0.05


def pytest_generate_tests(metafunc):
    if "vision_model" in metafunc.fixturenames:
        full = metafunc.config.getoption("--depth") == "full"
        metafunc.parametrize("vision_model", VISION_MODELS if full else QUICK_SAMPLE)


@pytest.fixture(scope="module")
def bindings(torch, request):
    """The harness's bindings, built against this row's libtorch (cached per torch version)."""
    tools = require_tool(request.config, "javac", "jar", "java", "g++")
    return _java_build.build_bindings(torch, tools)


@pytest.fixture(scope="module")
def programs(bindings, tmp_path_factory, request):
    """The Java programs compiled against the harness's bindings: their classpath."""
    tools = require_tool(request.config, "javac")
    return _java_build.compile_programs(tools["javac"], bindings, tmp_path_factory.mktemp("java"))


def demo_model(torch):
    """The model of pytorch/java-demo that the release note's snippet loads as demo-model.pt1."""
    class DemoModule(torch.nn.Module):
        def forward(self, data: torch.Tensor, incr: float) -> torch.Tensor:
            return torch.sum(data + incr, 0)
    return torch.jit.script(DemoModule().eval())


def check_snippet(torch, java_run, bindings, classpath, tmp_path):
    """Run the release note's snippet in Java and compare shape and data with Python."""
    path = tmp_path / "demo-model.pt1"
    demo_model(torch).save(str(path))
    out = java_run(bindings, classpath, "ReleaseNoteSnippet", [str(path)], tmp_path).stdout
    shape = re.search(r"^shape: \[(.*)\]$", out, re.M)
    data = re.search(r"^data: \[(.*)\]$", out, re.M)
    assert shape and data, f"unexpected output from the snippet:\n{out}"

    data_in = torch.tensor([[1, 2, 3], [4, 5, 6]], dtype=torch.int32)
    expected = torch.jit.load(str(path))(data_in, 3.0)
    assert [int(d) for d in shape.group(1).split(",")] == list(expected.shape)
    # Float.toString round-trips a float32 exactly and both sides run the same kernel: equal.
    actual = torch.tensor([float(v) for v in data.group(1).split(",")], dtype=torch.float32)
    assert torch.equal(actual, expected.flatten()), f"Java {actual.tolist()} != Python {expected}"


@pytest.fixture
def java_run(request):
    java = require_tool(request.config, "java")["java"]

    def run(bindings, classpath, main, args, workdir):
        return _java_build.run_java(java, bindings, classpath, main, args, workdir)
    return run


@pytest.mark.feature("core.java.inference")
def test_release_note_snippet_matches_python(torch, bindings, programs, java_run, tmp_path):
    """Module.load, Tensor.fromBlob(int[], shape), forward(tensor, double), shape, float data."""
    check_snippet(torch, java_run, bindings, programs, tmp_path)


@pytest.mark.feature("core.java.inference")
def test_scripted_vision_model_matches_python(torch, torchvision, bindings, programs, java_run,
                                              vision_model, tmp_path, request):
    """A scripted torchvision model with realistic random parameters gives the same logits in Java."""
    torch.manual_seed(0)
    model = getattr(torchvision.models, vision_model)(num_classes=10).eval()
    _models.realistic(torch, model, seed=0, probe=(_models.probe_images(torch, 96),))
    path = tmp_path / f"{vision_model}.pt"
    torch.jit.script(model).save(str(path))
    example = torch.rand(1, 3, 96, 96)
    example.numpy().astype("<f4").tofile(tmp_path / "input.f32")

    files = [str(tmp_path / "input.f32"), "1,3,96,96", str(tmp_path / "output.f32")]
    out = java_run(bindings, programs, "RunModel", [str(path), *files], tmp_path).stdout
    with torch.no_grad():
        expected = torch.jit.load(str(path))(example)
    assert f"shape: {list(expected.shape)}" in out
    actual = torch.from_numpy(np.fromfile(tmp_path / "output.f32", dtype="<f4"))
    actual = actual.reshape(expected.shape)
    _models.assert_not_degenerate(torch, expected, min_std=MIN_STD, name="Python logits")
    assert_allclose(request, "java", actual, expected, rtol=MODEL_RTOL, atol=MODEL_ATOL)


@pytest.mark.feature("core.java.official_bindings")
def test_official_bindings_run_the_release_note_snippet(torch, java_run, tmp_path, request):
    """The same snippet against the official pytorch_java_only jar and its libpytorch_jni.so."""
    official = _java_build.official_bindings()
    tools = require_tool(request.config, "javac")
    classpath = _java_build.compile_programs(tools["javac"], official, tmp_path / "classes")
    check_snippet(torch, java_run, official, classpath, tmp_path)
