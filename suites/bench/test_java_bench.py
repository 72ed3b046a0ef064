"""Java forward latency: a TorchScript MobileNetV2 run from Java through the harness's JNI bridge
(suites/core/_java_build.py, built against the row's own libtorch and cached per torch version).

The JVM times each forward with the calling thread's CPU time (java/ForwardLatency.java) and
writes the rounds to a file; they are replayed into pytest-benchmark through ReplayClock."""
import os

import numpy as np
import pytest

from harness.isolate import run
from harness.plugin import require_tool
from suites import _models
from suites.bench._bench import ReplayClock, bench, replay
from suites.core import _java_build

SOURCE = os.path.join(os.path.dirname(__file__), "java", "ForwardLatency.java")
ROUNDS, WARMUP = 50, 10  # ~20 ms of CPU per forward; the JIT warms up in the first rounds
SHAPE = (1, 3, 224, 224)
# Same libtorch kernels on one thread in both processes: float32 round-off of ~50 layers.
RTOL, ATOL = 1e-4, 1e-5
CLOCK = ReplayClock()


@bench("java", timer=CLOCK)
@pytest.mark.feature("bench.core.java_forward")
def test_java_forward_latency(torch, torchvision, benchmark, request, tmp_path, monkeypatch):
    """Module.forward from Java on one intra-op thread; its output matches Python's."""
    tools = require_tool(request.config, "javac", "jar", "java", "g++")
    bindings = _java_build.build_bindings(torch, tools)
    classes = tmp_path / "classes"
    done = run([tools["javac"], "-cp", bindings.classpath, "-d", str(classes), SOURCE],
               _java_build.BUILD_BOUND_S)
    assert done.returncode == 0, done.stderr[-2000:]

    torch.manual_seed(0)
    eager = torchvision.models.mobilenet_v2(num_classes=1000).eval()
    # Realistic parameters (suites/_models.py): what a trained model computes, logits O(1).
    probe = _models.probe_images(torch, SHAPE[-1])
    model = torch.jit.script(_models.realistic(torch, eager, seed=0, probe=(probe,)))
    model.save(str(tmp_path / "model.pt"))
    example = torch.rand(*SHAPE, generator=torch.Generator().manual_seed(1))
    example.numpy().astype("<f4").tofile(tmp_path / "input.f32")
    args = [str(tmp_path / "model.pt"), str(tmp_path / "input.f32"), ",".join(map(str, SHAPE)),
            str(tmp_path / "output.f32"), str(WARMUP), str(ROUNDS), str(tmp_path / "rounds.txt"),
            str(tmp_path / "memory.txt")]
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the JVM's libtorch reads it at start
    _java_build.run_java(tools["java"], bindings, f"{classes}{os.pathsep}{bindings.classpath}",
                         "ForwardLatency", args, tmp_path)

    with torch.no_grad():
        expected = model(example)
    _models.assert_not_degenerate(torch, expected, min_std=0.05, name="Python logits")
    actual = torch.from_numpy(np.fromfile(tmp_path / "output.f32", dtype="<f4"))
    assert torch.allclose(actual.reshape(expected.shape), expected, rtol=RTOL, atol=ATOL)
    rounds = [float(line) for line in (tmp_path / "rounds.txt").read_text().split()]
    assert len(rounds) == ROUNDS and min(rounds) > 0
    memory = dict(line.split() for line in (tmp_path / "memory.txt").read_text().splitlines())
    memory = {name: value if name == "peak_rss_method" else int(value) for name, value in memory.items()}
    memory["cuda_max_allocated_bytes"] = None  # the JVM runs libtorch on the CPU
    replay(benchmark, CLOCK, rounds, memory, warmup=WARMUP, threads=1, batch=1)
