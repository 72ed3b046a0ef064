"""No green without a run (issue 18): a pytest usage exit stops with exit 2 and pytest's message; a run
missing a row it listed never reads "As expected"; a row whose run-suites was killed keeps its results."""
import json
import subprocess
import sys

import pytest

from harness import cli, fsio
from harness import summary as summ
from harness.registry import Feature
from harness.status import Status
from tests.conftest import ROOT, demo_suite

FEATURES = '[[feature]]\nid = "demo.ok"\ndescription = "passes"\n'
SUITE = 'import pytest\n\n@pytest.mark.feature("demo.ok")\ndef test_ok():\n    pass\n'


@pytest.mark.parametrize("args, says", [
    (["--suites", "demo/test_dem.py"], "--suites demo/test_dem.py: no such path"),  # a typo in --suites
    (["--", "--", "-k", "ok"], ""),                                    # a second `--` before -k
    (["--", "--no-such-pytest-option"], "unrecognized arguments"),
])
def test_a_pytest_usage_exit_stops_with_exit_2_and_pytest_message(tmp_path, args, says):
    env = demo_suite(tmp_path, FEATURES, SUITE, {})
    (tmp_path / "suites" / "pytest.ini").write_text("[pytest]\n")
    out = tmp_path / "row"
    proc = subprocess.run([sys.executable, "-m", "harness", "run-suites", "--out", str(out), "--workers", "1",
                           *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "error: row: pytest exited with status" in proc.stderr and says in proc.stderr
    exit_info = json.loads((out / "pytest.json").read_text())
    assert exit_info["usage_error"]


def test_a_run_that_works_is_not_a_usage_error(tmp_path):
    env = demo_suite(tmp_path, FEATURES, SUITE, {})
    out = tmp_path / "row"
    proc = subprocess.run([sys.executable, "-m", "harness", "run-suites", "--out", str(out), "--workers", "1"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "usage_error" not in json.loads((out / "pytest.json").read_text())


REGISTRY = {"core.a": Feature("core.a", "a", "core"), "core.b": Feature("core.b", "b", "core")}


def passing_row(run_dir, name):
    row = run_dir / "rows" / name
    fsio.write_json(row / "install.json", {"status": "ok", "message": "", "pins": {}})
    fsio.write_json(row / "env.json", {"installed": {}})
    (row / "results.jsonl").write_text(
        json.dumps({"collected": {"t1": ["core.a"], "t2": ["core.b"]}}) + "\n"
        + json.dumps({"test": "t1", "features": ["core.a"], "status": "pass"}) + "\n"
        + json.dumps({"test": "t2", "features": ["core.b"], "status": "pass"}) + "\n")
    return row


def test_a_run_missing_a_row_it_listed_is_incomplete_and_not_as_expected(tmp_path):
    run_dir = tmp_path / "runs" / "R1"
    summ.start_run(run_dir, {"run_id": "R1", "rows": ["first", "second"]})
    fsio.write_json(passing_row(run_dir, "first") / "pytest.json", {"returncode": 0, "phases": []})
    summary = summ.build_summary(run_dir, REGISTRY, [])
    assert summary["complete"] is False and summary["missing_rows"] == ["second"]
    verdict = summ.verdict(summary)
    assert verdict.exit_code == 1 and "incomplete run" in verdict.problems[0] and "second" in verdict.problems[0]
    from harness.report import render

    html = render(summary, verdict, run_dir, run_dir / "index.html")
    assert 'id="incomplete"' in html and "second" in html and "As expected" not in html


def test_a_complete_run_is_marked_complete(tmp_path):
    run_dir = tmp_path / "runs" / "R1"
    summ.start_run(run_dir, {"run_id": "R1", "rows": ["first"]})
    fsio.write_json(passing_row(run_dir, "first") / "pytest.json", {"returncode": 0, "phases": []})
    summary = summ.build_summary(run_dir, REGISTRY, [])
    assert summary["complete"] is True and summ.verdict(summary).exit_code == 0


def test_a_row_whose_run_suites_was_killed_keeps_every_result_its_pytest_wrote(tmp_path):
    run_dir = tmp_path / "runs" / "R1"
    summ.start_run(run_dir, {"run_id": "R1", "rows": ["first"]})
    passing_row(run_dir, "first")  # no pytest.json: run-suites was killed after its pytest finished
    row = summ.build_summary(run_dir, REGISTRY, [])["rows"][0]
    assert {fid: c["status"] for fid, c in row["features"].items()} == {"core.a": "pass", "core.b": "pass"}


def test_an_interrupted_row_marks_the_unreported_checks_without_calling_them_crashes(tmp_path):
    run_dir = tmp_path / "runs" / "R1"
    row = passing_row(run_dir, "first")
    (row / "results.jsonl").write_text(
        json.dumps({"collected": {"t1": ["core.a"], "t2": ["core.b"]}}) + "\n"
        + json.dumps({"test": "t1", "features": ["core.a"], "status": "pass"}) + "\n")
    features = summ.build_row(row, REGISTRY, [])["features"]
    assert features["core.a"]["status"] == "pass"
    assert features["core.b"]["status"] == Status.ERROR.value and "interrupted" in features["core.b"]["message"]


def test_here_stops_with_exit_2_on_a_usage_exit(tmp_path, monkeypatch):
    monkeypatch.setattr(cli, "run_suites", lambda run: {"usage_error": "pytest exited with status 4: ERROR: x",
                                                         "returncode": 4, "seconds": 0, "timed_out": False})
    assert cli.main(["here", "--reports", str(tmp_path), "--suites", "core/test_mobil.py"]) == 2
    assert not (tmp_path / "index.html").exists()


HANG_FEATURES = "".join(f'[[feature]]\nid = "demo.{n}"\ndescription = "{n}"\n' for n in ("a_ok", "b_hang", "c_later"))
HANG_SUITE = '''
import time
import pytest

@pytest.mark.feature("demo.a_ok")
def test_a_ok():
    pass

@pytest.mark.feature("demo.b_hang")
def test_b_hang():
    time.sleep(600)

@pytest.mark.feature("demo.c_later")
def test_c_later():
    pass
'''


def test_a_row_at_its_bound_names_the_check_that_hung_through_run_suites(tmp_path):
    """End to end through run-suites (one xdist worker): the start record names the hung check."""
    from harness import collect
    from harness.registry import load_registry

    env = demo_suite(tmp_path, HANG_FEATURES, HANG_SUITE, {})
    out = tmp_path / "row"
    proc = subprocess.run([sys.executable, "-m", "harness", "run-suites", "--out", str(out), "--workers", "1",
                           "--timeout", "8"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    exit_info = json.loads((out / "pytest.json").read_text())
    assert exit_info["timed_out"]
    outcomes = collect.feature_outcomes(load_registry(tmp_path / "suites"),
                                        collect.read_records(out / "results.jsonl"), exit_info)
    assert outcomes["demo.a_ok"].status == Status.PASS
    assert outcomes["demo.b_hang"].status == Status.TIMEOUT and "was running" in outcomes["demo.b_hang"].message
    assert outcomes["demo.c_later"].status == Status.TIMEOUT
    assert "killed before this check ran" in outcomes["demo.c_later"].message
