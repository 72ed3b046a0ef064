"""Mobile build customization from the 1.4 release: operator-list export and the lite interpreter.

The 1.4 release note's recipe: script a MobileNetV2, dump `torch.jit.export_opnames` to YAML
for a custom build, and run the model through the lite interpreter.
"""
import io
import json
from pathlib import Path

import pytest

from harness import mobile_ops
from harness.isolate import run_python
from harness.measure import assert_allclose
from suites import _models

# Same float32 model, same input, same CPU kernels: only re-serialisation and operator
# re-dispatch differ, so results should agree to float32 round-off of a ~50-layer network.
# With realistic parameters (suites/_models.py) the logits are O(1) (std ~1), so ATOL is
# a float32 round-off bound in the logits' own units.
RTOL, ATOL = 1e-4, 1e-5
# optimize_for_mobile folds batch-norm into conv weights and rewrites conv/linear to
# prepacked XNNPACK kernels, which reorders float32 sums: allow a looser bound. The
# folded biases are non-zero here (realistic BatchNorm statistics), so a fold that drops
# or misplaces them moves the logits by O(1), far outside it.
OPT_RTOL, OPT_ATOL = 1e-3, 1e-4
# The reference logits must vary, or agreement proves nothing: realistic ones have std ~1.
MIN_STD = 0.05
REPO = Path(__file__).resolve().parents[2]
# The operators a torch alone registers, listed by the adapter in a fresh interpreter (~5 s).
PROBE = ("import json, torch; from suites.core import _compat; "
         "print(json.dumps(sorted(_compat.registered_operators(torch))))")
REGISTERED_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def mobilenet(torch, torchvision):
    """MobileNetV2 with realistic parameters (statistics drawn around a probe batch's), scripted."""
    torch.manual_seed(0)
    model = torchvision.models.mobilenet_v2(num_classes=10).eval()
    _models.realistic(torch, model, seed=0, probe=(_models.probe_images(torch, 96),))
    example = torch.rand(1, 3, 96, 96)
    with torch.no_grad():
        _models.assert_not_degenerate(torch, model(example), min_std=MIN_STD, name="eager logits")
    return model, torch.jit.script(model), example


def graph_operators(scripted) -> set[str]:
    """`aten::name.overload` of every operator node the inlined forward graph really calls."""
    names = set()
    for node in scripted.inlined_graph.nodes():
        stack = [node]
        while stack:
            current = stack.pop()
            for block in current.blocks():
                stack.extend(block.nodes())
            if current.kind().startswith("aten::"):
                schema = current.schema()
                names.add(schema.split("(", 1)[0])
    return names


@pytest.mark.feature("core.mobile.export_opnames")
def test_export_opnames_lists_the_operators_the_graph_calls(torch, mobilenet, tmp_path):
    yaml = pytest.importorskip("yaml", reason="prerequisite missing: PyYAML")
    _, scripted, _ = mobilenet
    opnames = torch.jit.export_opnames(scripted)
    path = tmp_path / "mobilenetv2.yaml"
    path.write_text(yaml.dump(opnames))

    assert yaml.safe_load(path.read_text()) == opnames
    exported = {name for name in opnames if name.startswith("aten::")}
    # The mobile bytecode runs `aten::format` (error messages) as its own FORMAT instruction,
    # so it is called by the graph but is not an operator the custom build must keep.
    assert exported == graph_operators(scripted) - {"aten::format"}


@pytest.mark.feature("core.mobile.lite_interpreter")
def test_lite_interpreter_round_trip_agrees_with_eager(torch, mobilenet, tmp_path, request):
    from torch.jit.mobile import _load_for_lite_interpreter

    model, scripted, example = mobilenet
    path = tmp_path / "mobilenetv2.ptl"
    scripted._save_for_lite_interpreter(str(path))
    lite = _load_for_lite_interpreter(str(path))
    with torch.no_grad():
        expected = model(example)
        assert_allclose(request, "lite file", lite(example), expected, rtol=RTOL, atol=ATOL)
        # Also through an in-memory buffer, as apps load from assets.
        buffer = io.BytesIO(scripted._save_to_buffer_for_lite_interpreter())
        assert_allclose(request, "lite buffer", _load_for_lite_interpreter(buffer)(example), expected,
                        rtol=RTOL, atol=ATOL)


@pytest.mark.feature("core.mobile.optimize_for_mobile")
def test_optimize_for_mobile_agrees_with_eager(torch, mobilenet, request):
    from torch.utils.mobile_optimizer import optimize_for_mobile

    model, scripted, example = mobilenet
    optimized = optimize_for_mobile(scripted)
    with torch.no_grad():
        expected = model(example)
        actual = optimized(example)
    assert actual.shape == expected.shape
    assert_allclose(request, "optimized", actual, expected, rtol=OPT_RTOL, atol=OPT_ATOL)


@pytest.mark.feature("core.mobile.selective_build")
def test_selective_build_keeps_registered_operators(torch, mobilenet, request):
    """A custom build keeps the exported operators: count them against all the row registers.

    The operator list and the counts go into the row (`mobile_ops` in summary.json); the report
    shows how the list changes between rows, so a renamed or re-overloaded operator stands out.
    """
    _, scripted, _ = mobilenet
    models = {"mobilenet_v2": scripted}
    # Counted in a fresh interpreter that imports torch alone: in this process torchvision and
    # torchaudio (other tests on the same worker) add their own operators, so the count would
    # depend on scheduling, and a custom build of torch keeps torch's operators only.
    done = run_python(["-c", PROBE], REGISTERED_TIMEOUT_S, cwd=REPO)
    assert done.returncode == 0, f"listing the registered operators failed: {done.stderr[-2000:]}"
    registered = set(json.loads(done.stdout))
    recorded = {}
    for name, model in models.items():
        opnames = sorted(set(torch.jit.export_opnames(model)))
        recorded[name] = {"kept": len(opnames), "registered": len(registered), "operators": opnames}
    request.node.user_properties.append((mobile_ops.PROPERTY, recorded))
    for name, info in recorded.items():
        assert 0 < info["kept"] < info["registered"], f"{name}: keeps {info['kept']} of {info['registered']}"
        missing = sorted(set(info["operators"]) - registered)
        assert not missing, f"{name}: exported operators this torch does not register: {', '.join(missing)}"
