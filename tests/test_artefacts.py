"""Artefact models: versions, migration of older files, and the summary.json schema kept in step with the code."""
import json

import jsonschema
import pytest

from harness import runs
from harness.artefacts import (ArtefactError, Collected, EnvRecord, InstallRecord, InstallStatus, PhaseRun, PytestExit,
                               Start, TestResult, record_from_json)
from harness.collect import parse_records
from harness.status import Status
from harness.summary_model import SUMMARY_VERSION, Summary, Verdict, VerdictStatus, migrate, summary_schema

# A night published before summary.json had a version (the shape ci/gather.py and older reports wrote).
V1_SUMMARY = {
    "run_id": "20250101T031700Z", "started": "2025-01-01T03:17:00+00:00", "finished": "2025-01-01T04:00:00+00:00",
    "matrix": "matrix.toml", "depth": "full",
    "features": {"core.a": {"description": "d", "area": "core"}},
    "rows": [{"name": "torch-2.14", "pins": {"torch": "2.14.1"}, "installed": {"torch": "2.14.1"},
              "cuda_builds": {}, "install": {"status": "ok", "message": "", "seconds": 3.0},
              "suites": {"returncode": 0}, "timings": {"install_s": 3.0, "suites_s": 1.0, "phases": {}, "modules": {}},
              "features": {"core.a": {"status": "pass", "message": ""}}, "properties": {}, "benchmarks": {},
              "files": ["install.json"]}],
    "verdict": {"exit_code": 1, "problems": ["x"]},
}


def test_a_v1_summary_migrates_to_the_current_version_and_validates():
    migrated = migrate(V1_SUMMARY)
    assert migrated["schema_version"] == SUMMARY_VERSION == 2
    assert (migrated["complete"], migrated["missing_rows"], migrated["mode"]) == (True, [], "matrix")
    assert migrated["verdict"]["status"] == "changed"
    assert "schema_version" not in V1_SUMMARY  # the input is left as it is
    jsonschema.validate(migrated, summary_schema())
    model = Summary.from_json(V1_SUMMARY)
    assert model.rows[0].install.status is InstallStatus.OK
    assert Summary.from_json(model.to_json()).to_json() == model.to_json() == migrated


def test_a_summary_newer_than_the_harness_is_refused_by_name():
    with pytest.raises(ArtefactError, match=r"runs/x/summary.json: schema_version 3 is newer"):
        migrate({**V1_SUMMARY, "schema_version": 3}, "runs/x/summary.json")
    with pytest.raises(ArtefactError, match="row torch-2.14: bad status"):
        Summary.from_json({**V1_SUMMARY, "rows": [{**V1_SUMMARY["rows"][0],
                                                   "features": {"core.a": {"status": "bogus"}}}]})


def test_history_reads_old_nights_migrated_and_warns_of_a_future_one(tmp_path, capsys):
    for run_id, data in (("20250101T000000Z", V1_SUMMARY), ("20250102T000000Z", {**V1_SUMMARY, "schema_version": 9})):
        (tmp_path / "runs" / run_id).mkdir(parents=True)
        (tmp_path / "runs" / run_id / "summary.json").write_text(json.dumps(data))
    warnings = []
    history = runs.load_history(tmp_path, warnings=warnings)
    assert [h["schema_version"] for h in history] == [2] and history[0]["complete"] is True
    assert len(warnings) == 1 and "20250102T000000Z" in warnings[0] and "schema_version 9" in warnings[0]
    assert "schema_version 9" in capsys.readouterr().err


def test_the_schema_lists_exactly_the_code_enums():
    defs = summary_schema()["$defs"]
    assert defs["status"]["enum"] == [s.value for s in Status]
    assert defs["install_status"]["enum"] == [s.value for s in InstallStatus]
    assert defs["verdict_status"]["enum"] == [s.value for s in VerdictStatus]
    assert summary_schema()["properties"]["schema_version"]["const"] == SUMMARY_VERSION


def test_the_schema_rejects_a_cell_with_an_unknown_status():
    bad = migrate(V1_SUMMARY)
    bad["rows"][0]["features"]["core.a"]["status"] = "passed"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, summary_schema())


def test_verdict_status_is_an_enum_in_its_json():
    assert Verdict(0, ()).to_json() == {"status": "as-expected", "exit_code": 0, "problems": []}
    assert Verdict(1, ("a",)).status is VerdictStatus.CHANGED


def test_row_files_round_trip_and_v1_files_fill_their_defaults():
    install = InstallRecord(InstallStatus.FAILED, "resolution failed", 1.5, {"torch": "0.0.1"}, ["torch==0.0.1"])
    assert InstallRecord.from_json(install.to_json()) == install
    assert InstallRecord.from_json({"status": "ok"}) == InstallRecord(InstallStatus.OK)
    with pytest.raises(ArtefactError, match="install.json: status: 'installed' is not one of 'ok', 'install-failed'"):
        InstallRecord.from_json({"status": "installed"})
    env = EnvRecord("3.11.7", "Linux", {"torch": "2.14.1"}, {"torch": "cpu"}, ["torch==2.14.1"])
    assert EnvRecord.from_json(env.to_json()) == env and EnvRecord.from_json({}).installed == {}
    exit_info = PytestExit(-9, True, 60.0, 61.2, [PhaseRun("checks", -9, True, 61.2)], "full", "matrix", ["core"])
    assert PytestExit.from_json(exit_info.to_json()) == exit_info
    assert "usage_error" not in exit_info.to_json() and "interrupted" not in exit_info.to_json()
    assert PytestExit.from_json({"returncode": 0}).to_json()["schema_version"] == 2


def test_results_lines_of_either_version_read_as_the_current_one():
    v1 = [{"collected": {"t": ["core.a"]}}, {"start": "t"},
          {"test": "t", "features": ["core.a"], "status": "n/a", "message": "no GPU"}, {"unknown": 1}]
    text = "".join(json.dumps(x) + "\n" for x in v1)
    records = parse_records(text)
    assert [type(record_from_json(r)) for r in records] == [Collected, Start, TestResult]
    assert {r["schema_version"] for r in records} == {2}
    assert records[2]["status"] == "n/a" and records[2]["duration"] == 0.0 and records[2]["properties"] == []
    assert parse_records("".join(json.dumps(r) + "\n" for r in records)) == records  # current stays as it is
    with pytest.raises(ArtefactError, match=r"results.jsonl:1: t: status: 'passed' is not one of"):
        parse_records(json.dumps({"test": "t", "features": [], "status": "passed"}))
