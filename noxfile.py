"""Sessions: one `matrix` session per row of matrix.toml, then the report; plus tests and lint."""
import os
import sys
from pathlib import Path

import nox

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the harness package beside us

from harness import external, settings, summary
from harness.install import install_row, row_environment
from harness.matrix import MatrixError, Row, load_matrix
from harness.options import RunOptions

nox.options.default_venv_backend = "uv"
nox.options.sessions = ["matrix"]

try:
    MATRIX = load_matrix()
except MatrixError as error:
    print(f"error: {error}", file=sys.stderr)
    sys.exit(2)

RUN_ID = settings.current().run_id or summary.new_run_id()  # one run per invocation of nox
RUN_DIR = summary.runs_dir() / RUN_ID
MATRIX_RAN: list[str] = []  # rows this invocation ran: the report session then reports this run
HARNESS_DEPS = ["packaging", "jinja2", "psutil", "scipy"]  # psutil: harness.isolate.guard(); scipy: harness.stats


@nox.session(reuse_venv=True)
# Each row's environment uses the row's `python` (validated: an interpreter of that version is here).
@nox.parametrize(["python", "row"], [nox.param(r.python, r, id=r.name, tags=list(r.tags)) for r in MATRIX.rows])
def matrix(session, row):
    """Install one row in its own environment and run the suites there."""
    options = RunOptions.parse(session.posargs)
    try:  # --external PATH and [[external]]: a bad one stops everything before anything is written
        externals = external.chosen(options.externals, MATRIX.externals, options.suites)
    except MatrixError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    summary.start_run(RUN_DIR, {"run_id": RUN_ID, "started": summary.now(), "matrix": str(MATRIX.path),
                                "depth": options.depth, "mode": "matrix", "rows": _selected_rows(session),
                                "externals": [e.to_json() for e in externals]})
    row_dir = RUN_DIR / "rows" / row.name
    MATRIX_RAN.append(row.name)
    installed = install_row(row, session.virtualenv.location + "/bin/python", row_dir)
    if installed.ok:
        # Each external project is installed into this environment (held to the row) and run by run-suites.
        session.run("python", "-m", "harness", "run-suites", "--out", str(row_dir), *external.cli_args(externals),
                    *options.suite_args(), env={"PYTHONPATH": os.getcwd()}, success_codes=[0, 2])
        exit_info = summary.read_exit(row_dir)
        if exit_info.get("usage_error") or not exit_info:
            # pytest could not run what it was asked (a typo in --suites, a stray `--`): no row can; stop.
            print(f"error: {row.name}: {exit_info.get('usage_error') or 'the suites could not start'}",
                  file=sys.stderr)
            raise SystemExit(2)
    else:
        session.warn(f"{row.name}: install failed; recorded as install-failed")
    session.notify("report")


def _selected_rows(session) -> list[str]:
    """The rows this invocation runs (`-s "matrix(ROW)"`, `-t ci`): a run is complete when each has a result."""
    try:  # nox keeps the selected sessions in its manifest (done and queued); private, and iterating it pops
        manifest = session._runner.manifest
        rows = [s.func.call_spec["row"].name for s in [*manifest._consumed, *manifest._queue]
                if getattr(s.func, "call_spec", None) and isinstance(s.func.call_spec.get("row"), Row)]
        return rows or [r.name for r in MATRIX.rows]
    except Exception:  # noqa: BLE001 - an unknown nox: every row of the matrix
        return [r.name for r in MATRIX.rows]


@nox.session(reuse_venv=True)
def report(session):
    """Fold the newest (or this invocation's) run into summary.json and reports/index.html."""
    session.install(*HARNESS_DEPS)
    # After matrix sessions, report this invocation's run; alone, the posargs choose (--run, --merge).
    args = ["--run", RUN_ID] if MATRIX_RAN else session.posargs
    session.run("python", "-m", "harness", "report", *args,
                env={"PYTHONPATH": os.getcwd()})


@nox.session(venv_backend="none")
def here(session):
    """Check the active Python environment as one row, installing nothing."""
    session.run("python", "-m", "harness", "here", *session.posargs, env={"PYTHONPATH": os.getcwd()})


def _row_python(session, name: str) -> str:
    try:
        row = MATRIX.row(name)
    except KeyError:
        session.error(f"{MATRIX.path}: no row named {name!r}")
    return row_environment(row, Path(".nox") / "rows" / row.name, Path(".nox") / "rows" / f"{row.name}.install")


@nox.session(venv_backend="none")
def calibrate(session):
    """A/A runs of the benchmarks in one row: the rule's false-alarm rate and smallest detectable slowdown."""
    name, *rest = session.posargs or [next(r.name for r in MATRIX.rows if "ci" in r.tags)]
    python = _row_python(session, name)
    session.run(python, "-m", "harness.calibrate", "--python", python, *rest,
                env={"PYTHONPATH": os.getcwd()}, external=True)


@nox.session(venv_backend="none")
def abtest(session):
    """An interleaved A/B of two rows (alternating processes): a precise version-to-version verdict."""
    if len(session.posargs) < 2:
        session.error("usage: nox -s abtest -- ROW_A ROW_B [calibrate options]")
    a, b, *rest = session.posargs
    python_a, python_b = _row_python(session, a), _row_python(session, b)
    session.run(python_a, "-m", "harness.calibrate", "--ab", python_a, python_b, *rest,
                env={"PYTHONPATH": os.getcwd()}, external=True)


@nox.session
def tests(session):
    """The harness's own tests."""
    session.install("-e", ".[test]")
    # Every core (pytest-xdist); posargs replace the default, e.g. `-- -m "not slow"` or `-- -n 0 -k name`.
    session.run("pytest", *(session.posargs or ["-n", "auto"]))


@nox.session
def lint(session):
    """ruff on everything, mypy on the harness package (settings in pyproject.toml)."""
    # The harness with its dependencies and the typed modules of the test extra it imports (pytest, rich, uv),
    # plus the stubs of the dependencies without their own types.
    session.install("ruff", "mypy", "types-psutil", "pytest", "rich", "uv", "-e", ".")
    session.run("ruff", "check", "harness", "suites", "fixtures", "tests", "ci", "noxfile.py")
    session.run("mypy")


@nox.session(reuse_venv=True)
def resolve(session):
    """The installability map: torch minors x domain-library releases, asked of uv (metadata only)."""
    session.install(*HARNESS_DEPS)
    session.run("python", "-m", "harness.resolve", *session.posargs, env={"PYTHONPATH": os.getcwd()})


@nox.session(reuse_venv=True)
def cases(session):
    """The corpus of real upstream breakages (cases/*.toml): caught, missed or disturbed, and a score."""
    from harness.cases import check

    if problem := check(session.posargs):
        print(problem, file=sys.stderr)
        sys.exit(2)  # a malformed case, like a malformed matrix: usage error, nothing built or written
    session.install(*HARNESS_DEPS, "nox", "uv")  # each case runs `nox -s matrix` from here
    session.run("python", "-m", "harness.cases", *session.posargs, env={"PYTHONPATH": os.getcwd()})


@nox.session(reuse_venv=True)
def bisect(session):
    """Find the release that broke a feature (or slowed a benchmark) between a good and a bad row."""
    session.install(*HARNESS_DEPS, "uv")
    session.run("python", "-m", "harness.bisection", *session.posargs, env={"PYTHONPATH": os.getcwd()})


@nox.session(reuse_venv=True)
def repro(session):
    """Rebuild a new failure's environment from its bundle's lock and check that its script reproduces it."""
    session.install(*HARNESS_DEPS, "uv")
    session.run("python", "-m", "harness.repro_cmd", *session.posargs, env={"PYTHONPATH": os.getcwd()})
