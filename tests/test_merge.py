"""Rows run on several machines merge into the report one machine would write; the nights carry on."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness import fsio
from tests.conftest import ROOT

RUN = "20260101T031700Z"
STARTED = "2026-01-01T03:17:00+00:00"
FEATURES = """
[[feature]]
id = "core.alpha"
description = "alpha agrees with eager"

[[feature]]
id = "core.beta"
description = "beta <b>round-trips</b>"

[[feature]]
id = "vision.gamma"
description = "gamma scripts"
"""


@pytest.fixture
def suites(tmp_path):
    """A registry of its own, so the test does not move with the real suites."""
    path = tmp_path / "suites"
    (path / "core").mkdir(parents=True)
    (path / "core" / "features.toml").write_text(FEATURES)
    return path


def row_folder(path: Path, torch: str, results: dict[str, str], installed: bool = True) -> None:
    """What a row session leaves behind (harness.install + harness.runner + the plugin)."""
    requirements = [f"torch=={torch}", "torchvision==0.29.1"]
    fsio.write_json(path / "install.json", {
        "status": "ok" if installed else "install-failed", "seconds": 31.5,
        "message": "" if installed else f"resolution failed: Because torch=={torch} was not found",
        "pins": {"torch": torch, "torchvision": "0.29.1"}, "requirements": requirements})
    (path / "requirements.in").write_text("\n".join(requirements) + "\n")
    if not installed:
        return
    (path / "requirements.lock").write_text(f"torch=={torch}\ntorchvision==0.29.1\nnumpy==2.4.6\n")
    fsio.write_json(path / "env.json", {"python": "3.11.7", "platform": "Linux-x86_64",
                                        "installed": {"torch": torch, "torchvision": "0.29.1"},
                                        "freeze": [f"torch=={torch}", "torchvision==0.29.1"]})
    broken = [fid for fid, st in results.items() if st != "pass"]
    fsio.write_json(path / "pytest.json", {"returncode": 1 if broken else 0, "timed_out": False,
                                           "timeout": 3600.0, "seconds": 12.5, "depth": "full",
                                           "mode": "matrix", "suites": []})
    lines = [{"collected": {f"suites/t.py::test_{fid}": [fid] for fid in results}}]
    lines += [{"test": f"suites/t.py::test_{fid}", "features": [fid], "status": st, "detail": "",
               "message": "" if st == "pass" else f"AssertionError: {fid} | differs <by> 3e-2",
               "duration": 0.5, "properties": [["backend", f"torch {torch}"]]}
              for fid, st in results.items()]
    (path / "results.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    (path / "junit.xml").write_text(f'<testsuites><testsuite name="pytest" tests="{len(results)}"/></testsuites>\n')
    (path / "pytest.log").write_text("".join(f"suites/t.py::test_{fid} {st.upper()}\n" for fid, st in results.items())
                                     + f"==== {len(broken)} failed, {len(results) - len(broken)} passed ====\n")


ROWS = {  # name -> (torch, results, installed)
    "torch-2.14": ("2.14.1", {"core.alpha": "pass", "core.beta": "fail", "vision.gamma": "pass"}, True),
    "torch-2.15": ("2.15.0", {"core.alpha": "pass", "core.beta": "pass", "vision.gamma": "error"}, True),
    "torch-0.0": ("0.0.1", {}, False),
}


def run_meta(started: str, depth: str = "full") -> dict:
    return {"run_id": RUN, "started": started, "matrix": "matrix.toml", "depth": depth, "mode": "matrix",
            "rows": list(ROWS)}


def earlier_night(reports: Path) -> None:
    """History both reports see: the night before."""
    fsio.write_json(reports / "runs" / "20251231T031700Z" / "summary.json",
                    {"run_id": "20251231T031700Z", "rows": [], "verdict": {"exit_code": 0, "problems": []}})


def harness_report(reports: Path, suites: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, HARNESS_SUITES=str(suites), PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "harness", "report", "--reports", str(reports), *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def single_machine(tmp_path: Path, suites: Path) -> Path:
    reports = tmp_path / "single"
    earlier_night(reports)
    run_dir = reports / "runs" / RUN
    fsio.write_json(run_dir / "run.json", run_meta(STARTED))
    for name, (torch, results, installed) in ROWS.items():
        row_folder(run_dir / "rows" / name, torch, results, installed)
    proc = harness_report(reports, suites, "--run", RUN)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # a fail, an error, an install failure
    return reports


def machines(tmp_path: Path) -> Path:
    """Each row on its own machine, uploaded as the artefact row-<name> (run.json + rows/<name>/),
    and downloaded side by side, as actions/download-artifact lays them out."""
    gathered = tmp_path / "gathered"
    for i, (name, (torch, results, installed)) in enumerate(ROWS.items()):
        artefact = gathered / f"row-{name}"
        fsio.write_json(artefact / "run.json", run_meta(STARTED.replace(":00+", f":{i * 7:02d}+")))
        row_folder(artefact / "rows" / name, torch, results, installed)
    return gathered


def without_finished(reports: Path) -> tuple[dict, str]:
    summary = fsio.read_json(reports / "summary.json")
    assert summary == fsio.read_json(reports / "runs" / RUN / "summary.json")
    finished = summary.pop("finished")
    html = (reports / "index.html").read_text()
    assert html.count(finished) == 1
    return summary, html.replace(finished, "FINISHED")


def tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_rows_merged_from_separate_machines_give_the_single_machine_report(tmp_path, suites):
    single = single_machine(tmp_path, suites)
    gathered = machines(tmp_path)

    merged = tmp_path / "merged"
    earlier_night(merged)
    fsio.write_json(merged / "runs" / RUN / "run.json", run_meta(STARTED))
    proc = harness_report(merged, suites, "--run", RUN, "--merge", *sorted(map(str, gathered.iterdir())))
    assert proc.returncode == 1, proc.stdout + proc.stderr

    assert without_finished(merged) == without_finished(single)
    assert tree(merged / "runs" / RUN / "rows") == tree(single / "runs" / RUN / "rows")
    summary, html = without_finished(merged)
    assert [r["name"] for r in summary["rows"]] == list(ROWS)  # the matrix's order, not the folders'
    import jsonschema

    from harness.summary_model import summary_schema

    jsonschema.validate(fsio.read_json(merged / "summary.json"), summary_schema())  # a row failed to install
    assert summary["rows"][0]["features"]["core.beta"]["status"] == "fail"
    assert 'id="cell-torch-2.15-vision.gamma"' in html


def test_ci_report_script_gathers_the_artefacts_into_the_single_machine_report(tmp_path, suites):
    """The workflow's path: ci/report.sh -> python -m harness merge -> python -m harness report --run ID."""
    single = single_machine(tmp_path, suites)
    gathered = machines(tmp_path)
    merged = tmp_path / "merged"
    earlier_night(merged)
    env = dict(os.environ, HARNESS_REPORTS=str(merged), HARNESS_SUITES=str(suites),
               HARNESS_RUN_ID=RUN,  # as in a row job: the script reports the run it is given regardless
               PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    proc = subprocess.run(["bash", str(ROOT / "ci" / "report.sh"), RUN, str(gathered)], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "3 row folders gathered" in proc.stdout
    assert without_finished(merged) == without_finished(single)  # earliest start, matrix order
    assert tree(merged / "runs" / RUN / "rows") == tree(single / "runs" / RUN / "rows")


def gather(*args):
    return subprocess.run([sys.executable, "-m", "harness", "merge", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_gather_takes_the_earliest_start_and_ignores_other_runs(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    fsio.write_json(a / "run.json", {**run_meta("2026-01-01T03:20:00+00:00"), "rows": ["x", "y"]})
    fsio.write_json(b / "deep" / "run.json", {**run_meta("2026-01-01T03:18:00+00:00"), "rows": ["x", "y", "z"]})
    fsio.write_json(b / "old" / "run.json", {**run_meta("2025-01-01T00:00:00+00:00"), "run_id": "older"})
    proc = gather("--run-id", RUN, "--reports", tmp_path / "reports", a, b)
    assert proc.returncode == 0, proc.stderr
    meta = fsio.read_json(tmp_path / "reports" / "runs" / RUN / "run.json")
    assert meta["started"] == "2026-01-01T03:18:00+00:00" and meta["rows"] == ["x", "y", "z"]
    assert "belongs to run older" in proc.stderr
    assert gather("--run-id", "nothing", "--reports", tmp_path / "r2", a).returncode == 2


def pages(*args):
    return subprocess.run([sys.executable, "-m", "harness", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def night(reports: Path, run_id: str, exit_code: int) -> None:
    run = reports / "runs" / run_id
    fsio.write_json(run / "summary.json", {"run_id": run_id, "started": run_id, "depth": "full",
                                           "rows": [{"name": "torch-2.14"}],
                                           "verdict": {"exit_code": exit_code, "problems": ["p"] * exit_code}})
    (run / "index.html").write_text(f"<p>{run_id}</p>")
    fsio.write_json(run / "rows" / "torch-2.14" / "install.json", {"status": "ok"})
    shutil.copyfile(run / "index.html", reports / "index.html")
    shutil.copyfile(run / "summary.json", reports / "summary.json")


def test_the_site_carries_the_nights_forward(tmp_path):
    site = tmp_path / "site"
    site.mkdir()  # the first night: no gh-pages branch yet
    for i, run_id in enumerate(["20260101T031700Z", "20260102T031700Z", "20260103T031700Z"]):
        reports = tmp_path / f"runner-{i}" / "reports"  # a fresh runner every night
        assert pages("restore", "--site", site, "--reports", reports).returncode == 0
        earlier = sorted(p.parent.name for p in (reports / "runs").glob("*/summary.json"))
        assert earlier == ["20260101T031700Z", "20260102T031700Z"][:i]  # what the report compares with
        assert not list((reports / "runs").glob("*/run.json"))  # never taken for the run being reported
        night(reports, run_id, exit_code=i % 2)
        proc = pages("publish", "--site", site, "--reports", reports, "--run", run_id, "--keep", 2)
        assert proc.returncode == 0, proc.stderr

    assert sorted(p.name for p in (site / "runs").iterdir()) == ["20260102T031700Z", "20260103T031700Z"]
    assert (site / "index.html").read_text() == "<p>20260103T031700Z</p>"
    history = fsio.read_json(site / "history.json")
    assert [(n["run_id"], n["exit_code"], n["problems"]) for n in history] == \
        [("20260103T031700Z", 0, 0), ("20260102T031700Z", 1, 1)]
    page = (site / "history.html").read_text()
    assert 'href="runs/20260102T031700Z/index.html"' in page and "1 change(s) against expectations" in page
    assert (site / ".nojekyll").exists() and (site / "runs" / "20260103T031700Z" / "rows" / "torch-2.14").is_dir()
    assert pages("publish", "--site", site, "--reports", tmp_path / "empty", "--run", "x").returncode == 2


def verdict_markdown(reports, run_id):
    return subprocess.run([sys.executable, "-m", "harness", "verdict", "--run-id", run_id,
                           "--reports", str(reports), "--run-url", "https://example.invalid/run/1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, check=True).stdout


def test_the_issue_body_names_each_change_and_links_the_run(tmp_path, suites):
    reports = single_machine(tmp_path, suites)
    body = verdict_markdown(reports, RUN)
    problems = fsio.read_json(reports / "summary.json")["verdict"]["problems"]
    assert len(problems) == 5  # a fail, an error, and the uninstallable row's three features
    assert body.startswith(f"## Run {RUN}: 5 change(s) against expectations")
    assert re.search(r"^- torch-2.14: core.beta: fail: AssertionError: core.beta \\\| differs", body, re.M)
    assert "| torch-0.0 | 0.0.1 | install-failed | 3 install-failed |" in body
    assert "https://example.invalid/run/1" in body
    missing = verdict_markdown(reports, "20990101T000000Z")
    assert "no report" in missing and "https://example.invalid/run/1" in missing


def test_the_ci_scripts_run_as_the_workflows_call_them():
    for script in sorted((ROOT / "ci").iterdir()):
        assert os.access(script, os.X_OK), f"{script} is not executable"
        assert script.read_text().startswith("#!/usr/bin/env "), script


def test_an_external_projects_folder_travels_with_its_row_and_is_no_row_of_its_own(tmp_path):
    from harness import runs
    artefact = tmp_path / "artefact" / "rows" / "torch-2.14"
    row_folder(artefact, "2.14.1", {"core.alpha": "pass"})
    fsio.write_json(artefact / "external" / "torchtune" / "install.json", {"status": "ok"})
    run_dir = tmp_path / "reports" / "runs" / RUN
    assert runs.copy_rows(run_dir, [tmp_path / "artefact"]) == ["torch-2.14"]
    assert sorted(p.name for p in (run_dir / "rows").iterdir()) == ["torch-2.14"]
    assert (run_dir / "rows" / "torch-2.14" / "external" / "torchtune" / "install.json").exists()
