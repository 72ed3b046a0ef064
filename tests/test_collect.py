from harness.collect import feature_outcomes, install_failed, read_records
from harness.registry import Feature
from harness.status import Status

REGISTRY = {fid: Feature(fid, "d", fid.split(".")[0]) for fid in ("core.a", "core.b", "vision.c")}


def test_results_fold_per_feature():
    records = [
        {"collected": {"t1": ["core.a"], "t2": ["core.a", "core.b"], "t3": ["vision.c"]}},
        {"test": "t1", "features": ["core.a"], "status": "pass"},
        {"test": "t2", "features": ["core.a", "core.b"], "status": "fail", "message": "AssertionError: x"},
        {"test": "t3", "features": ["vision.c"], "status": "pass"},
    ]
    out = feature_outcomes(REGISTRY, records, {"returncode": 1})
    assert out["core.a"].status == Status.FAIL and out["core.a"].test == "t2"
    assert out["vision.c"].status == Status.PASS


def test_tests_that_never_reported_after_a_signal_are_crashes():
    records = [{"collected": {"t1": ["core.a"], "t2": ["core.b"]}},
               {"test": "t1", "features": ["core.a"], "status": "pass"}]
    out = feature_outcomes(REGISTRY, records, {"returncode": -11})
    assert out["core.a"].status == Status.PASS
    assert out["core.b"].status == Status.CRASH and "SIGSEGV" in out["core.b"].message


def test_a_row_killed_at_its_bound_times_out_the_unfinished_checks():
    records = [{"collected": {"t1": ["core.a"]}}]
    out = feature_outcomes(REGISTRY, records, {"returncode": -9, "timed_out": True, "timeout": 60})
    assert out["core.a"].status == Status.TIMEOUT and "60" in out["core.a"].message


def test_a_module_that_cannot_be_collected_errors_its_area():
    records = [{"collect_error": "vision/test_x.py", "message": "ImportError: libfoo.so"},
               {"collected": {"t1": ["core.a"], "t2": ["core.b"]}},
               {"test": "t1", "features": ["core.a"], "status": "pass"},
               {"test": "t2", "features": ["core.b"], "status": "pass"}]
    out = feature_outcomes(REGISTRY, records, {"returncode": 2})
    assert out["vision.c"].status == Status.ERROR and "libfoo.so" in out["vision.c"].message


def test_a_feature_no_test_checks_is_an_error_in_a_full_run():
    out = feature_outcomes(REGISTRY, [{"collected": {}}], {"returncode": 5})
    assert out["core.a"].status == Status.ERROR


def test_a_subset_run_leaves_other_features_out():
    records = [{"collected": {"t1": ["core.a"]}}, {"test": "t1", "features": ["core.a"], "status": "pass"}]
    out = feature_outcomes(REGISTRY, records, {"returncode": 0, "suites": ["core/test_a.py"]})
    assert set(out) == {"core.a"}


def test_install_failure_marks_every_feature():
    out = install_failed(REGISTRY, "resolution failed: No solution found\n  torch==0.0.1")
    assert {o.status for o in out.values()} == {Status.INSTALL_FAILED}
    assert out["core.a"].message == "resolution failed: No solution found"


def test_a_torn_last_line_is_dropped(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text('{"collected": {}}\n{"test": "t1", "feat')
    assert read_records(path) == [{"collected": {}}]
