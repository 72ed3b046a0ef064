"""Drift: a comparison's error grew more than tenfold against its own row's history, within tolerance."""
import json

from harness import drift
from harness.measure import Measurement

TEST = "suites/audio/test_biquad.py::test_lowpass[float32]"


def entry(value, tolerance=2e-5, metric="max_abs", name="lowpass", test=TEST):
    m = Measurement(name, metric, value, tolerance)
    return {"test": test, **m.to_json(), "headroom": m.headroom}


def run(run_id, *entries, row="torch-2.14", fid="audio.transforms.biquad", status="pass"):
    cell = {"status": status, "message": ""}
    if entries:
        cell["measured"] = list(entries)
    return {"run_id": run_id, "rows": [{"name": row, "features": {fid: cell}}]}


def test_a_tenfold_growth_within_tolerance_is_flagged_in_the_summary():
    history = [run(f"2026010{i}", entry(1e-7)) for i in range(1, 6)]
    tonight = run("20260110", entry(3e-6))  # 30x the history, headroom still x6.7
    found = drift.annotate(tonight, history)
    assert len(found) == 1
    d = found[0]
    assert (d.row, d.feature, d.name) == ("torch-2.14", "audio.transforms.biquad", "lowpass")
    assert abs(d.factor - 30) < 1e-9 and d.baseline == 1e-7 and d.current == 3e-6
    cell = tonight["rows"][0]["features"]["audio.transforms.biquad"]
    assert cell["drift"]["from"] == 1e-7 and cell["drift"]["to"] == 3e-6
    assert abs(cell["drift"]["factor"] - 30) < 1e-9
    assert cell["measured"][0]["drift"] == cell["drift"]["factor"]
    assert tonight["drift"] == [cell["drift"]]
    json.dumps(tonight, allow_nan=False)  # summary.json stays strict JSON


def test_growth_of_ten_or_less_is_not_drift():
    history = [run("20260101", entry(1e-7))]
    assert drift.find(run("20260102", entry(1e-6)), history) == []          # exactly 10x
    assert len(drift.find(run("20260102", entry(1.01e-6)), history)) == 1   # just over


def test_a_failing_measurement_is_a_failure_not_drift():
    history = [run("20260101", entry(1e-7))]
    assert drift.find(run("20260102", entry(5e-5), status="fail"), history) == []


def test_the_baseline_is_the_median_of_the_last_runs_that_measured_it():
    # One odd night among five does not move the baseline, in either direction.
    odd_high = [run(f"2026010{i}", entry(v)) for i, v in enumerate([1e-7, 1e-7, 5e-6, 1e-7, 1e-7], 1)]
    assert len(drift.find(run("20260110", entry(2e-6)), odd_high)) == 1
    # Runs older than the window are forgotten: after five nights at the new level it is the baseline.
    moved = [run(f"2026010{i}", entry(v)) for i, v in enumerate([1e-7] * 3 + [2e-6] * 5, 1)]
    assert drift.find(run("20260110", entry(2e-6)), moved) == []
    # Runs that did not measure it (a subset of suites, an older summary) are passed over.
    sparse = [run("20260101", entry(1e-7)), run("20260102"), {"run_id": "20260103", "rows": []}]
    assert len(drift.find(run("20260110", entry(2e-6)), sparse)) == 1


def test_history_is_per_row_and_per_comparison_and_earlier_runs_only():
    other_row = [run("20260101", entry(1e-7), row="torch-2.3")]
    assert drift.find(run("20260110", entry(2e-6)), other_row) == []
    other_test = [run("20260101", entry(1e-7, test="t-other"))]
    assert drift.find(run("20260110", entry(2e-6)), other_test) == []
    later = [run("20260111", entry(1e-7)), run("20260110", entry(1e-7))]
    assert drift.find(run("20260110", entry(2e-6)), later) == []


def test_round_off_far_below_the_tolerance_does_not_flag():
    # Bit-exact before (0), now 1e-9 against a tolerance of 2e-5: under 1/1000 of it.
    assert drift.find(run("20260102", entry(1e-9)), [run("20260101", entry(0.0))]) == []
    # ... but reaching 1/100 of the tolerance from an exact match is flagged.
    assert len(drift.find(run("20260102", entry(2e-7)), [run("20260101", entry(0.0))])) == 1


def test_snr_drift_is_measured_on_the_noise_amplitude():
    snr = lambda db: entry(db, tolerance=20.0, metric="snr_db", name="mp3 snr")  # noqa: E731
    history = [run("20260101", snr(60.0))]
    found = drift.find(run("20260102", snr(35.0)), history)  # 25 dB worse: noise x17.8
    assert len(found) == 1 and abs(found[0].factor - 10 ** (25 / 20)) < 1e-6
    assert drift.find(run("20260102", snr(45.0)), history) == []  # 15 dB: x5.6


def test_summaries_without_measurements_are_fine():
    old = {"run_id": "20250101", "rows": [{"name": "torch-2.14",
                                          "features": {"audio.transforms.biquad": {"status": "pass", "message": ""}}}]}
    tonight = run("20260101", entry(1e-6))
    assert drift.annotate(tonight, [old]) == [] and tonight["drift"] == []
    assert drift.annotate(old, [tonight]) == []


def night(reports, run_id, value):
    """A row folder as the plugin leaves it, one passing test that measured `value` against 2e-5."""
    from harness import fsio

    row = reports / "runs" / run_id / "rows" / "torch-2.14"
    fsio.write_json(reports / "runs" / run_id / "run.json", {"run_id": run_id, "rows": ["torch-2.14"]})
    fsio.write_json(row / "install.json", {"status": "ok", "pins": {"torch": "2.14.1"}})
    fsio.write_json(row / "env.json", {"installed": {"torch": "2.14.1"}})
    fsio.write_json(row / "pytest.json", {"returncode": 0, "suites": []})
    lines = [{"collected": {TEST: ["core.alpha"]}},
             {"test": TEST, "features": ["core.alpha"], "status": "pass", "message": "",
              "properties": [["measured", Measurement("lowpass", "max_abs", value, 2e-5).to_json()]]}]
    (row / "results.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))


def test_the_report_command_flags_drift_without_changing_the_exit_status(tmp_path):
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    suites = tmp_path / "suites" / "core"
    suites.mkdir(parents=True)
    (suites / "features.toml").write_text('[[feature]]\nid = "core.alpha"\ndescription = "alpha"\n')
    reports = tmp_path / "reports"
    env = dict(os.environ, HARNESS_SUITES=str(suites.parent), PYTHONPATH=str(ROOT))
    for run_id, value in (("20260101T000000Z", 1e-7), ("20260102T000000Z", 1.2e-7), ("20260103T000000Z", 4e-6)):
        night(reports, run_id, value)
        proc = subprocess.run([sys.executable, "-m", "harness", "report", "--reports", str(reports), "--run", run_id],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr  # drift is a warning, never a failure
    summary = json.loads((reports / "summary.json").read_text())
    cell = summary["rows"][0]["features"]["core.alpha"]
    assert cell["status"] == "pass" and cell["measured"][0]["value"] == 4e-6 and abs(cell["headroom"] - 5) < 1e-9
    assert abs(cell["drift"]["from"] - 1.1e-7) < 1e-20  # the median of two nights
    assert cell["drift"]["to"] == 4e-6
    assert cell["drift"]["runs"] == ["20260101T000000Z", "20260102T000000Z"]
    assert summary["verdict"]["exit_code"] == 0 and "drift (warning only)" in proc.stdout
    assert 'id="drift"' in (reports / "index.html").read_text()
