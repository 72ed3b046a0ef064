"""pytest plugin for the suites: feature markers, depth, library fixtures and per-test statuses.

Each test names the features it checks with ``@pytest.mark.feature("area.x.y")``. The plugin
marks a feature ``absent`` where the registry documents that the installed release does not
ship it, ``n/a`` for CUDA features without a GPU and for the checks of a library the row does not include
(not installed at all: "torchaudio is not in this row"), turns a library that fails at import into
``error`` (never a skip), and writes one JSON line per test to ``--harness-results`` (harness.artefacts).

Written the way pytest writes its own plugins (``_pytest/junitxml.py``): ``pytest_configure`` registers
one `HarnessPlugin` object holding the run's state (also in ``config.stash``); a test's outcome lives in
``item.stash``; a skip that stands for another status (absent, n/a) raises `StatusSkip`, which carries the
status as data.

Under pytest-xdist (how a row runs its checks) every worker appends its own lines; when a worker dies
in a check, the controller writes that check's ``crash`` line, naming the signal from the worker's
faulthandler log, and xdist runs the rest on a fresh worker.
"""
from __future__ import annotations

import faulthandler
import fcntl
import importlib
import json
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import IO, NoReturn

import pytest

from harness import settings
from harness.artefacts import Collected, CollectError, Start, TestResult
from harness.isolate import CheckCrashed, CheckTimeout
from harness.libraries import (LIBRARIES, LibraryError, NotInRow, import_library,  # noqa: F401 - the suites' API
                               installed_versions, not_in_row)
from harness.registry import Feature, load_registry
from harness.status import Status, first_line, normalise, root_cause

MISSING_PREREQ = "prerequisite missing: "
NO_CUDA = "no CUDA device in this environment"
# Fatal Python error lines faulthandler writes, by signal (CPython's faulthandler.c).
FAULTS = {"Segmentation fault": "SIGSEGV", "Aborted": "SIGABRT", "Bus error": "SIGBUS",
          "Floating point exception": "SIGFPE", "Illegal instruction": "SIGILL"}


class StatusSkip(pytest.skip.Exception):  # type: ignore[name-defined]  # pytest's documented Skipped
    """A skip that stands for a harness status (`absent`, `n/a`, `skipped`), carried as `.status`."""

    __module__ = "builtins"  # reads "StatusSkip: <reason>" in pytest's output, as its own "Skipped: <reason>"

    def __init__(self, status: Status, reason: str) -> None:
        super().__init__(msg=reason)
        self.status = status


def skip_as(status: Status, reason: str) -> NoReturn:
    """Stop the current test (or fixture) with `status` (Status.ABSENT, NOT_APPLICABLE or SKIPPED)."""
    raise StatusSkip(status, reason)


@dataclass
class TestOutcome:
    """One test's outcome so far (item.stash): the first phase that did not pass decides it."""

    __test__ = False  # not a pytest test class
    status: Status = Status.PASS
    message: str = ""
    detail: str = ""
    duration: float = 0.0


PLUGIN = pytest.StashKey["HarnessPlugin"]()
OUTCOME = pytest.StashKey[TestOutcome]()


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
    path = config.getoption("--harness-results")
    plugin = HarnessPlugin(load_registry(), Path(path) if path else None, settings.current().xdist_worker or "")
    config.stash[PLUGIN] = plugin
    config.pluginmanager.register(plugin, "harness-results")


def pytest_unconfigure(config: pytest.Config) -> None:
    plugin = config.stash.get(PLUGIN, None)
    if plugin is not None:
        del config.stash[PLUGIN]
        config.pluginmanager.unregister(plugin)
        plugin.close()


def import_failure(text: str) -> tuple[Status, str]:
    """The status and message of a module that failed to import, from pytest's report `text`: n/a when it
    imports a library the row leaves out, else error with the report's last line."""
    for name in LIBRARIES:
        if f"No module named '{name}'" in text and not_in_row(name):
            return Status.NOT_APPLICABLE, f"{name} is not in this row"
    return Status.ERROR, first_line(text.splitlines()[-1] if text else "")


def features_of(item: pytest.Item) -> list[str]:
    """The feature ids an item's `feature` markers name."""
    return [fid for mark in item.iter_markers("feature") for fid in mark.args]


class HarnessPlugin:
    """The run's state and the hooks that write its results file (one per pytest process).

    `registry` is the feature registry, `results` the JSON-lines file (None: write nothing),
    `worker` the xdist worker id ("" on the controller or without xdist).
    """

    def __init__(self, registry: dict[str, Feature], results: Path | None, worker: str = "") -> None:
        self.registry = registry
        self.installed = installed_versions({a.package for f in registry.values() for a in f.absent})
        self.results = results
        self.worker = worker
        self.fault_log: IO[str] | None = None
        if results:
            results.parent.mkdir(parents=True, exist_ok=True)
            if worker:
                self._arm_worker(results.parent / "faults")

    def _arm_worker(self, faults: Path) -> None:
        """An xdist worker dies with the pytest that started it, and a fatal signal leaves its traceback in
        `faults/<worker>.log` beside the results, for the controller to name the signal."""
        from harness.isolate import _PRCTL, PR_SET_PDEATHSIG

        if _PRCTL is not None:
            _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL)
        faults.mkdir(exist_ok=True)
        self.fault_log = open(faults / f"{self.worker}.log", "a")  # noqa: SIM115 - closed in close()
        faulthandler.enable(file=self.fault_log, all_threads=False)

    def close(self) -> None:
        if self.fault_log is not None:
            faulthandler.disable()
            self.fault_log.close()
            self.fault_log = None

    def write(self, record: Collected | Start | CollectError | TestResult) -> None:
        """Append one JSON line; xdist workers and the controller share the file under an exclusive lock."""
        if self.results:
            with self.results.open("a", encoding="utf-8") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX)
                fh.write(json.dumps(record.to_json()) + "\n")
                fh.flush()

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, session, config, items) -> None:
        """Keep the tests of this phase (--harness-phase)."""
        phase = config.getoption("--harness-phase")
        if phase != "all":
            keep = [item for item in items
                    if ("benchmark" in getattr(item, "fixturenames", ())) == (phase == "benchmarks")]
            config.hook.pytest_deselected(items=[item for item in items if item not in keep])
            items[:] = keep

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session) -> None:
        for item in session.items:
            ids = features_of(item)
            if not ids:
                raise pytest.UsageError(f"{item.nodeid}: no @pytest.mark.feature(...) marker")
            unknown = [fid for fid in ids if fid not in self.registry]
            if unknown:
                raise pytest.UsageError(f"{item.nodeid}: feature {unknown[0]} is not in the registry")
        if session.items:  # not on the xdist controller, which collects nothing
            # Checks that setup will call n/a (a GPU feature without a GPU) stay n/a if the row is killed first.
            gpu = [item for item in session.items if self._needs_cuda(item)]
            na = {item.nodeid: NO_CUDA for item in gpu} if gpu and not _cuda_available() else {}
            self.write(Collected({item.nodeid: features_of(item) for item in session.items}, na))

    def _needs_cuda(self, item: pytest.Item) -> bool:
        return any(self.registry[f].device == "cuda" for f in features_of(item))

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem) -> None:
        """A start record per check, written where it runs: after a kill or a timeout, the checks that started
        and never reported are the ones that hung (or that the process died in)."""
        self.write(Start(item.nodeid, self.worker, time.time()))

    @pytest.hookimpl(optionalhook=True)
    def pytest_handlecrashitem(self, crashitem: str, report, sched) -> None:
        """pytest-xdist: a worker died while running `crashitem`; that check alone is `crash`."""
        gateway = getattr(getattr(report, "node", None), "gateway", None)
        fault_log = self.results.parent / "faults" / f"{getattr(gateway, 'id', '')}.log" if self.results else None
        how, trace = crash_cause(fault_log.read_text(errors="replace") if fault_log and fault_log.exists() else "",
                                 _exit_status(gateway))
        self.write(TestResult(crashitem, None, Status.CRASH, f"the check's process {how}",
                              normalise(trace)[-4000:], 0.0, [], time.time()))

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            # A module that cannot even be imported: every feature it would check gets this message.
            status, message = import_failure(str(report.longrepr) if report.longrepr else "")
            self.write(CollectError(report.nodeid, status, message, str(report.longrepr)[-4000:]))

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        """Decide absent and n/a before any fixture imports a library."""
        features = [self.registry[fid] for fid in features_of(item)]
        if any(f.device == "cuda" for f in features) and not _cuda_available():
            skip_as(Status.NOT_APPLICABLE, NO_CUDA)
        absences = [f.absence(self.installed) for f in features]
        if absences[0] is not None and all(absences):
            skip_as(Status.ABSENT, absences[0].describe())

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        report = yield
        outcome = item.stash.setdefault(OUTCOME, TestOutcome())
        status, message, detail = status_of(report, call.excinfo)
        if outcome.status == Status.PASS and status != Status.PASS:
            outcome.status, outcome.message, outcome.detail = status, message, detail
        if report.when == "call" or (report.when == "setup" and not report.passed):
            outcome.duration = round(call.duration, 3)
        if report.when == "teardown":
            self.write(TestResult(item.nodeid, features_of(item), outcome.status, outcome.message, outcome.detail,
                                  outcome.duration, list(item.user_properties), time.time()))
        return report


def crash_cause(fault_log: str, exit_status: int | None) -> tuple[str, str]:
    """(how the worker died, the faulthandler traceback or "") from its fault log's text and exit status
    (negative: killed by that signal)."""
    how, trace = "died without reporting (os._exit, or SIGKILL e.g. out of memory)", ""
    fatal = fault_log.rfind("Fatal Python error: ")
    if fatal >= 0:
        trace = fault_log[fatal:]
        name = first_line(trace).removeprefix("Fatal Python error: ")
        how = f"died with {FAULTS.get(name, name)}"
    if exit_status is not None and exit_status < 0:
        how = f"died with {signal.Signals(-exit_status).name}"
    elif exit_status is not None and exit_status > 0 and not trace:
        how = f"exited with status {exit_status} without reporting (os._exit?)"
    return how, trace


def _exit_status(gateway) -> int | None:
    """The dead worker's exit status where execnet exposes its Popen (a private attribute: best effort)."""
    popen = getattr(getattr(gateway, "_io", None), "popen", None)
    if popen is None:
        return None
    try:
        return popen.wait(timeout=5)
    except Exception:  # noqa: BLE001 - the signal is then named from the fault log alone
        return None


def _cuda_available() -> bool:
    try:
        import torch
        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001 - a torch that fails to import has no CUDA; the suites report the failure
        return False


def status_of(report: pytest.TestReport, excinfo) -> tuple[Status, str, str]:
    """(status, message naming the root cause, detail) of one phase's report."""
    exc = excinfo.value if excinfo else None
    if report.skipped:
        if isinstance(exc, StatusSkip):
            return exc.status, exc.msg or "", ""
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        return Status.SKIPPED, reason.removeprefix("Skipped: "), ""
    if report.passed:
        return Status.PASS, "", ""
    detail = str(report.longrepr)[-4000:]
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


# ---- fixtures and helpers the suites use -----------------------------------------------------

@pytest.fixture(scope="session")
def depth(request) -> str:
    """'quick' samples each family of checks; 'full' covers every model and exporter."""
    return request.config.getoption("--depth")


def _library_fixture(name: str):
    @pytest.fixture(scope="session", name=name)
    def fixture():
        try:
            return import_library(name)
        except NotInRow as exc:
            skip_as(Status.NOT_APPLICABLE, str(exc))
    fixture.__doc__ = f"The row's {name}, or an error status for the test if it cannot load."
    return fixture


torch = _library_fixture("torch")
torchvision = _library_fixture("torchvision")
torchaudio = _library_fixture("torchaudio")
torchtext = _library_fixture("torchtext")


def require_tool(config: pytest.Config, *names: str, reference: bool = False) -> dict[str, str]:
    """Paths of the harness's own prerequisites (a JDK, a compiler); `skipped` if one is missing.

    `reference=True` is for a command-line reference a check compares against (SoX), treated like
    `require_module`: `skipped` in `here` mode only; in a row a missing one raises FileNotFoundError (`error`).
    """
    found = {n: shutil.which(n) for n in names}
    missing = [n for n, p in found.items() if not p]
    if missing:
        message = MISSING_PREREQ + f"{', '.join(missing)} not on PATH"
        if reference and config.getoption("--harness-mode") != "here":
            raise FileNotFoundError(message)
        skip_as(Status.SKIPPED, message)
    return {n: p for n, p in found.items() if p}


def require_module(config: pytest.Config, name: str) -> ModuleType:
    """A Python reference library (librosa, onnxruntime): ImportError (`error`) in a row, `skipped` in
    `here` mode."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        if config.getoption("--harness-mode") == "here":
            skip_as(Status.SKIPPED, MISSING_PREREQ + f"{name} is not installed ({first_line(str(exc))})")
        raise


@pytest.fixture(scope="session")
def harness_mode(request) -> str:
    return request.config.getoption("--harness-mode")


@pytest.fixture(scope="session")
def fixtures_dir(tmp_path_factory) -> Path:
    """Scratch space for fabricated datasets and models, shared by one pytest run."""
    return tmp_path_factory.mktemp("fixtures")
