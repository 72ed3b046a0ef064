"""harness.install: a row resolved into a lock and synced, with a fake `uv` (no network, no torch).

The fake records each call's arguments and answers as the test tells it: a lock for `pip compile`,
an exit status and stderr per subcommand, or a hang."""
import json
import sys
import textwrap

import pytest

from harness import install, uv as uv_module
from harness.matrix import Row

FAKE_UV = textwrap.dedent('''\
    #!{python}
    import json, os, sys, time
    from pathlib import Path
    here = Path(__file__).parent
    args = sys.argv[1:]
    with open(here / "calls.jsonl", "a") as log:
        log.write(json.dumps(args) + "\\n")
    what = " ".join(a for a in args[:2] if not a.startswith("-"))  # "pip compile", "pip sync", "venv"
    plan = json.loads((here / "plan.json").read_text()).get(what, {{}})
    if plan.get("hang"):
        time.sleep(600)
    if what == "pip compile" and not plan.get("status"):
        Path(args[args.index("-o") + 1]).write_text("torch==2.3.1\\n")
    if what == "venv" and not plan.get("status"):
        (Path(args[-1]) / "bin").mkdir(parents=True)
        (Path(args[-1]) / "bin" / "python").write_text("")
    sys.stderr.write(plan.get("stderr", ""))
    sys.exit(plan.get("status", 0))
''')

ROW = Row("torch-2.3", {"torch": "2.3.1"}, extra=("numpy<2",))


@pytest.fixture
def uv(tmp_path, monkeypatch):
    """The fake uv; returns (set the plan, read the calls)."""
    folder = tmp_path / "fake-uv"
    folder.mkdir()
    script = folder / "uv"
    script.write_text(FAKE_UV.format(python=sys.executable))
    script.chmod(0o755)
    (folder / "plan.json").write_text("{}")
    monkeypatch.setattr(uv_module, "binary", lambda: str(script))

    def plan(**answers):
        (folder / "plan.json").write_text(json.dumps({k.replace("_", " "): v for k, v in answers.items()}))

    def calls():
        path = folder / "calls.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return plan, calls


def test_a_row_is_compiled_into_a_lock_then_synced_to_exactly_it(tmp_path, uv):
    _, calls = uv
    out = tmp_path / "row"
    result = install.install_row(ROW, "/venv/bin/python", out)
    assert result.ok and result.message == "" and result.seconds >= 0
    assert (out / "requirements.in").read_text() == f"torch==2.3.1\nnumpy<2\n-r {install.SUITE_REQUIREMENTS}\n"
    compile_, sync = calls()
    assert compile_[:2] == ["pip", "compile"] and compile_[compile_.index("--python") + 1] == "/venv/bin/python"
    assert compile_[compile_.index("-o") + 1] == str(out / "requirements.lock")
    assert sync[:2] == ["pip", "sync"] and sync[-1] == str(out / "requirements.lock")
    recorded = json.loads((out / "install.json").read_text())
    assert recorded == {"schema_version": 2, "status": "ok", "message": "", "seconds": result.seconds,
                        "pins": {"torch": "2.3.1"},
                        "requirements": ["torch==2.3.1", "numpy<2"]}


def test_an_unresolvable_row_keeps_the_resolvers_reason_and_is_not_synced(tmp_path, uv):
    plan, calls = uv
    plan(pip_compile={"status": 1, "stderr": "Resolved 3 packages in 1ms\nUsing Python 3.11\n"
                      "  error: No solution found when resolving dependencies:\n"
                      "  Because torch==9.9 has no wheels, we can conclude that the requirements are unsatisfiable.\n"})
    result = install.install_row(ROW, "/venv/bin/python", tmp_path / "row")
    assert not result.ok
    assert result.message == ("resolution failed: No solution found when resolving dependencies: Because "
                              "torch==9.9 has no wheels, we can conclude that the requirements are unsatisfiable.")
    assert [c[:2] for c in calls()] == [["pip", "compile"]]
    assert json.loads((tmp_path / "row" / "install.json").read_text())["status"] == "install-failed"


def test_a_failed_sync_is_install_failed_and_a_silent_failure_names_the_status(tmp_path, uv):
    plan, _ = uv
    plan(pip_sync={"status": 2, "stderr": "error: Failed to download `torch==2.3.1`\n"})
    assert install.install_row(ROW, "py", tmp_path / "a").message == "install failed: Failed to download `torch==2.3.1`"
    plan(pip_sync={"status": 2})
    assert install.install_row(ROW, "py", tmp_path / "b").message == "install failed: uv exited with status 2"


def test_a_hung_uv_is_killed_at_the_bound_and_the_row_says_so(tmp_path, uv, monkeypatch):
    plan, _ = uv
    plan(pip_compile={"hang": True})
    monkeypatch.setattr(uv_module, "TIMEOUT", 2)
    result = install.install_row(ROW, "py", tmp_path / "row")
    assert not result.ok and result.message == "resolution failed: uv pip compile exceeded 2 s"
    assert result.seconds < 30


def test_row_environment_makes_the_venv_once_and_names_the_row_when_it_fails(tmp_path, uv):
    plan, calls = uv
    venv = tmp_path / "venv"
    assert install.row_environment(ROW, venv, tmp_path / "out") == str(venv / "bin" / "python")
    assert install.row_environment(ROW, venv, tmp_path / "out") == str(venv / "bin" / "python")
    assert [c[0] for c in calls()].count("venv") == 1  # the second call reuses the venv
    plan(venv={"status": 1, "stderr": "error: No interpreter found for Python 3.99\n"})
    with pytest.raises(RuntimeError, match=r"^torch-2.3: cannot create .*other: No interpreter found for Python 3.99$"):
        install.row_environment(ROW, tmp_path / "other", tmp_path / "out2")
    plan(pip_sync={"status": 1, "stderr": "error: disk full\n"})
    with pytest.raises(RuntimeError, match=r"^torch-2.3: install failed: disk full$"):
        install.row_environment(ROW, venv, tmp_path / "out3")
