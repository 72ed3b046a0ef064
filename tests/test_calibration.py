"""harness.calibration: calibration files, their labels, and the prior noise the rule starts from."""
import pytest

from harness import calibration, fsio, perf, stats


def write(folder, stamp, benchmarks, **fields):
    fsio.write_json(folder / f"{stamp}.json", {**fields, "benchmarks": benchmarks})


def test_entries_are_labelled_with_when_and_where_the_calibration_was_made(tmp_path):
    write(tmp_path, "20261101T000000Z", {"test_op": {"sigma": 0.04, "df": 19}},
          created="20261101T000000Z", host="runner-7")
    entries, problems = calibration.load_calibration(tmp_path, machine={"host": "runner-7"})
    assert problems == []
    assert entries["test_op"] == {"sigma": 0.04, "df": 19,
                                  "source": "calibration 20261101T000000Z on runner-7"}


def test_a_file_that_does_not_say_where_it_came_from_keeps_its_entries_as_they_are(tmp_path):
    write(tmp_path, "20261101T000000Z", {"test_op": {"sigma": 0.04, "df": 19}})
    entries, _ = calibration.load_calibration(tmp_path / "20261101T000000Z.json")
    assert entries == {"test_op": {"sigma": 0.04, "df": 19}}
    assert calibration.prior_noise("test_op", entries).source == calibration.CALIBRATION_SOURCE


@pytest.mark.parametrize("entry", [{"sigma": -0.1, "df": 9}, {"sigma": 0.1, "df": 0}, {"df": 9},
                                   "0.03"])
def test_an_out_of_range_entry_makes_the_file_unusable_and_the_older_one_is_used(tmp_path, entry):
    write(tmp_path, "20261101T000000Z", {"test_op": {"sigma": 0.04, "df": 19}}, host="old")
    write(tmp_path, "20261102T000000Z", {"test_op": entry}, host="new")
    entries, problems = calibration.load_calibration(tmp_path, machine={"host": "old"})
    assert entries["test_op"]["source"] == "calibration on old"
    assert len(problems) == 1 and problems[0].startswith("20261102T000000Z.json: unusable calibration file")


def test_a_warning_names_the_calibration_file_relative_to_the_reports_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_REPORTS", str(tmp_path / "reports"))
    folder = tmp_path / "reports" / "calibration"
    write(folder, "20261101T000000Z", {"test_op": {"sigma": 0.04, "df": 19}}, host="elsewhere")
    _, problems = calibration.load_calibration(folder, machine={"host": "here"})
    assert len(problems) == 1 and problems[0].startswith("calibration/20261101T000000Z.json: calibration made on")


def test_no_calibration_folder_means_no_entries_and_no_warning(tmp_path):
    assert calibration.load_calibration(tmp_path / "none") == ({}, [])


def test_prior_noise_prefers_the_calibration_then_the_built_in_table_then_the_default():
    entries = {"test_op": {"sigma": 0.031, "df": 39, "source": "calibration on ci"}}
    assert calibration.prior_noise("test_op", entries) == stats.Noise(0.031, 39, "calibration on ci")
    built_in = calibration.prior_noise("test_onnxruntime_resnet18", {})  # 0.4% in the table
    assert built_in == stats.Noise(calibration.DEFAULT_FLOOR, calibration.DEFAULT_DF,
                                   calibration.BUILT_IN_SOURCE, foreign=True)
    assert calibration.prior_noise("test_mfcc[b1]", {}).sigma == calibration.DEFAULT_SIGMA["test_mfcc[b1]"]
    assert calibration.prior_noise("test_unknown", {}) is calibration.DEFAULT_NOISE
    assert calibration.DEFAULT_NOISE.sigma > max(calibration.DEFAULT_SIGMA.values())


def test_the_report_names_the_calibration_its_noise_came_from(tmp_path):
    write(tmp_path, "20261101T000000Z", {"test_op": {"sigma": 0.03, "df": 19}},
          created="20261101T000000Z", host="runner-7")
    entries, _ = perf.load_calibration(tmp_path, {"host": "runner-7"})  # importable through perf
    run = {"run_id": "20261126T000000Z", "rows": [{"name": "r", "benchmarks": {"test_op": {
        "group": "g", "clock": "process_time", "rounds": [0.01 + i * 1e-5 for i in range(30)]}}}]}
    report = perf.analyse(run, [], [], entries)
    assert report.noise["test_op"]["source"] == "calibration 20261101T000000Z on runner-7"
    assert report.noise["test_op"]["sigma"] == pytest.approx(0.03)  # pooled with nothing else


def test_a_file_from_another_host_or_cpu_is_labelled_foreign_with_a_warning(tmp_path):
    write(tmp_path, "20261101T000000Z", {"test_op": {"sigma": 0.04, "df": 19}},
          created="20261101T000000Z", host="runner-7", cpu="Xeon 8480")
    here = {"host": "runner-7", "cpu": "EPYC 9654"}
    entries, problems = calibration.load_calibration(tmp_path, machine=here)
    assert entries["test_op"]["foreign"] is True
    assert entries["test_op"]["source"].endswith("(another machine)")
    assert len(problems) == 1 and "'Xeon 8480', not this machine's 'EPYC 9654'" in problems[0]
    assert "nox -s calibrate" in problems[0]
    assert calibration.prior_noise("test_op", entries).foreign
    same, none = calibration.load_calibration(tmp_path, machine={"host": "runner-7",
                                                                 "cpu": "Xeon 8480"})
    assert "foreign" not in same["test_op"] and none == []


def test_this_machine_names_the_host_and_a_cpu_model():
    machine = calibration.this_machine()
    assert machine["host"] and isinstance(machine["cpu"], str)
    assert calibration.foreign_reason({"host": machine["host"], "cpu": machine["cpu"]},
                                      machine) is None


def test_pooled_noise_stays_foreign_if_any_part_is():
    pooled = stats.Noise.pool([stats.Noise(0.02, 10, "a"), stats.Noise(0.03, 10, "b", True)])
    assert pooled.foreign and not stats.Noise.pool([stats.Noise(0.02, 10, "a")]).foreign
