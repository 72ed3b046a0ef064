"""Retention: the report keeps the newest N run folders (--keep-runs, HARNESS_KEEP_RUNS)."""
import argparse

import pytest

from harness import retention, settings
from harness import summary as summ
from tests.test_history import make_run, report


def runs(tmp_path, *ids):
    for run_id in ids:
        summ.start_run(tmp_path / "runs" / run_id, {"run_id": run_id})
    return tmp_path / "runs"


def test_the_newest_runs_stay_and_the_older_ones_go(tmp_path):
    folder = runs(tmp_path, "20260101T000000Z", "20260102T000000Z", "20260103T000000Z", "20260104T000000Z")
    (folder / "notes").mkdir()  # not a run: neither counted nor removed
    pruned = retention.prune(folder, 2)
    assert [p.name for p in pruned.removed] == ["20260101T000000Z", "20260102T000000Z"]
    assert sorted(p.name for p in folder.iterdir()) == ["20260103T000000Z", "20260104T000000Z", "notes"]


def test_the_run_just_reported_stays_even_when_it_is_old(tmp_path):
    folder = runs(tmp_path, "20260101T000000Z", "20260102T000000Z", "20260103T000000Z")
    retention.prune(folder, 1, protect=folder / "20260101T000000Z")
    assert sorted(p.name for p in folder.iterdir()) == ["20260101T000000Z", "20260103T000000Z"]


def test_zero_keeps_every_run_and_a_missing_folder_is_nothing_to_do(tmp_path):
    folder = runs(tmp_path, "20260101T000000Z", "20260102T000000Z")
    assert retention.prune(folder, 0).removed == [] and len(list(folder.iterdir())) == 2
    assert retention.prune(tmp_path / "none", 1).removed == []


def test_the_count_is_a_whole_number_and_the_message_names_where_it_comes_from():
    assert retention.keep_count("90") == 90 and retention.keep_count(" 0 ") == 0
    for bad in ("x", "-1", "2.5"):
        with pytest.raises(argparse.ArgumentTypeError, match="HARNESS_KEEP_RUNS must be a whole number"):
            retention.keep_count(bad)


def test_the_default_follows_the_environment():
    assert settings.current({}).keep_runs == "90"
    assert settings.current({"HARNESS_KEEP_RUNS": "7"}).keep_runs == "7"


def test_the_report_command_prunes_old_runs_and_a_bad_setting_is_exit_2(tmp_path, monkeypatch, capsys):
    for day in range(1, 5):
        make_run(tmp_path, f"2026010{day}T000000Z", bench=False)
    assert report(tmp_path, "--keep-runs", "2") != 2  # 1: the fixture row leaves features unchecked
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["20260103T000000Z", "20260104T000000Z"]
    assert "removed 2 run folder(s) older than the newest 2" in capsys.readouterr().out
    monkeypatch.setenv("HARNESS_KEEP_RUNS", "many")
    with pytest.raises(SystemExit) as exit_info:
        report(tmp_path)
    assert exit_info.value.code == 2 and "HARNESS_KEEP_RUNS must be a whole number" in capsys.readouterr().err
    assert len(list((tmp_path / "runs").iterdir())) == 2
