"""harness.runner.run_suites on a miniature suite tree (HARNESS_SUITES), a fake torch, no network."""
import json
import os

import psutil
import pytest

from harness import runner
from harness.collect import read_records
from tests.conftest import demo_suite

FEATURES = '''
[[feature]]
id = "demo.good"
description = "passes"
[[feature]]
id = "demo.bad"
description = "fails"
[[feature]]
id = "demo.slow"
description = "outlives any bound"
'''

SUITE = '''
import pytest

@pytest.mark.feature("demo.good")
def test_good(torch):
    assert torch.cuda.is_available() is False

@pytest.mark.feature("demo.bad")
def test_bad():
    assert 1 == 2, "bad differs"
'''

SLOW = '''
import time
import pytest

@pytest.mark.feature("demo.slow")
def test_slow():
    time.sleep(600)
'''


@pytest.fixture
def suites(tmp_path, monkeypatch):
    env = demo_suite(tmp_path, FEATURES, SUITE, {})
    (tmp_path / "suites" / "demo" / "test_slow.py").write_text(SLOW)
    (tmp_path / "suites" / "pytest.ini").write_text("[pytest]\n")  # the rootdir, as in suites/: its conftest loads
    monkeypatch.setenv("HARNESS_SUITES", env["HARNESS_SUITES"])
    monkeypatch.setenv("PYTHONPATH", env["PYTHONPATH"])  # the fake torch, for the child pytest
    return tmp_path / "suites"


def statuses(out) -> dict[str, str]:
    return {f: r["status"] for r in read_records(out / "results.jsonl") if "test" in r for f in r["features"]}


def test_both_phases_run_and_the_row_folder_holds_what_the_report_reads(tmp_path, suites):
    out = tmp_path / "runs" / "R" / "rows" / "demo-row"
    info = runner.run_suites(runner.SuiteRun(out=out, suites=("demo/test_demo.py",), workers="1", timeout=300))
    # The checks phase fails (one check did); the benchmarks phase finds no benchmark: pytest's 5.
    assert [(p["phase"], p["returncode"]) for p in info["phases"]] == [("checks", 1), ("benchmarks", 5)]
    assert info["returncode"] == 5 and info["timed_out"] is False
    assert "usage_error" not in info
    assert json.loads((out / "pytest.json").read_text()) == info
    assert statuses(out) == {"demo.good": "pass", "demo.bad": "fail"}
    assert '"message": "AssertionError: bad differs"' in (out / "results.jsonl").read_text()
    env = json.loads((out / "env.json").read_text())
    assert env["python"] and "installed" in env and any(line.startswith("pytest==") for line in env["freeze"])
    log = (out / "pytest.log").read_text()
    assert log.count("==== phase ") == 2 and str(suites / "demo" / "test_demo.py") in log


def test_past_its_bound_the_phase_tree_is_killed_and_no_later_phase_starts(tmp_path, suites):
    out = tmp_path / "row"
    info = runner.run_suites(runner.SuiteRun(out=out, suites=("demo/test_slow.py",), workers="1", timeout=4))
    assert info["timed_out"] is True and [p["phase"] for p in info["phases"]] == ["checks"]
    assert info["seconds"] < 60
    assert psutil.Process(os.getpid()).children(recursive=True) == []  # nothing outlives the run


def test_a_suite_path_that_does_not_exist_is_a_usage_error_naming_it(tmp_path, suites):
    info = runner.run_suites(runner.SuiteRun(out=tmp_path / "row", suites=("nope",), workers="1", timeout=120))
    assert info["usage_error"].startswith("pytest exited with status 4 without running the ")
    assert f"--suites nope: no such path under {suites}" in info["usage_error"]


def test_the_checks_run_on_workers_and_the_benchmarks_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_SUITES", str(tmp_path / "s"))
    run = runner.SuiteRun(out=tmp_path / "o", depth="full", suites=("core",), pytest_args=("-k", "x"), workers="3")
    checks, bench = runner.pytest_command(run, "checks"), runner.pytest_command(run, "benchmarks")
    assert checks[checks.index("-n") + 1] == "3" and "--dist" in checks and "-n" not in bench
    assert str(tmp_path / "s" / "core") in checks and checks[-2:] == ["-k", "x"] and bench[-2:] == ["-k", "x"]
    assert f"--benchmark-json={tmp_path / 'o' / 'benchmark.json'}" in bench
    assert not any(a.startswith("--benchmark-json") for a in checks)
    assert "--depth=full" in checks and "--harness-phase=benchmarks" in bench
    assert f"--junitxml={tmp_path / 'o' / 'junit.xml'}" in checks


def test_the_progress_estimate_reads_the_same_rows_newest_earlier_run(tmp_path):
    runs = tmp_path / "runs"
    for run_id in ("20260101T000000Z", "20260102T000000Z", "20260103T000000Z"):
        (runs / run_id / "rows" / "r").mkdir(parents=True)
    for run_id in ("20260101T000000Z", "20260102T000000Z"):
        (runs / run_id / "rows" / "r" / "results.jsonl").write_text("")
    (runs / "20260102T000000Z" / "rows" / "other").mkdir()
    assert runner.previous_results(runs / "20260103T000000Z" / "rows" / "r") == \
        runs / "20260102T000000Z" / "rows" / "r" / "results.jsonl"
    assert runner.previous_results(runs / "20260103T000000Z" / "rows" / "new") is None
