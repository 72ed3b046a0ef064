"""End to end, as a user runs it: nox installs a real row and a broken one, then reports."""
import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

MATRIX = """
[[row]]
name = "torch-2.14"
pins = { torch = "2.14.1", torchvision = "0.29.1", torchaudio = "2.11.0" }
extra = ["torchcodec==0.17.0"]

[[row]]
name = "no-such-torch"
pins = { torch = "0.0.1" }
"""


def nox(*args, env):
    """nox on the repository's noxfile, its environments under the test's folder (never the repository's .nox/)."""
    envdir = os.path.join(os.path.dirname(env["HARNESS_REPORTS"]), ".nox")
    return subprocess.run([sys.executable, "-m", "nox", "-f", str(ROOT / "noxfile.py"), "--envdir", envdir, *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)


@pytest.fixture
def harness_env(tmp_path):
    return dict(os.environ, HARNESS_REPORTS=str(tmp_path / "reports"), HARNESS_RUN_ID="e2e-run")


@pytest.mark.slow
def test_a_real_row_completes_beside_an_uninstallable_one(tmp_path, harness_env):
    matrix = tmp_path / "matrix.toml"
    matrix.write_text(MATRIX)
    harness_env["HARNESS_MATRIX"] = str(matrix)
    proc = nox("-s", "matrix", "--", "--suites", "core/test_mobile.py", env=harness_env)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]  # the install failure

    reports = tmp_path / "reports"
    summary = json.loads((reports / "summary.json").read_text())
    assert summary == json.loads((reports / "runs" / "e2e-run" / "summary.json").read_text())
    assert summary["run_id"] == "e2e-run" and summary["matrix"] == str(matrix)
    good, broken = summary["rows"]
    assert good["installed"]["torch"] == "2.14.1" and good["install"]["status"] == "ok"
    assert good["features"]["core.mobile.lite_interpreter"]["status"] == "pass"
    assert good["features"]["core.mobile.export_opnames"]["status"] == "pass"
    # pytorch/pytorch#189532: the 2.13+ wheels are built without XNNPACK.
    assert good["features"]["core.mobile.optimize_for_mobile"]["status"] == "known-failure"
    assert broken["install"]["status"] == "install-failed"
    assert "torch==0.0.1" in broken["install"]["message"]
    assert {c["status"] for c in broken["features"].values()} == {"install-failed"}
    row_dir = reports / "runs" / "e2e-run" / "rows" / "torch-2.14"
    assert {"junit.xml", "pytest.log", "env.json", "requirements.lock"} <= {p.name for p in row_dir.iterdir()}
    html = (reports / "index.html").read_text()
    assert 'id="cell-no-such-torch-core.mobile.lite_interpreter"' in html


def test_a_malformed_matrix_exits_2_naming_the_field_and_writes_nothing(tmp_path, harness_env):
    matrix = tmp_path / "bad.toml"
    matrix.write_text('[[row]]\nname = "r"\npins = { torch = "two" }\n')
    harness_env["HARNESS_MATRIX"] = str(matrix)
    proc = nox("-s", "matrix", env=harness_env)
    assert proc.returncode == 2
    assert f"{matrix}: row r: field 'pins.torch'" in proc.stderr
    assert not (tmp_path / "reports").exists()


@pytest.mark.slow
def test_a_typo_in_suites_stops_the_matrix_with_exit_2_and_no_report(tmp_path, harness_env):
    """Issue 18: pytest's usage exit (a path that does not exist) is exit 2 with pytest's message, not green."""
    matrix = tmp_path / "matrix.toml"
    matrix.write_text(MATRIX.split("[[row]]\nname = \"no-such-torch\"")[0])
    harness_env["HARNESS_MATRIX"] = str(matrix)
    proc = nox("-s", "matrix", "--", "--suites", "core/test_mobil.py", env=harness_env)
    assert proc.returncode == 2, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "--suites core/test_mobil.py: no such path" in proc.stderr
    assert not (tmp_path / "reports" / "index.html").exists()
