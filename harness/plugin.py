"""pytest plugin for the suites: feature markers, depth, library fixtures and per-test statuses.

Each test names the features it checks with ``@pytest.mark.feature("area.x.y")``. The plugin
marks a feature ``absent`` where the registry documents that the installed release does not
ship it, ``n/a`` for CUDA features without a GPU and for the checks of a library the row does not include
(not installed at all: "torchaudio is not in this row"), turns a library that fails at import into
``error`` (never a skip), and writes one JSON line per test to ``--harness-results``.

Under pytest-xdist (how a row runs its checks) every worker appends its own lines; when a worker dies
in a check, the controller writes that check's ``crash`` line, naming the signal from the worker's
faulthandler log, and xdist runs the rest on a fresh worker.
"""
from __future__ import annotations

import fcntl
import faulthandler
import importlib
import importlib.metadata
import json
import shutil
import signal
import sys
import time
from pathlib import Path

import pytest

from harness import settings
from harness.isolate import CheckCrashed, CheckTimeout
from harness.registry import load_registry
from harness.status import Status, first_line, normalise, root_cause

LIBRARIES = ("torch", "torchvision", "torchaudio", "torchtext")
ABSENT, NOT_APPLICABLE, MISSING_PREREQ = "absent: ", "n/a: ", "prerequisite missing: "
NO_CUDA = "no CUDA device in this environment"
_RESULTS = pytest.StashKey[dict]()
_import_failures: dict[str, str] = {}


class LibraryError(Exception):
    """A library of the row failed to import or to register its operators."""


class NotInRow(LibraryError):
    """The row does not include this library (it is not installed at all): its checks are `n/a`."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness")
    group.addoption("--depth", choices=("quick", "full"), default="quick",
                    help="quick: every family of checks once (CI); full: every model, every exporter")
    group.addoption("--harness-results", default=None, help="append one JSON line per test here")
    group.addoption("--harness-mode", choices=("matrix", "here"), default="matrix",
                    help="here: a missing optional prerequisite is skipped instead of an error")
    group.addoption("--harness-phase", choices=("all", "checks", "benchmarks"), default="all",
                    help="checks: every test but the benchmarks (run on xdist workers); benchmarks: only "
                         "the tests that take pytest-benchmark's `benchmark` fixture (run alone, serially)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "feature(*ids): the registry feature ids this test checks")
    config._harness_registry = load_registry()
    config._harness_installed = installed_versions(
        {a.package for f in config._harness_registry.values() for a in f.absent})
    global _results
    path = config.getoption("--harness-results")
    _results = Path(path) if path else None
    if _results:
        _results.parent.mkdir(parents=True, exist_ok=True)
    worker = settings.current().xdist_worker
    if worker and _results:
        _arm_worker(worker)


def _arm_worker(worker: str) -> None:
    """An xdist worker dies with the pytest that started it, and a fatal signal leaves its traceback in
    `faults/<worker>.log` beside the results, for the controller to name the signal."""
    from harness.isolate import _PRCTL, PR_SET_PDEATHSIG

    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL)
    faults = _results.parent / "faults"
    faults.mkdir(exist_ok=True)
    faulthandler.enable(file=open(faults / f"{worker}.log", "a"), all_threads=False)  # noqa: SIM115 - lives as long as the worker


def installed_versions(extra: set[str] = frozenset()) -> dict[str, str | None]:
    """Versions of the row libraries and of every package a registry absence names."""
    versions: dict[str, str | None] = {}
    for name in sorted(set(LIBRARIES) | set(extra)):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


_results: Path | None = None  # --harness-results: one JSON line per test, flushed as it ends


def _write(record: dict) -> None:
    """Append one JSON line; xdist workers and the controller share the file under an exclusive lock."""
    if _results:
        with _results.open("a", encoding="utf-8") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            fh.write(json.dumps(record) + "\n")
            fh.flush()


def features_of(item: pytest.Item) -> list[str]:
    return [fid for mark in item.iter_markers("feature") for fid in mark.args]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session, config, items) -> None:
    """Keep the tests of this phase (--harness-phase)."""
    phase = config.getoption("--harness-phase")
    if phase != "all":
        keep = [item for item in items if ("benchmark" in getattr(item, "fixturenames", ())) == (phase == "benchmarks")]
        config.hook.pytest_deselected(items=[item for item in items if item not in keep])
        items[:] = keep


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session) -> None:
    registry = session.config._harness_registry
    for item in session.items:
        ids = features_of(item)
        if not ids:
            raise pytest.UsageError(f"{item.nodeid}: no @pytest.mark.feature(...) marker")
        unknown = [fid for fid in ids if fid not in registry]
        if unknown:
            raise pytest.UsageError(f"{item.nodeid}: feature {unknown[0]} is not in the registry")
    if session.items:  # not on the xdist controller, which collects nothing
        # Checks that setup will call n/a (a GPU feature without a GPU) stay n/a if the row is killed first.
        gpu = [item for item in session.items if any(registry[f].device == "cuda" for f in features_of(item))]
        na = {item.nodeid: NO_CUDA for item in gpu} if gpu and not _cuda_available() else {}
        _write({"collected": {item.nodeid: features_of(item) for item in session.items}, "not_applicable": na})


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem) -> None:
    """A start record per check, written where it runs: after a kill or a timeout, the checks that started
    and never reported are the ones that hung (or that the process died in)."""
    _write({"start": item.nodeid, "worker": settings.current().xdist_worker or "", "time": time.time()})


# Fatal Python error lines faulthandler writes, by signal (CPython's faulthandler.c).
FAULTS = {"Segmentation fault": "SIGSEGV", "Aborted": "SIGABRT", "Bus error": "SIGBUS",
          "Floating point exception": "SIGFPE", "Illegal instruction": "SIGILL"}


@pytest.hookimpl(optionalhook=True)
def pytest_handlecrashitem(crashitem: str, report, sched) -> None:
    """pytest-xdist: a worker died while running `crashitem`; that check alone is `crash`."""
    worker = getattr(getattr(report, "node", None), "gateway", None)
    worker_id = getattr(worker, "id", "")
    how, trace = "died without reporting (os._exit, or SIGKILL e.g. out of memory)", ""
    fault_log = _results.parent / "faults" / f"{worker_id}.log" if _results else None
    if fault_log and fault_log.exists():
        text = fault_log.read_text(errors="replace")
        fatal = text.rfind("Fatal Python error: ")
        if fatal >= 0:
            trace = text[fatal:]
            name = first_line(trace).removeprefix("Fatal Python error: ")
            how = f"died with {FAULTS.get(name, name)}"
    code = _exit_status(worker)
    if code is not None and code < 0:
        how = f"died with {signal.Signals(-code).name}"
    elif code is not None and code > 0 and not trace:
        how = f"exited with status {code} without reporting (os._exit?)"
    _write({"test": crashitem, "features": None, "status": Status.CRASH.value,
            "message": f"the check's process {how}", "detail": normalise(trace)[-4000:],
            "duration": 0.0, "properties": [], "time": time.time()})


def _exit_status(gateway) -> int | None:
    """The dead worker's exit status where execnet exposes its Popen (a private attribute: best effort)."""
    popen = getattr(getattr(gateway, "_io", None), "popen", None)
    if popen is None:
        return None
    try:
        return popen.wait(timeout=5)
    except Exception:  # noqa: BLE001 - the signal is then named from the fault log alone
        return None


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        # A module that cannot even be imported: every feature it would check gets this message.
        message = first_line(str(report.longrepr).splitlines()[-1] if report.longrepr else "")
        status = Status.ERROR
        for name in LIBRARIES:  # a module that imports a library the row left out: n/a, not error
            if f"No module named '{name}'" in str(report.longrepr) and not_in_row(name):
                status, message = Status.NOT_APPLICABLE, f"{name} is not in this row"
        _write({"collect_error": report.nodeid, "message": message, "status": status.value,
                "detail": str(report.longrepr)[-4000:]})


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Decide absent and n/a before any fixture imports a library."""
    registry, installed = item.config._harness_registry, item.config._harness_installed
    features = [registry[fid] for fid in features_of(item)]
    if any(f.device == "cuda" for f in features) and not _cuda_available():
        pytest.skip(NOT_APPLICABLE + NO_CUDA)
    absences = [f.absence(installed) for f in features]
    if all(absences):
        pytest.skip(ABSENT + absences[0].describe())


def _cuda_available() -> bool:
    try:
        import torch
        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001 - a torch that fails to import has no CUDA; the suites report the failure
        return False


def _status_of(report: pytest.TestReport, excinfo) -> tuple[Status, str, str]:
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        for prefix, status in ((ABSENT, Status.ABSENT), (NOT_APPLICABLE, Status.NOT_APPLICABLE)):
            if reason.startswith(prefix):
                return status, reason[len(prefix):], ""
        return Status.SKIPPED, reason, ""
    if report.passed:
        return Status.PASS, "", ""
    detail = str(report.longrepr)[-4000:]
    exc = excinfo.value if excinfo else None
    if exc is not None:
        message, chain = root_cause(exc)
        if chain:
            detail = chain + "\n\n" + detail
    else:
        message = first_line(detail)
    if isinstance(exc, CheckTimeout) or (type(exc).__name__ == "Failed" and str(exc).startswith("Timeout")):
        return Status.TIMEOUT, message, detail
    if isinstance(exc, CheckCrashed):
        return Status.CRASH, message, detail
    if report.when == "call" and isinstance(exc, AssertionError):
        return Status.FAIL, message, detail
    return Status.ERROR, message, detail


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    results = item.stash.setdefault(_RESULTS, {"status": Status.PASS, "message": "", "detail": ""})
    status, message, detail = _status_of(report, call.excinfo)
    if results["status"] == Status.PASS and status != Status.PASS:
        results.update(status=status, message=message, detail=detail)
    if report.when == "call" or (report.when == "setup" and not report.passed):
        results["duration"] = round(call.duration, 3)
    if report.when == "teardown":
        _write({"test": item.nodeid, "features": features_of(item),
                             "status": results["status"].value, "message": results["message"],
                             "detail": results["detail"], "duration": results.get("duration", 0.0),
                             "properties": item.user_properties, "time": time.time()})
    return report


# ---- fixtures the suites use ---------------------------------------------------------------

@pytest.fixture(scope="session")
def depth(request) -> str:
    """'quick' samples each family of checks; 'full' covers every model and exporter."""
    return request.config.getoption("--depth")


def not_in_row(name: str) -> bool:
    """Whether the row left `name` out: no module of that name and no distribution."""
    import importlib.util

    try:
        if importlib.util.find_spec(name) is not None:
            return False
    except (ImportError, ValueError):
        return False  # something is there and fails: the import below says what
    try:
        importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return True
    return False


def import_library(name: str):
    """Import a row library; a failure (missing operator, undefined symbol) becomes LibraryError,
    a library the row does not include at all NotInRow."""
    if name in _import_failures:
        raise LibraryError(_import_failures[name])
    if name not in sys.modules and not_in_row(name):
        raise NotInRow(f"{name} is not in this row")
    try:
        return importlib.import_module(name)
    except Exception as exc:  # noqa: BLE001 - any import-time failure is the row's error
        _import_failures[name] = f"{name} failed to import: {type(exc).__name__}: {first_line(str(exc))}"
        raise LibraryError(_import_failures[name]) from None  # the message names the cause already


def _library_fixture(name: str):
    @pytest.fixture(scope="session", name=name)
    def fixture():
        try:
            return import_library(name)
        except NotInRow as exc:
            pytest.skip(NOT_APPLICABLE + str(exc))
    fixture.__doc__ = f"The row's {name}, or an error status for the test if it cannot load."
    return fixture


torch = _library_fixture("torch")
torchvision = _library_fixture("torchvision")
torchaudio = _library_fixture("torchaudio")
torchtext = _library_fixture("torchtext")


def require_tool(config: pytest.Config, *names: str, reference: bool = False) -> dict[str, str]:
    """Paths of the harness's own prerequisites (a JDK, a compiler); `skipped` if one is missing.

    `reference=True` is for a command-line reference a check compares against (SoX), treated like
    `require_module`: `skipped` in `here` mode only; in a row a missing one is an `error`.
    """
    found = {n: shutil.which(n) for n in names}
    missing = [n for n, p in found.items() if not p]
    if missing:
        message = MISSING_PREREQ + f"{', '.join(missing)} not on PATH"
        if reference and config.getoption("--harness-mode") != "here":
            raise FileNotFoundError(message)
        pytest.skip(message)
    return found  # type: ignore[return-value]


def require_module(config: pytest.Config, name: str):
    """A Python reference library (librosa, onnxruntime): an error in a row, a skip in `here` mode."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        if config.getoption("--harness-mode") == "here":
            pytest.skip(MISSING_PREREQ + f"{name} is not installed ({first_line(str(exc))})")
        raise


@pytest.fixture(scope="session")
def harness_mode(request) -> str:
    return request.config.getoption("--harness-mode")


@pytest.fixture(scope="session")
def fixtures_dir(tmp_path_factory) -> Path:
    """Scratch space for fabricated datasets and models, shared by one pytest run."""
    return tmp_path_factory.mktemp("fixtures")
