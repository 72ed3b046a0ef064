"""harness.commands: the CI steps' logic called directly (the CLI paths are in test_merge and test_workflows)."""
import pytest

from harness import fsio, settings
from harness.commands import CommandError, merge, plan, verdict

SESSIONS = [{"session": "matrix(a)", "name": "matrix", "tags": ["ci"]},
            {"session": "matrix(b)", "name": "matrix", "tags": ["nightly", "ci"]},
            {"session": "lint", "name": "lint", "tags": ["ci"]}]


def test_plan_selects_by_tag_or_by_name_and_refuses_what_matches_nothing():
    assert [i["row"] for i in plan.select(SESSIONS, "ci", [])] == ["a", "b"]  # the matrix's order; no `lint`
    assert plan.select(SESSIONS, None, ["b"]) == [{"row": "b", "session": "matrix(b)"}]
    with pytest.raises(CommandError, match="no matrix row named c, d"):
        plan.select(SESSIONS, None, ["d", "b", "c"])
    with pytest.raises(CommandError, match="no matrix row is tagged 'weekly'"):
        plan.select(SESSIONS, "weekly", [])


def test_plan_writes_the_step_outputs_where_the_settings_say(tmp_path):
    out = tmp_path / "github_output"
    out.write_text("earlier=1\n")  # GitHub's file is shared by the step's commands: appended to
    env = settings.current({"GITHUB_OUTPUT": str(out), "HARNESS_RUN_ID": "R7"})
    result = plan.run(SESSIONS, "nightly", [], env)
    assert (result.rows, result.run_id) == (["b"], "R7")
    assert out.read_text() == 'earlier=1\nmatrix={"include":[{"row":"b","session":"matrix(b)"}]}\nrows=b\nrun-id=R7\n'
    fresh = plan.run(SESSIONS, "ci", [], settings.current({}))  # no GITHUB_OUTPUT: nothing written, a new id
    assert fresh.run_id and fresh.run_id != "R7" and out.read_text().count("run-id=") == 1


def test_a_noxfile_that_fails_to_load_is_a_command_error_with_noxs_message(tmp_path):
    noxfile = tmp_path / "noxfile.py"
    noxfile.write_text("raise SystemExit('error: matrix.toml: row x: field pins is required')\n")
    with pytest.raises(CommandError, match=r"nox -l failed \(exit \d+\): .*field pins is required"):
        plan.nox_sessions(noxfile)


def test_merge_warns_when_the_machines_disagree_and_copies_only_this_runs_rows(tmp_path):
    meta = {"run_id": "R", "started": "2026-01-01T03:00:00+00:00", "depth": "full", "rows": ["x"]}
    fsio.write_json(tmp_path / "m1" / "run.json", meta)
    fsio.write_json(tmp_path / "m1" / "rows" / "x" / "install.json", {"status": "ok"})
    fsio.write_json(tmp_path / "m2" / "run.json", {**meta, "depth": "quick", "rows": ["y"]})
    fsio.write_json(tmp_path / "m2" / "runs" / "R" / "rows" / "y" / "install.json", {"status": "ok"})
    fsio.write_json(tmp_path / "m2" / "runs" / "OTHER" / "rows" / "z" / "install.json", {"status": "ok"})
    warnings: list[str] = []
    merged = merge.run("R", [tmp_path / "m1", tmp_path / "m2"], tmp_path / "reports", warnings.append)
    assert merged.rows == ("x", "y") and merged.meta["rows"] == ["x", "y"]
    assert sorted(p.name for p in (merged.run_dir / "rows").iterdir()) == ["x", "y"]
    assert warnings == ["the machines disagree on depth: ['full', 'quick']; the report says full"]
    with pytest.raises(CommandError, match="no record of run S under"):
        merge.run("S", [tmp_path / "m1"], tmp_path / "reports", warnings.append)


def test_the_verdict_of_another_runs_summary_is_no_report(tmp_path):
    fsio.write_json(tmp_path / "runs" / "R" / "summary.json", {"run_id": "Q", "verdict": {"exit_code": 0}})
    assert verdict.run("R", tmp_path).startswith("## Run R: no report")
    fsio.write_json(tmp_path / "runs" / "R" / "summary.json", {"run_id": "R", "rows": [], "verdict": {"exit_code": 0}})
    assert verdict.run("R", tmp_path, pages_url="https://x.invalid/").startswith("## Run R: as expected")
    assert "[report](https://x.invalid/runs/R/index.html)" in verdict.run("R", tmp_path, pages_url="https://x.invalid/")


def test_publish_and_verdict_read_summaries_through_the_migration(tmp_path):
    """A version-1 night reads as the current version (its depth defaults to quick); a night of a newer
    version than this harness reads is not rendered as if it were understood."""
    from harness.commands import publish
    from harness.summary_model import SUMMARY_VERSION

    night = tmp_path / "runs" / "R"
    fsio.write_json(night / "summary.json", {"run_id": "R", "rows": [], "verdict": {"exit_code": 0}})
    assert publish.night(night).depth == "quick"
    fsio.write_json(night / "summary.json", {"run_id": "R", "rows": [], "verdict": {"exit_code": 0},
                                             "schema_version": SUMMARY_VERSION + 1})
    assert publish.night(night) is None
    assert verdict.run("R", tmp_path).startswith("## Run R: no report")
