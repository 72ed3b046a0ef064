"""`python -m harness here`: the current environment as one row, nothing installed."""
import json
import subprocess
import sys

from tests.conftest import demo_suite

FEATURES = '''
[[feature]]
id = "demo.cpu"
description = "runs anywhere"
[[feature]]
id = "demo.gpu"
description = "needs CUDA"
device = "cuda"
[[feature]]
id = "demo.reference"
description = "needs a reference library this environment lacks"
'''

SUITE = '''
import pytest
from harness.plugin import require_module

@pytest.mark.feature("demo.cpu")
def test_cpu(torch):
    assert torch.cuda.is_available() is False

@pytest.mark.feature("demo.gpu")
def test_gpu():
    raise AssertionError("must not run without a GPU")

@pytest.mark.feature("demo.reference")
def test_reference(request):
    require_module(request.config, "no_such_reference_lib")
'''


def test_here_writes_one_row_with_na_cuda_and_counted_skips(tmp_path):
    reports = tmp_path / "reports"
    env = dict(demo_suite(tmp_path, FEATURES, SUITE, {}), HARNESS_REPORTS=str(reports))
    proc = subprocess.run([sys.executable, "-m", "harness", "here", "--name", "prod-image"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr  # a skip here is counted, not failed

    summary = json.loads((reports / "summary.json").read_text())
    assert summary["mode"] == "here" and [r["name"] for r in summary["rows"]] == ["prod-image"]
    features = summary["rows"][0]["features"]
    assert {fid: c["status"] for fid, c in features.items()} == {
        "demo.cpu": "pass", "demo.gpu": "n/a", "demo.reference": "skipped"}
    assert "no_such_reference_lib" in features["demo.reference"]["message"]
    html = (reports / "index.html").read_text()
    assert 'id="skips">1 feature(s) skipped' in html

    # The real artefacts carry their schema version, and summary.json validates against the repository's schema.
    import jsonschema

    from harness.summary_model import summary_schema

    jsonschema.validate(summary, summary_schema())
    assert summary["schema_version"] == 2 and summary["verdict"]["status"] == "as-expected"
    row = next((reports / "runs").glob("*/rows/prod-image"))
    lines = [json.loads(line) for line in (row / "results.jsonl").read_text().splitlines()]
    assert lines and {line["schema_version"] for line in lines} == {2}
    for name in ("install.json", "env.json", "pytest.json"):
        assert json.loads((row / name).read_text())["schema_version"] == 2, name


def test_here_runs_an_external_project_beside_the_suites_and_refuses_a_bad_path(tmp_path):
    """`harness here --external PATH`: the project's modules are ext.<name>.<module> features of the one
    row, as in `nox -s matrix -- --external PATH`; a path that is not a folder is one line, exit 2, no run."""
    reports = tmp_path / "reports"
    env = dict(demo_suite(tmp_path, FEATURES, SUITE, {}), HARNESS_REPORTS=str(reports))
    team = tmp_path / "team" / "tests"
    team.mkdir(parents=True)
    (team / "test_io.py").write_text("def test_reads():\n    assert 1 + 1 == 2\n")
    (team / "test_math.py").write_text("def test_adds():\n    assert 1 + 1 == 3\n")
    proc = subprocess.run([sys.executable, "-m", "harness", "here", "--name", "prod-image",
                           "--external", str(tmp_path / "team")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    summary = json.loads((reports / "summary.json").read_text())
    features = summary["rows"][0]["features"]
    assert features["ext.team.io"]["status"] == "pass", proc.stdout[-2000:] + proc.stderr[-2000:]
    assert features["ext.team.math"]["status"] == "fail" and proc.returncode == 1
    assert features["demo.cpu"]["status"] == "pass"
    # The failure's bundle carries the team's own test as a standalone script, inlined from its project.
    bundle = next((reports / "runs").glob("*")) / features["ext.team.math"]["repro"]
    script = subprocess.run([sys.executable, "repro.py"], cwd=bundle, capture_output=True, text=True, timeout=120)
    assert script.returncode == 1 and "AssertionError" in script.stdout + script.stderr, script.stdout + script.stderr
    readme = (bundle / "README.md").read_text()
    assert "team's own test" in readme and "the project's own test with its fixtures inlined" in readme
    # `here` installed nothing: the bundle has no lock, and its README does not send anyone to rebuild one.
    assert not (bundle / "requirements.lock").exists()
    assert "not verifiable from this bundle" in readme and "uv pip sync" not in readme

    missing = subprocess.run([sys.executable, "-m", "harness", "here", "--external", str(tmp_path / "nowhere")],
                             cwd=tmp_path, env=dict(env, HARNESS_REPORTS=str(tmp_path / "other")),
                             capture_output=True, text=True, timeout=300)
    assert missing.returncode == 2 and not (tmp_path / "other").exists()
    assert missing.stderr.count("\n") == 1 and "external" in missing.stderr and "nowhere" in missing.stderr
