"""harness.settings: the only reader of the environment, resolved when asked."""
import ast
from pathlib import Path

from harness import calibrate, perf, settings, summary

ROOT = Path(__file__).resolve().parent.parent


def test_paths_follow_the_environment_at_call_time_not_at_import(monkeypatch, tmp_path):
    monkeypatch.setenv("HARNESS_REPORTS", str(tmp_path / "a"))
    assert summary.runs_dir() == tmp_path / "a" / "runs"
    monkeypatch.setenv("HARNESS_REPORTS", str(tmp_path / "b"))
    assert summary.runs_dir() == tmp_path / "b" / "runs"
    assert settings.current().calibration == tmp_path / "b" / "calibration"


def test_calibrate_writes_where_the_report_reads_under_harness_reports(monkeypatch, tmp_path):
    # The bug this fixes: calibrate wrote to ./reports/calibration while the report read
    # $HARNESS_REPORTS/calibration, so a calibration made with HARNESS_REPORTS set was ignored.
    monkeypatch.setenv("HARNESS_REPORTS", str(tmp_path / "reports"))
    monkeypatch.delenv("HARNESS_CALIBRATION", raising=False)
    out = Path(calibrate.make_parser().parse_args(["--python", "python"]).out)
    out.mkdir(parents=True)
    (out / "20260101T000000Z.json").write_text('{"benchmarks": {"b": {"sigma": 0.03, "df": 9}}}')
    entries, problems = perf.load_calibration()
    assert (entries, problems) == ({"b": {"sigma": 0.03, "df": 9}}, [])


def test_the_index_is_uvs_own_setting_without_a_trailing_slash():
    assert settings.current({"UV_INDEX_URL": "https://mirror/simple/"}).index == "https://mirror/simple"
    env = {"UV_DEFAULT_INDEX": "https://a/simple", "UV_INDEX_URL": "https://b/simple"}
    assert settings.current(env).index == "https://a/simple"


def test_child_env_puts_the_harness_first_and_drops_what_it_is_told(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw3")
    env = settings.child_env({"OMP_NUM_THREADS": "1"}, drop_prefix="PYTEST_XDIST_")
    assert env["PYTHONPATH"].split(":") == [str(ROOT), "/elsewhere"]
    assert env["OMP_NUM_THREADS"] == "1" and "PYTEST_XDIST_WORKER" not in env


def _reads_environment(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb") \
                and isinstance(node.value, ast.Name) and node.value.id == "os":
            lines.append(node.lineno)
    return lines


def test_only_the_settings_module_reads_the_environment():
    readers = {f"{path.relative_to(ROOT)}:{line}" for path in (ROOT / "harness").rglob("*.py")
               if path.name != "settings.py" for line in _reads_environment(ast.parse(path.read_text()))}
    assert readers == set()


def test_the_readme_lists_every_variable_the_settings_read():
    readme = (ROOT / "README.md").read_text()
    assert [name for name in settings.VARIABLES if f"`{name}`" not in readme] == []
