"""The history index: the report reads less, and decides the same."""
import json
import math
import random

import pytest

from harness import drift, history_index, perf, perf_table, repro, runs
from harness.measure import Measurement

ROWS = ["torch-2.3", "torch-2.11", "torch-2.14"]
BENCHES = ["test_mfcc[b1]", "test_mfcc[b16]", "test_resnet18_eager", "test_rpc_round_trip"]
NIGHTS = 40   # more than FULL_ROUNDS, so older nights are read as one round each
TEST = "suites/audio/test_biquad.py::test_lowpass[float32]"


def run_id(night: int) -> str:
    return f"2026{1 + night // 28:02d}{1 + night % 28:02d}T030000Z"


def level(bench: str, row: str, night: int) -> float:
    """Each series has its own level; three shift (up at night 15, down at 30, up for the last four:
    a regression is confirmed by 3 runs or more)."""
    shift = {("test_mfcc[b1]", "torch-2.14"): (15, 1.3), ("test_rpc_round_trip", "torch-2.3"): (30, 0.8),
             ("test_resnet18_eager", "torch-2.11"): (NIGHTS - 4, 1.4)}
    at, size = shift.get((bench, row), (NIGHTS + 1, 1.0))
    return (1 + BENCHES.index(bench)) * 1e-3 * (1 + ROWS.index(row) / 10) * (size if night >= at else 1.0)


def summary_of(night: int, rng: random.Random) -> dict:
    rows = []
    for row in ROWS:
        benchmarks = {}
        for bench in BENCHES:
            factor = level(bench, row, night) * math.exp(rng.gauss(0, 0.05))
            rounds = [factor * (1 + abs(rng.gauss(0, 0.05))) for _ in range(30)]
            benchmarks[bench] = {"group": "g", "fullname": f"bench/test_x.py::{bench}", "clock": "process_time",
                                 "rounds": rounds, "extra_info": {"threads": 1}}
        benchmarks["test_broken"] = {"clock": "process_time", "rounds": [0.0, -1.0]}  # unusable: left out
        value = 1e-7 * (30 if night == NIGHTS - 1 and row == "torch-2.14" else 1 + rng.random())
        measured = [{"test": TEST, **Measurement("lowpass", "max_abs", value, 2e-5).to_json(), "headroom": 1.0}]
        if night % 3 == 0:  # measured only every third night: drift passes the others over
            measured.append({"test": TEST, **Measurement("highpass", "max_abs", value, 2e-5).to_json(),
                             "headroom": 1.0})
        status = "fail" if (row == "torch-2.14" and night >= 33) else "pass"
        rows.append({"name": row, "installed": {"torch": row.split("-")[1]}, "benchmarks": benchmarks,
                     "features": {"audio.transforms.biquad": {"status": status, "measured": measured},
                                  "core.other": {"status": "pass"}}})
    return {"run_id": run_id(night), "started": "", "rows": rows}


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    """40 nights written as a nightly writes them (summary.json and its compact copy); the newest is returned."""
    reports = tmp_path_factory.mktemp("reports")
    rng = random.Random(16)
    made = [summary_of(night, rng) for night in range(NIGHTS)]
    for summary in made[:-1]:
        runs.write_summary(runs.runs_dir(reports) / summary["run_id"], summary, reports, newest=False)
    return reports, made[-1], made[:-1]


def verdicts(summary, history):
    # This machine's calibration (the built-in table is another machine's and never confirms a regression).
    report = perf.analyse(summary, history, [], calibration={b: {"sigma": 0.05, "df": 39} for b in BENCHES})
    return report.to_json()


def test_verdicts_trends_drift_and_last_good_are_the_same_from_the_index(nights):
    reports, summary, full = nights
    warnings = []
    slim = history_index.load(runs.runs_dir(reports), before=summary["run_id"], warnings=warnings)
    assert warnings == [] and len(slim) == len(full)
    # The older nights carry one round each: the index really is read.
    assert len(slim[0]["rows"][0]["benchmarks"]["test_mfcc[b1]"]["rounds"]) == 1
    assert len(slim[-1]["rows"][0]["benchmarks"]["test_mfcc[b1]"]["rounds"]) == 30
    expected = verdicts(summary, full)
    assert expected["change_points"] and expected["regressions"]
    assert verdicts(summary, slim) == expected
    names = list(expected["benchmarks"])
    assert perf_table.year_series(summary, slim, names) == perf_table.year_series(summary, full, names)
    measured = history_index.load_full(runs.runs_dir(reports), drift.runs_needed(summary, slim))
    assert len(measured) < len(full)   # only the runs that hold the last measurements
    found = drift.find(summary, full)
    assert found and drift.find(summary, measured) == found
    target = repro.Target("audio.transforms.biquad", "torch-2.14", "fail", "", TEST)
    assert f"run `{run_id(32)}`" in repro.last_good({"rows": []}, full, target)
    assert repro.last_good({"rows": []}, slim, target) == repro.last_good({"rows": []}, full, target)


def test_missing_stale_and_damaged_compact_files_are_rebuilt_with_one_warning(nights, tmp_path):
    import shutil

    source, summary, _ = nights
    reports = tmp_path / "reports"
    shutil.copytree(source, reports)
    folders = sorted(runs.runs_dir(reports).iterdir())
    expected = history_index.load(runs.runs_dir(reports), before=summary["run_id"])
    (folders[0] / history_index.INDEX).unlink()                          # missing
    (folders[1] / history_index.INDEX).write_text('{"version": 1, "rows"')  # damaged
    (folders[-1] / history_index.ROUNDS).write_text("[]")                # damaged rounds of a recent night
    stale = json.loads((folders[2] / "summary.json").read_text())          # edited after its copy was made
    stale["rows"][0]["features"]["core.other"].update(status="fail", message="edited")
    runs.fsio.write_json(folders[2] / "summary.json", stale)
    warnings = []
    got = history_index.load(runs.runs_dir(reports), before=summary["run_id"], warnings=warnings)
    assert len(warnings) == 1 and "4 of 39" in warnings[0] and "written again" in warnings[0]
    assert got[2]["rows"][0]["features"]["core.other"]["status"] == "fail"
    # the one thing the edit changed (cells are shared: replace, never edit)
    got[2]["rows"][0]["features"]["core.other"] = {"status": "pass"}
    assert got == expected
    again = []
    history_index.load(runs.runs_dir(reports), before=summary["run_id"], warnings=again)
    assert again == []   # written again: the next report reads the compact copies


def test_a_compact_file_with_the_right_stamp_and_the_wrong_content_is_rebuilt(nights, tmp_path):
    import shutil

    source, summary, _ = nights
    reports = tmp_path / "reports"
    shutil.copytree(source, reports)
    expected = history_index.load(runs.runs_dir(reports), before=summary["run_id"])
    newest = sorted(runs.runs_dir(reports).iterdir())[-1]
    data = json.loads((newest / history_index.ROUNDS).read_text())
    data["rows"] = {row: {b: [1.0] for b in benches} for row, benches in data["rows"].items()}  # lists, not records
    (newest / history_index.ROUNDS).write_text(json.dumps(data))
    warnings = []
    assert history_index.load(runs.runs_dir(reports), before=summary["run_id"], warnings=warnings) == expected
    assert len(warnings) == 1 and "1 of 39" in warnings[0]


def test_condensed_history_gives_the_same_trend_values(nights):
    reports, summary, full = nights
    slim = history_index.load(runs.runs_dir(reports), before=summary["run_id"])
    history_index.condense(slim)
    assert all(len(rec["rounds"]) == 1 for run in slim for row in run["rows"] for rec in row["benchmarks"].values())
    names = list(BENCHES)
    assert perf_table.year_series(summary, slim, names) == perf_table.year_series(summary, full, names)


def test_nights_restored_from_the_site_keep_their_compact_copies(nights, tmp_path):
    from harness.commands import restore

    site, summary, _ = nights
    reports = tmp_path / "reports"
    assert len(restore.run(site, reports)) == NIGHTS - 1
    warnings = []
    restored = history_index.load(runs.runs_dir(reports), before=summary["run_id"], warnings=warnings)
    assert warnings == []   # read from the copies, as on the machine that wrote them
    assert restored == history_index.load(runs.runs_dir(site), before=summary["run_id"])


def test_an_unreadable_summary_is_named_relative_to_the_reports_folder(tmp_path, capsys):
    """The warnings are published in summary.json: no machine path in them."""
    bad = tmp_path / "runs" / "20250101T000000Z" / "summary.json"
    bad.parent.mkdir(parents=True)
    bad.write_text("{ torn")
    for read in (lambda w: history_index.load(tmp_path / "runs", warnings=w),
                 lambda w: history_index.load_full(tmp_path / "runs", ["20250101T000000Z"], w),
                 lambda w: runs.load_history(tmp_path, warnings=w)):
        warnings: list[str] = []
        assert read(warnings) == []
        assert len(warnings) == 1 and warnings[0].startswith(
            "history file runs/20250101T000000Z/summary.json is unreadable (Expecting"), warnings
        assert str(tmp_path) not in warnings[0]
    (bad.parent / "summary.json").unlink()
    bad.mkdir()  # a folder where the file should be: the OSError's own text, not its file name
    warnings = []
    history_index.load_full(tmp_path / "runs", ["20250101T000000Z"], warnings)
    assert len(warnings) == 1 and str(tmp_path) not in warnings[0], warnings
