"""Reproduction bundles: a new failure gets a standalone script, its lock and environment, and a README;
`python -m harness.repro_cmd` rebuilds the environment from the lock and checks the failure comes back."""
import ast
import base64
import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from harness import repro
from harness.repro_runtime import select
from harness.repro_script import standalone_script
from tests.conftest import ROOT, demo_suite

FEATURES = '''
[[feature]]
id = "demo.broken"
description = "halve() divides by two, negative numbers too"
[[feature]]
id = "demo.fine"
description = "halve() of zero"
'''

SUITE = '''
import pytest

from suites.demo import _helpers
from suites.demo._helpers import expected_half


def halve(x):  # the same name as the helper module's: inlined under another name
    import demolib
    return demolib.halve(x)


@pytest.fixture
def offset(request):
    return _helpers.halve(0)


@pytest.mark.feature("demo.broken")
@pytest.mark.parametrize("n", [3, -2])
def test_halves(n, offset):
    """halve() of an even number is exact."""
    got = halve(2 * n) + offset
    assert abs(got - expected_half(2 * n)) <= _helpers.TOL, f"halve({2 * n}) returned {got}"


@pytest.mark.feature("demo.fine")
def test_zero():
    assert halve(0) == 0
'''

HELPERS = '''
# Integer halving is exact: no error is allowed.
TOL = 0


def halve(x):
    return x / 2


def expected_half(x):
    return halve(x)
'''

DEMOLIB = "def halve(x):\n    return abs(x) // 2  # the bug: the sign is lost\n"


def wheel(folder: Path, source: str = DEMOLIB) -> Path:
    """A pure-Python wheel of `demolib`, built by hand (no build backend, no network)."""
    folder.mkdir(exist_ok=True)
    path = folder / "demolib-1.0-py3-none-any.whl"
    files = {"demolib/__init__.py": source,
             "demolib-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: demolib\nVersion: 1.0\n",
             "demolib-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                                            "Tag: py3-none-any\n"}
    record = []
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
            digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
            record.append(f"{name},sha256={digest},{len(text.encode())}")
        zf.writestr("demolib-1.0.dist-info/RECORD", "\n".join(record + ["demolib-1.0.dist-info/RECORD,,"]) + "\n")
    return path


@pytest.fixture
def demo(tmp_path):
    env = demo_suite(tmp_path, FEATURES, SUITE, {"demolib": DEMOLIB})
    (tmp_path / "suites" / "demo" / "_helpers.py").write_text(HELPERS)
    (tmp_path / "suites" / "__init__.py").write_text("")
    (tmp_path / "suites" / "demo" / "__init__.py").write_text("")
    return tmp_path, env


def test_the_script_inlines_the_check_and_reproduces_without_the_harness(demo):
    root, _ = demo
    script = standalone_script("demo/test_demo.py::test_halves[-2]", root / "suites")
    tree = ast.parse(script.text)
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not imported & {"harness", "suites"}, imported
    top = {a.name for n in tree.body if isinstance(n, ast.Import) for a in n.names}
    assert "pytest" not in top  # only the decorators used it: they are dropped
    assert "# Integer halving is exact: no error is allowed.\nTOL = 0" in script.text  # the tolerance's reason
    assert "def _helpers__halve(x):" in script.text or "def test_demo__halve(x):" in script.text

    path = root / "repro.py"
    path.write_text(script.text)
    fake = str(root / "fake")  # demolib only: no harness, no suites on the path
    failing = subprocess.run([sys.executable, str(path)], cwd=root, env={"PYTHONPATH": fake},
                             capture_output=True, text=True, timeout=60)
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert failing.stdout.splitlines()[-1] == "AssertionError: halve(-4) returned 2.0"

    path.write_text(standalone_script("demo/test_demo.py::test_halves[3]", root / "suites").text)
    passing = subprocess.run([sys.executable, str(path)], cwd=root, env={"PYTHONPATH": fake},
                             capture_output=True, text=True, timeout=60)
    assert passing.returncode == 0 and passing.stdout.splitlines()[-1].startswith("PASS"), passing.stderr


@pytest.mark.parametrize("test_id, inlined", [
    ("vision/test_onnx.py::test_classifier_exports_with_the_torchscript_exporter[resnet18]",
     "RTOL, ATOL = 1e-3, 1e-4"),
    ("audio/test_gain_dither.py::test_dither_leaves_its_input_unchanged[GPDF-False]", "PEAK = 0.01"),
    ("audio/test_batching.py::test_batch_equals_items_stacked[lowpass_biquad]", "def assert_close("),
    ("core/test_mobile.py::test_optimize_for_mobile_agrees_with_eager", "OPT_RTOL, OPT_ATOL = 1e-3, 1e-4"),
])
def test_real_checks_become_scripts_without_the_harness(test_id, inlined):
    script = standalone_script(test_id, ROOT / "suites")
    compile(script.text, test_id, "exec")
    assert inlined in script.text
    assert "from harness" not in script.text.replace("pass  # inlined above: from harness", "")
    assert "import harness" not in script.text and "from suites" not in script.text.split("PROBE")[0]


def test_the_id_picks_the_parameters_as_pytest_names_them():
    params = [(("gain_type", "gain", "linear"), [("db", -6.0, 0.5), ("db", 10.0, 3.2)], None)]
    assert select("t.py::test[db--6.0-0.5]", params, ()) == {"gain_type": "db", "gain": -6.0, "linear": 0.5}
    two = [(("density",), ["TPDF", "GPDF"], None), (("noise_shaping",), [False, True], None)]
    assert select("t.py::test[GPDF-False]", two, ()) == {"density": "GPDF", "noise_shaping": False}
    assert select("t.py::test[b4-resnet18]", [(("batch",), [1, 4], lambda b: f"b{b}")], ("model",)) == \
        {"batch": 4, "model": "resnet18"}
    with pytest.raises(LookupError):
        select("t.py::test[XPDF-False]", two, ())


def test_only_new_failures_get_a_bundle():
    summary = {"rows": [{"name": "r", "features": {
        f"f.{status}": {"status": status, "message": "m", "test": "a/test_a.py::t"}
        for status in ("pass", "fail", "error", "crash", "timeout", "known-failure", "skipped", "fixed", "n/a")}}]}
    assert [t.feature for t in repro.targets(summary)] == ["f.crash", "f.error", "f.fail", "f.timeout"]


def test_a_failing_row_gets_a_bundle_that_the_repro_command_verifies_from_the_lock(demo, tmp_path):
    root, env = demo
    reports = tmp_path / "reports"
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    env = dict(env, HARNESS_REPORTS=str(reports))
    here = subprocess.run([sys.executable, "-m", "harness", "here", "--name", "demo-row", "--expectations", str(empty)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert here.returncode == 1, here.stdout + here.stderr  # the row fails on purpose
    run_dir = next((reports / "runs").iterdir())
    # A matrix row has the lock its install resolved: here, the local wheel of the library under test.
    (run_dir / "rows" / "demo-row" / "requirements.lock").write_text(f"demolib @ {wheel(tmp_path).as_uri()}\n")
    report = subprocess.run([sys.executable, "-m", "harness", "report", "--expectations", str(empty)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert report.returncode == 1, report.stdout + report.stderr

    bundle = run_dir / "repro" / "demo.broken--demo-row"
    assert sorted(p.name for p in bundle.iterdir()) == [
        "README.md", "bundle.json", "environment.txt", "repro.py", "requirements.lock"]
    summary = json.loads((reports / "summary.json").read_text())
    cells = summary["rows"][0]["features"]
    assert cells["demo.broken"]["repro"] == "repro/demo.broken--demo-row/" and "repro" not in cells["demo.fine"]
    html = (reports / "index.html").read_text()
    assert 'href="runs/{}/rows/demo-row/../../repro/demo.broken--demo-row/README.md"'.format(run_dir.name) in html
    issue = subprocess.run([sys.executable, "-m", "harness", "verdict", "--run-id", run_dir.name, "--reports",
                            str(reports), "--pages-url", "https://example.invalid/site"], cwd=ROOT,
                           capture_output=True, text=True, timeout=60, check=True).stdout  # the nightly's issue
    assert (f"[demo.broken on demo-row](https://example.invalid/site/runs/{run_dir.name}/repro/"
            f"demo.broken--demo-row/README.md)") in issue
    readme = (bundle / "README.md").read_text()
    assert "not yet verified" in readme and "halve() of an even number is exact." in readme
    assert "AssertionError: halve(-4) returned 2.0" in readme

    env.pop("PYTHONPATH")  # the command runs the script with nothing of ours (nor the fake demolib) on the path
    verified = subprocess.run([sys.executable, "-m", "harness.repro_cmd", "demo.broken", "demo-row"],
                              cwd=ROOT, env=dict(env, PYTHONPATH=str(ROOT)), capture_output=True, text=True,
                              timeout=600)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "**Status: verified**" in (bundle / "README.md").read_text()
    check = json.loads((bundle / "verification.json").read_text())
    assert check["reproduced"] and check["got"] == "AssertionError: halve(-4) returned 2.0"
    # The next report rewrites the bundle with the same script and lock: it stays verified.
    again = subprocess.run([sys.executable, "-m", "harness", "report", "--expectations", str(empty)],
                           cwd=ROOT, env=dict(env, PYTHONPATH=str(ROOT)), capture_output=True, text=True, timeout=300)
    assert again.returncode == 1 and "**Status: verified**" in (bundle / "README.md").read_text(), again.stderr

    # With the library fixed the failure does not come back, and the bundle says so instead of verified.
    fixed = wheel(tmp_path / "fixed", "def halve(x):\n    return x / 2\n")
    (bundle / "requirements.lock").write_text(f"demolib @ {fixed.as_uri()}\n")
    gone = subprocess.run([sys.executable, "-m", "harness.repro_cmd", "demo.broken", "demo-row"],
                          cwd=ROOT, env=dict(env, PYTHONPATH=str(ROOT)), capture_output=True, text=True, timeout=600)
    assert gone.returncode == 1 and "not reproduced" in gone.stderr, gone.stdout + gone.stderr
    assert "did not reproduce" in (bundle / "README.md").read_text()


def test_a_confirmed_regression_gets_a_bundle_on_its_benchmark_feature():
    from types import SimpleNamespace

    summary = {"rows": [{"name": "r", "features": {"bench.mfcc": {"status": "pass", "message": "",
                                                                  "test": "bench/test_b.py::test_mfcc[b1]"}},
                         "benchmarks": {"test_mfcc[b1]": {"fullname": "bench/test_b.py::test_mfcc[b1]"}}}]}
    slow = SimpleNamespace(benchmark="test_mfcc[b1]", row="r", ratio=1.5, value_s=0.003, base_value_s=0.002,
                           base="3 earlier runs since x", describe=lambda: "test_mfcc[b1] on r runs at 1.50x")
    (target, timing), = repro.regression_targets(summary, [slow])
    assert (target.feature, target.status) == ("bench.mfcc", "regression")
    assert target.test == "bench/test_b.py::test_mfcc[b1]"
    assert timing["base_value_s"] == 0.002


def test_the_repro_command_judges_what_came_back():
    from harness.isolate import Completed
    from harness.repro_cmd import outcome

    fail = repro.Target("f", "r", "fail", "AssertionError: x at 0x7f00deadbeef", "t.py::t")
    assert outcome(fail, Completed(1, "noise\nAssertionError: x at 0x7f00cafe0000\n", "")) == (
        True, "AssertionError: x at 0x…")  # addresses normalised, as in the row's message
    assert outcome(fail, Completed(1, "AssertionError: y\n", ""))[0] is False
    line = "CheckTimeout: pending ['a.promise.{}']"  # a random file name is not the failure
    pending = repro.Target("f", "r", "timeout", line.format("28d16dc8-052a-4006-b038-5293f9fb230d"), "t.py::t")
    assert outcome(pending, Completed(1, line.format("0b7e3f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"), ""))[0]
    assert outcome(fail, Completed(0, "PASS: t.py::t\n", ""))[0] is False
    crash = repro.Target("f", "r", "crash", "the check's process died with SIGSEGV", "t.py::t")
    assert outcome(crash, None, "python died with SIGSEGV\n...")[0] is True
    assert outcome(crash, None, "python died with SIGABRT")[0] is False
    timeout = repro.Target("f", "r", "timeout", "CheckTimeout: ...", "t.py::t")
    assert outcome(timeout, None, "python exceeded 60s; process group killed")[0] is True
    slow = repro.Target("f", "r", "regression", "1.5x", "t.py::t")
    timing = {"ratio": 1.5, "base_value_s": 0.002}
    assert outcome(slow, Completed(0, "benchmark: median 0.0031 s, min 0.003 s over 20 rounds\nPASS\n", ""),
                   timing=timing)[0] is True
    assert outcome(slow, Completed(0, "benchmark: median 0.0021 s, min 0.002 s over 20 rounds\nPASS\n", ""),
                   timing=timing)[0] is False


def test_the_repro_command_names_a_missing_run_or_bundle_in_one_line(tmp_path, capsys):
    from harness.repro_cmd import main
    reports = tmp_path / "reports"
    assert main(["core.a", "torch-2.14", "--reports", str(reports)]) == 2
    assert capsys.readouterr().err == f"error: no run under {reports / 'runs'}\n"
    assert main(["core.a", "torch-2.14", "--reports", str(reports), "--run", "R1"]) == 2
    assert capsys.readouterr().err == f"error: no run R1 under {reports / 'runs'}\n"
    (reports / "runs" / "R1").mkdir(parents=True)
    assert main(["core.a", "torch-2.14", "--reports", str(reports), "--run", "R1"]) == 2
    assert "no bundle (the report writes one for each new failure" in capsys.readouterr().err
