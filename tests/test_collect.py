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
    assert read_records(path) == [{"schema_version": 2, "collected": {}, "not_applicable": {}}]


def measured(name, value, tolerance=1.0, metric="allclose_ratio"):
    return ["measured", {"name": name, "metric": metric, "value": value, "tolerance": tolerance}]


def test_measurements_fold_per_feature_worst_headroom_first():
    from harness.collect import feature_measurements

    records = [
        {"collected": {"t1": ["core.a"], "t2": ["core.a", "core.b"]}},
        {"test": "t1", "features": ["core.a"], "status": "pass",
         "properties": [measured("exact", 0.0), measured("close", 0.025), ["audio_backends", ["ffmpeg"]]]},
        {"test": "t2", "features": ["core.a", "core.b"], "status": "pass",
         "properties": [measured("snr", 26.0, 20.0, "snr_db"), measured("snr", "inf", 20.0, "snr_db")]},
        {"test": "t3", "features": ["vision.c"], "status": "pass", "properties": []},
    ]
    out = feature_measurements(records)
    assert set(out) == {"core.a", "core.b"}  # vision.c measured nothing: no entry
    a = out["core.a"]
    assert [(m["test"], m["name"]) for m in a] == [("t2", "snr"), ("t1", "close"), ("t1", "exact"), ("t2", "snr #2")]
    assert abs(a[0]["headroom"] - 10 ** (6 / 20)) < 1e-9 and abs(a[1]["headroom"] - 40) < 1e-9
    assert a[2]["headroom"] == "inf" and a[3]["headroom"] == "inf"  # JSON has no infinity; ties keep order
    assert [m["name"] for m in out["core.b"]] == ["snr", "snr #2"]


def test_a_failing_or_malformed_measurement_is_kept_or_dropped_without_breaking_the_row():
    from harness.collect import feature_measurements, user_properties

    records = [{"test": "t1", "features": ["core.a"], "status": "fail",
                "properties": [measured("over", 3.0), ["measured", {"name": "x"}],
                               ["measured", {"name": "y", "metric": "furlongs", "value": 1, "tolerance": 1}],
                               measured("nan", "nan")]}]
    out = feature_measurements(records)["core.a"]
    assert [(m["name"], m["headroom"]) for m in out] == [("nan", 0.0), ("over", 1 / 3)]
    assert user_properties(records) == {}  # measurements are not row properties


# ---- attribution after a kill or a timeout (issue 18) -------------------------------------------------

GPU_REGISTRY = {**REGISTRY, "cuda.d": Feature("cuda.d", "d", "cuda", device="cuda"),
                "cuda.e": Feature("cuda.e", "d", "cuda", device="cuda")}


def test_the_check_running_at_the_bound_is_named_as_the_one_that_hung():
    records = [{"collected": {"t1": ["core.a"], "t2": ["core.b"], "t3": ["vision.c"]}},
               {"start": "t1"}, {"test": "t1", "features": ["core.a"], "status": "pass"},
               {"start": "t2"}]
    out = feature_outcomes(REGISTRY, records, {"returncode": -9, "timed_out": True, "timeout": 60})
    assert out["core.a"].status == Status.PASS
    assert out["core.b"].status == Status.TIMEOUT and "was running when the row's bound of 60 s hit" \
        in out["core.b"].message and out["core.b"].test == "t2"
    assert out["vision.c"].status == Status.TIMEOUT and "killed before this check ran" in out["vision.c"].message


def test_a_death_names_the_check_it_happened_in_and_the_others_as_not_started():
    records = [{"collected": {"t1": ["core.a"], "t2": ["core.b"]}}, {"start": "t1"}]
    out = feature_outcomes(REGISTRY, records, {"returncode": -6})
    assert out["core.a"].status == Status.CRASH and "SIGABRT during this check" in out["core.a"].message
    assert out["core.b"].status == Status.CRASH and "before this check ran" in out["core.b"].message


def test_a_killed_subset_run_leaves_features_outside_it_not_run():
    records = [{"collected": {"t1": ["core.a"]}}, {"start": "t1"}]
    out = feature_outcomes(REGISTRY, records, {"returncode": -9, "timed_out": True, "timeout": 5,
                                               "suites": ["core/test_a.py"]})
    assert set(out) == {"core.a"} and out["core.a"].status == Status.TIMEOUT


def test_a_killed_row_keeps_na_and_does_not_stamp_gpu_features():
    records = [{"collected": {"t1": ["core.a"], "t2": ["core.b"], "t3": ["vision.c"], "g1": ["cuda.d"]},
                "not_applicable": {"g1": "no CUDA device in this environment"}},
               {"test": "t2", "features": ["core.b"], "status": "n/a", "message": "torchaudio is not in this row"}]
    out = feature_outcomes(GPU_REGISTRY, records, {"returncode": -9, "timed_out": True, "timeout": 5})
    assert out["core.b"].status == Status.NOT_APPLICABLE
    assert out["cuda.d"].status == Status.NOT_APPLICABLE and "no CUDA" in out["cuda.d"].message
    assert "cuda.e" not in out  # never collected: not run, not killed
    assert out["core.a"].status == Status.TIMEOUT


def test_a_crash_record_of_the_controller_still_names_its_check():
    records = [{"collected": {"t1": ["core.a"], "t2": ["core.b"]}}, {"start": "t1"},
               {"test": "t1", "features": None, "status": "crash", "message": "the check's process died with SIGSEGV"},
               {"start": "t2"}, {"test": "t2", "features": ["core.b"], "status": "pass"}]
    out = feature_outcomes(REGISTRY, records, {"returncode": 1})
    assert out["core.a"].status == Status.CRASH and out["core.b"].status == Status.PASS
