"""The GitHub Actions workflows: valid for actionlint, and calling only what the noxfile has."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness.cli import parser
from harness.matrix import load_matrix
from tests.conftest import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
SCRIPTS = sorted(p for p in (ROOT / "ci").iterdir() if p.is_file())
NOX_CALL = re.compile(r"\bnox\b[^\n`]*?\s(?:-s|--sessions?)\s+(\"[^\"]+\"|'[^']+'|[^\s\"';)`]+)")


def tool(name: str) -> str:
    """A linter from the [test] extra (the venv's bin), else from PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    assert found, f"{name} is missing: install the [test] extra (pip install -e '.[test]')"
    return found


def load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads a bare `on` as true
    return data


def nox_list(*args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "nox", "-f", str(ROOT / "noxfile.py"), "-l", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def all_sessions() -> set[str]:
    """Every session the noxfile defines (`nox -l`: `*` selected by default, `-` not)."""
    return set(re.findall(r"^[*-] (\S+)", nox_list(), re.M))


@pytest.fixture(scope="module")
def row_sessions() -> list[dict]:
    return json.loads(nox_list("--json", "-s", "matrix"))


def test_there_are_workflows_and_scripts():
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "nightly.yml", "rows.yml"}
    assert {p.name for p in SCRIPTS} >= {"row.sh", "report.sh", "site.sh", "issue.sh", "setup.sh"}
    assert [p.name for p in SCRIPTS if p.suffix != ".sh"] == []  # the logic lives in the package's commands


HARNESS_CALL = re.compile(r"python -m harness ([a-z-]+)")


def test_every_harness_command_the_workflows_call_exists():
    commands = set(parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    calls = {m.group(1): path.name for path in [*WORKFLOWS, *SCRIPTS] for m in HARNESS_CALL.finditer(path.read_text())}
    assert set(calls) >= {"plan", "merge", "restore", "publish", "verdict"}, calls  # the scan sees the calls
    assert {c: f for c, f in calls.items() if c not in commands} == {}


def test_actionlint_passes_on_the_workflows():
    """actionlint checks syntax, expressions, action inputs, and runs shellcheck on every `run:`."""
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(tool("shellcheck")).parent), os.environ["PATH"]]))
    proc = subprocess.run([tool("actionlint"), "-color=false", *map(str, WORKFLOWS)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_scripts_the_workflows_call_pass_shellcheck():
    shell = [str(p) for p in SCRIPTS if p.suffix == ".sh"]
    proc = subprocess.run([tool("shellcheck"), "--severity=style", *shell], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def called_sessions() -> dict[str, set[str]]:
    """Every `nox -s NAME` in the workflows and in the ci/ scripts they run: name -> files."""
    calls: dict[str, set[str]] = {}
    for path in [*WORKFLOWS, *SCRIPTS]:
        for match in NOX_CALL.finditer(path.read_text()):
            calls.setdefault(match.group(1).strip("\"'"), set()).add(path.name)
    return calls


def test_every_nox_session_a_workflow_calls_exists(all_sessions):
    calls = called_sessions()
    names = {s.split("(")[0] for s in all_sessions}
    full = all_sessions
    bases = {call.split("(")[0] for call in calls}
    assert bases >= {"tests", "lint", "matrix", "resolve", "cases"}, calls  # the scan sees the calls
    for call, files in sorted(calls.items()):
        base = call.split("(")[0]
        assert base in names, f"{sorted(files)} call `nox -s {call}`, which the noxfile does not define"
        if "(" in call and "$" not in call:  # a literal parametrized session
            assert call in full, f"{sorted(files)} call `nox -s {call}`: no such row session"


def test_the_rows_the_workflows_ask_for_exist(row_sessions):
    tagged = {tag for s in row_sessions for tag in s["tags"]}
    asked = {load(w)["jobs"][job]["with"]["tag"]: w.name for w in WORKFLOWS
             for job, spec in load(w)["jobs"].items() if spec.get("uses", "").endswith("/rows.yml")}
    assert set(asked) == {"ci", "nightly"}
    assert set(asked) <= tagged, f"no matrix row is tagged {sorted(set(asked) - tagged)}"


def test_the_nightly_fans_the_rows_out_and_gathers_them():
    nightly, rows = load(ROOT / ".github/workflows/nightly.yml"), load(ROOT / ".github/workflows/rows.yml")
    assert nightly["on"]["schedule"][0]["cron"] and "workflow_dispatch" in nightly["on"]
    plan, row = rows["jobs"]["plan"], rows["jobs"]["row"]
    assert any("python -m harness plan" in step.get("run", "") for step in plan["steps"])  # rows from `nox -l --json`
    assert row["strategy"]["fail-fast"] is False
    assert row["strategy"]["matrix"] == "${{ fromJSON(needs.plan.outputs.matrix) }}"
    assert any(step.get("uses", "").startswith("actions/upload-artifact") for step in row["steps"])
    report = nightly["jobs"]["report"]
    assert set(report["needs"]) == {"rows", "resolve", "corpus"} and "!cancelled()" in report["if"]
    runs = "\n".join(step.get("run", "") for step in report["steps"])
    for part in ("ci/report.sh", "python -m harness restore", "python -m harness publish", "ci/site.sh push",
                 "ci/issue.sh"):
        assert part in runs, part
    assert report["permissions"] == {"contents": "write", "issues": "write"}
    assert "nox -s resolve" in "\n".join(s.get("run", "") for s in nightly["jobs"]["resolve"]["steps"])


def test_the_corpus_runs_weekly_and_on_demand_and_feeds_the_report():
    nightly = load(ROOT / ".github/workflows/nightly.yml")
    crons = [entry["cron"] for entry in nightly["on"]["schedule"]]
    corpus = nightly["jobs"]["corpus"]
    weekly = [c for c in crons if c in corpus["if"]]
    assert len(weekly) == 1 and weekly[0].split()[2:] == ["*", "*", "0"]  # one cron, once a week
    assert sorted(crons) == ["17 3 * * 0", "17 3 * * 1-6"]  # the rows still run every night, once
    assert "inputs.corpus" in corpus["if"]
    assert nightly["on"]["workflow_dispatch"]["inputs"]["corpus"]["type"] == "boolean"
    runs = "\n".join(step.get("run", "") for step in corpus["steps"])
    assert "nox -s cases" in runs
    upload = next(s for s in corpus["steps"] if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["with"]["name"] == "cases" and "reports/cases.json" in upload["with"]["path"]
    steps = nightly["jobs"]["report"]["steps"]
    download = next(i for i, s in enumerate(steps) if s.get("with", {}).get("name") == "cases")
    render = next(i for i, s in enumerate(steps) if "ci/report.sh" in s.get("run", ""))
    assert download < render and steps[download]["with"]["path"] == "reports"  # where the report reads cases.json


def test_pull_requests_run_the_tests_and_the_ci_rows():
    ci = load(ROOT / ".github/workflows/ci.yml")
    assert {"pull_request", "push"} <= set(ci["on"])
    assert {"matrix.toml", "suites/**"} <= set(ci["on"]["pull_request"]["paths"])
    assert "nox -s tests" in "\n".join(s.get("run", "") for s in ci["jobs"]["tests"]["steps"])
    assert ci["jobs"]["rows"]["with"]["tag"] == "ci"


def plan(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", "plan", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env=dict(os.environ, GITHUB_OUTPUT="", HARNESS_RUN_ID="R1"))


def test_plan_turns_nox_list_into_the_strategy_matrix(tmp_path):
    proc = plan("--tag", "nightly")
    assert proc.returncode == 0, proc.stderr
    matrix = json.loads(proc.stdout)
    nightly = [r.name for r in load_matrix(ROOT / "matrix.toml").rows if "nightly" in r.tags]
    assert [item["row"] for item in matrix["include"]] == nightly
    assert all(item["session"] == f"matrix({item['row']})" for item in matrix["include"])

    listing = tmp_path / "nox.json"
    listing.write_text(json.dumps([
        {"session": "matrix(a)", "name": "matrix", "tags": ["ci"]},
        {"session": "matrix(b)", "name": "matrix", "tags": ["nightly"]},
        {"session": "tests", "name": "tests", "tags": ["ci"]}]))
    out = tmp_path / "github_output"
    proc = subprocess.run([sys.executable, "-m", "harness", "plan", "--tag", "ci", "--nox-json", str(listing)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, GITHUB_OUTPUT=str(out), HARNESS_RUN_ID="R1"))
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == 'matrix={"include":[{"row":"a","session":"matrix(a)"}]}\nrows=a\nrun-id=R1\n'
    named = plan("--nox-json", str(listing), "--rows", "b,a")
    assert [i["row"] for i in json.loads(named.stdout)["include"]] == ["a", "b"]
    assert plan("--nox-json", str(listing), "--rows", "nope").returncode == 2
    assert plan("--nox-json", str(listing), "--tag", "weekly").returncode == 2


@pytest.mark.parametrize("listing, says", [
    ([1], "entry 0 is not a nox session object"),
    ({"session": "matrix(a)"}, "not a list of nox sessions (a dict)"),
    ([{"name": "matrix"}], "entry 0 is not a nox session object with a 'session' name")])
def test_plan_names_a_listing_that_is_not_a_list_of_sessions(tmp_path, listing, says):
    path = tmp_path / "nox.json"
    path.write_text(json.dumps(listing))
    proc = plan("--nox-json", str(path))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"{path}: {says}" in proc.stderr
