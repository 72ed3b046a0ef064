"""External suites (issue 17): a team's own pytest project runs in each row as ext.<name>.<module> features."""
import json
import os
import subprocess
import sys
import textwrap

import pytest

from harness import external
from harness import summary as summ
from harness.matrix import MatrixError, load_matrix
from harness.options import RunOptions
from tests.conftest import ROOT, demo_suite

ROW = '[[row]]\nname = "r"\npins = { torch = "2.14.1" }\n'


def project(root, files: dict[str, str]):
    """A small external project under `root` (dedented files)."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


# ---- validation ---------------------------------------------------------------------------------

@pytest.mark.parametrize("table, entry, field, says", [
    ('[[external]]\ninstall = "-e ."\n', "#1", "path", "missing"),
    ('[[external]]\npath = "nowhere"\n', "#1 (nowhere)", "path", "no such folder"),
    ('[[external]]\npath = "empty"\n', "#1 (empty)", "path", "no test modules"),
    ('[[external]]\npath = "team"\nbranch = "main"\n', "#1", "branch", "unknown key"),
    ('[[external]]\npath = "team"\nname = "Team-1"\n', "#1 (team)", "name", "not a name"),
    ('[[external]]\npath = "team"\ninstall = "--index-url http://x team"\n', "#1 (team)", "install", "not allowed"),
    ('[[external]]\npath = "team"\ninstall = "team[=="\n', "#1 (team)", "install", "malformed requirement"),
    ('[[external]]\npath = "team"\n[[external]]\npath = "team"\n', "#2 (team)", "name", "used twice"),
    ('external = "team"\n', "#1", None, "array of tables"),
])
def test_a_malformed_external_entry_names_file_entry_and_field(tmp_path, table, entry, field, says):
    project(tmp_path / "team", {"tests/test_x.py": "def test_x():\n    pass\n"})
    (tmp_path / "empty").mkdir()
    matrix = tmp_path / "matrix.toml"
    matrix.write_text(ROW + table if table.startswith("[[") else table + ROW)  # a bare key before the rows
    with pytest.raises(MatrixError) as caught:
        load_matrix(matrix)
    message = str(caught.value)
    assert message.startswith(f"{matrix}: external {entry}") and says in message and "\n" not in message
    assert (f"field '{field}'" in message) if field else "field" not in message


def test_a_good_external_table_resolves_paths_against_the_matrix_file(tmp_path):
    project(tmp_path / "Team-Models", {"pyproject.toml": "[project]\nname='t'\n", "tests/test_x.py": ""})
    matrix = tmp_path / "matrix.toml"
    matrix.write_text(ROW + '[[external]]\npath = "Team-Models"\n'
                            '[[external]]\npath = "Team-Models"\nname = "again"\ninstall = "numpy<3"\n')
    first, second = load_matrix(matrix).externals
    assert first == external.External("team_models", tmp_path / "Team-Models", ("-e", str(tmp_path / "Team-Models")))
    assert second.name == "again" and second.install == ("numpy<3",)


def test_validate_exits_2_with_one_line(tmp_path):
    matrix = tmp_path / "matrix.toml"
    matrix.write_text(ROW + '[[external]]\npath = "gone"\n')
    proc = subprocess.run([sys.executable, "-m", "harness", "validate", "--matrix", str(matrix)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"error: {matrix}: external #1 (gone): field 'path': no such "
                                                f"folder ({tmp_path / 'gone'})"]


def test_nox_matrix_with_a_missing_external_exits_2_and_writes_nothing(tmp_path):
    matrix = tmp_path / "matrix.toml"
    matrix.write_text(ROW)
    env = dict(os.environ, HARNESS_MATRIX=str(matrix), HARNESS_REPORTS=str(tmp_path / "reports"))
    proc = subprocess.run([sys.executable, "-m", "nox", "-f", str(ROOT / "noxfile.py"), "-s", "matrix", "--",
                           "--external", str(tmp_path / "gone")], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert f"error: command line --external: external #1 ({tmp_path / 'gone'}): field 'path': no such folder" \
        in proc.stderr
    assert not (tmp_path / "reports").exists()


def test_suites_none_needs_an_external(tmp_path):
    with pytest.raises(MatrixError, match="'--suites none' runs only the external suites"):
        external.chosen((), (), ("none",))
    assert RunOptions.parse(["--external", "a", "--external", "b", "-k", "x"]).externals == ("a", "b")


# ---- feature ids and records (pure) ---------------------------------------------------------------

@pytest.mark.parametrize("module, fid", [
    ("tests/test_audio_io.py", "ext.team.audio_io"),
    ("tests/io/test_read.py", "ext.team.io.read"),
    ("test/models_test.py", "ext.team.models"),
    ("test_Top-Level.py", "ext.team.top_level"),
    ("pkg/tests/test_x.py", "ext.team.pkg.tests.x"),
])
def test_a_module_is_a_feature(module, fid):
    assert external.module_feature("team", module) == fid


def test_project_markers_become_ext_features():
    assert external.marker_feature("team", "audio.IO") == "ext.team.audio.io"
    assert external.marker_feature("team", "ext.team.audio") == "ext.team.audio"


def test_records_are_prefixed_so_two_projects_never_share_a_node_id(tmp_path):
    row = tmp_path / "row"
    for name in ("a", "b"):
        out = row / "external" / name
        out.mkdir(parents=True)
        (out / "results.jsonl").write_text(
            json.dumps({"collected": {"tests/test_x.py::t": [f"ext.{name}.x"]}, "not_applicable": {}}) + "\n"
            + json.dumps({"start": "tests/test_x.py::t"}) + "\n"
            + json.dumps({"test": "tests/test_x.py::t", "features": [f"ext.{name}.x"], "status": "pass"}) + "\n")
    got = external.records(row)
    assert [r.get("test") for r in got if "test" in r] == ["ext/a/tests/test_x.py::t", "ext/b/tests/test_x.py::t"]
    assert got[0]["collected"] == {"ext/a/tests/test_x.py::t": ["ext.a.x"]} and got[1]["start"].startswith("ext/a/")


def test_bisect_target_runs_the_one_module(tmp_path):
    team = project(tmp_path / "team", {"tests/test_x.py": "", "tests/test_y.py": ""})
    ext = external.External("team", team)
    target = external.bisect_target("ext.team.y", [], (ext,))
    assert target.external.select == ("tests/test_y.py",)
    assert target.tests() == {"ext/team/tests/test_y.py": ["ext.team.y"]}
    args = target.run_suites_args()
    assert args[:2] == ["--suites", "none"] and json.loads(args[3])["select"] == ["tests/test_y.py"]
    assert external.bisect_target("core.rpc.remote", [], (ext,)) is None
    with pytest.raises(MatrixError, match="no external project named 'other'"):
        external.bisect_target("ext.other.y", [], (ext,))


# ---- a fake row: the harness's demo suite and an external project, each in its own pytest -------------

FEATURES = '[[feature]]\nid = "demo.ok"\ndescription = "passes"\n'
SUITE = ('import os\nimport pytest\n\n@pytest.mark.feature("demo.ok")\ndef test_ok():\n'
         '    assert "TEAM_CONFTEST" not in os.environ  # the project\'s conftest never reaches the harness\n')
TEAM = {
    "pytest.ini": "[pytest]\nmarkers = slowish: the team's own marker\n",
    "tests/conftest.py": """
        import os
        import pytest

        @pytest.fixture(autouse=True)
        def team_env():
            os.environ["TEAM_CONFTEST"] = "1"
        """,
    "tests/test_ok.py": '''
        """Passes in every row."""
        import os

        def test_uses_its_own_conftest():
            assert os.environ["TEAM_CONFTEST"] == "1"
        ''',
    "tests/test_broken.py": '''
        """An assertion that fails."""
        def test_wrong():
            assert 1 + 1 == 3
        ''',
    "tests/test_crash.py": '''
        """Kills its process."""
        import os

        def test_dies():
            os.abort()

        def test_survives_beside_it():
            pass
        ''',
    "tests/test_gone.py": '''
        """Imports an API this torch does not have."""
        from torch import list_audio_backends  # noqa: F401

        def test_never_runs():
            pass
        ''',
    "tests/test_marked.py": '''
        import pytest

        @pytest.mark.feature("io.read")
        def test_read():
            pass
        ''',
}


def test_an_external_project_runs_in_its_own_pytest_beside_the_harness_suites(tmp_path):
    env = demo_suite(tmp_path, FEATURES, SUITE, {})
    team = project(tmp_path / "team", TEAM)
    ext = external.External("team", team)
    run_dir = tmp_path / "runs" / "R"
    row = run_dir / "rows" / "fake"
    summ.start_run(run_dir, {"run_id": "R", "rows": ["fake"]})
    (row).mkdir(parents=True)
    (row / "install.json").write_text('{"status": "ok", "message": ""}')
    proc = subprocess.run([sys.executable, "-m", "harness", "run-suites", "--out", str(row), "--workers", "2",
                           *external.cli_args((ext,))], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    from harness.registry import load_registry

    summary = summ.build_summary(run_dir, load_registry(tmp_path / "suites"), [])
    features = {fid: (c["status"], c["message"]) for fid, c in summary["rows"][0]["features"].items()}
    assert features["demo.ok"] == ("pass", "")
    assert features["ext.team.ok"] == ("pass", "")
    assert features["ext.team.broken"][0] == "fail" and "assert (1 + 1) == 3" in features["ext.team.broken"][1]
    assert features["ext.team.crash"][0] == "crash" and "SIGABRT" in features["ext.team.crash"][1]
    assert features["ext.team.gone"][0] == "error" and "list_audio_backends" in features["ext.team.gone"][1]
    assert features["ext.team.io.read"] == ("pass", "")
    assert set(features) == {"demo.ok", "ext.team.ok", "ext.team.broken", "ext.team.crash", "ext.team.gone",
                             "ext.team.io.read"}
    tests = json.loads((row / "pytest.json").read_text())
    assert [p["phase"] for p in tests["phases"]] == ["checks", "benchmarks", "ext:team"]
    described = summary["features"]
    assert described["ext.team.ok"] == {"description": "Passes in every row.", "area": "ext.team"}
    assert described["ext.team.gone"]["area"] == "ext.team"
    # the crashed module's other test ran to its end on a fresh worker
    records = external.records(row)
    assert {"test": "ext/team/tests/test_crash.py::test_survives_beside_it", "status": "pass"}.items() <= \
        next(r for r in records if r.get("test", "").endswith("test_survives_beside_it")).items()


def test_suites_none_runs_only_the_external_project_its_testpaths_and_a_spent_bound_is_timeout(tmp_path):
    env = demo_suite(tmp_path, FEATURES, SUITE, {})
    team = project(tmp_path / "team", {"tests/test_ok.py": "def test_ok():\n    pass\n",
                                       "tests/test_hangs.py": "import time\n\ndef test_h():\n    time.sleep(120)\n",
                                       "pytest.ini": "[pytest]\ntestpaths = tests\n",  # the project's choice
                                       "tools/test_outside.py": "def test_o():\n    assert False\n"})
    row = tmp_path / "row"
    proc = subprocess.run([sys.executable, "-m", "harness", "run-suites", "--out", str(row), "--workers", "2",
                           "--timeout", "20", "--suites", "none",
                           *external.cli_args((external.External("team", team),))],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (row / "install.json").write_text('{"status": "ok", "message": ""}')
    from harness.registry import load_registry

    cells = summ.build_row(row, load_registry(tmp_path / "suites"), [])["features"]
    # the harness's demo suite did not run, nor did the module outside the project's testpaths
    assert set(cells) == {"ext.team.ok", "ext.team.hangs"}
    assert cells["ext.team.ok"]["status"] == "pass"
    assert cells["ext.team.hangs"]["status"] == "timeout" and "hung" in cells["ext.team.hangs"]["message"]


def test_a_project_that_cannot_be_installed_is_install_failed_for_its_modules_only(tmp_path):
    env = demo_suite(tmp_path, FEATURES, SUITE, {})
    team = project(tmp_path / "team", {
        "pyproject.toml": '[build-system]\nrequires = []\nbuild-backend = "no_such_backend"\n'
                          '[project]\nname = "team"\nversion = "0"\n',
        "tests/test_a.py": "def test_a():\n    pass\n", "tests/test_b.py": "def test_b():\n    pass\n"})
    ext = external.check_entry("test", 0, {"path": str(team)}, tmp_path, set())
    assert ext.install == ("-e", str(team))  # a package: installed editable by default
    row = tmp_path / "row"
    proc = subprocess.run([sys.executable, "-m", "harness", "run-suites", "--out", str(row), "--workers", "1",
                           "--suites", "none", *external.cli_args((ext,))],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (row / "install.json").write_text('{"status": "ok", "message": ""}')
    from harness.registry import load_registry

    cells = summ.build_row(row, load_registry(tmp_path / "suites"), [])["features"]
    assert {fid: c["status"] for fid, c in cells.items()} == {"ext.team.a": "install-failed",
                                                             "ext.team.b": "install-failed"}
    assert cells["ext.team.a"]["message"].startswith("install failed: ")
    assert "no_such_backend" in cells["ext.team.a"]["message"]
    constraints = (row / "external" / "team" / "constraints.txt").read_text().splitlines()
    assert "pytest==" + __import__("pytest").__version__ in constraints  # held to the row's own versions
    # The project's install.json and its fallback results are the artefacts' models, versioned like the row's.
    from harness.artefacts import InstallRecord, InstallStatus, TestResult, record_from_json

    folder = row / "external" / "team"
    installed = InstallRecord.from_json(json.loads((folder / "install.json").read_text()))
    assert installed.status is InstallStatus.FAILED and installed.requirements == ["-e", str(team)]
    records = [record_from_json(json.loads(line)) for line in (folder / "results.jsonl").read_text().splitlines()]
    assert all(isinstance(r, TestResult) and r.status == "install-failed" for r in records) and len(records) == 2


def test_expectations_apply_to_external_features(tmp_path):
    from harness.expectations import Known

    run_dir = tmp_path / "runs" / "R"
    row = run_dir / "rows" / "torch-2.14"
    out = row / "external" / "team"
    out.mkdir(parents=True)
    (row / "install.json").write_text('{"status": "ok", "message": ""}')
    (row / "pytest.json").write_text('{"returncode": 1, "timed_out": false, "phases": []}')
    (out / "features.json").write_text('{"ext.team.audio": "Audio I/O", "ext.team.ok": "Fine"}')
    test = {"features": ["ext.team.audio"], "status": "error", "message": "AttributeError: list_audio_backends"}
    (out / "results.jsonl").write_text(
        json.dumps({"collected": {"tests/test_audio.py::t": ["ext.team.audio"],
                                  "tests/test_ok.py::t": ["ext.team.ok"]}}) + "\n"
        + json.dumps({"test": "tests/test_audio.py::t", **test}) + "\n")
    known = [Known("ext.team.audio", "list_audio_backends", "https://github.com/pytorch/audio/issues/3902",
                   rows=("torch-2.14",))]
    summary = summ.build_summary(run_dir, {}, known)
    cells = summary["rows"][0]["features"]
    assert cells["ext.team.audio"]["status"] == "known-failure"
    assert cells["ext.team.ok"]["status"] == "error"  # collected, never reported: not silently green
    assert summary["features"]["ext.team.audio"] == {"description": "Audio I/O", "area": "ext.team"}
    assert summ.verdict(summary).problems == ("torch-2.14: ext.team.ok: error: this check never reported a result",)
