"""Inside a row's environment: record what is installed, then run the suites under a hard bound.

Two phases share the row's time bound. The checks run first, on every core (pytest-xdist workers,
one torch thread each); a check that kills its worker is `crash` alone and xdist replaces the
worker. The benchmarks run afterwards, alone and serially, so their figures keep their meaning.
"""
from __future__ import annotations

import importlib.metadata
import json
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness import external, fsio, isolate, settings
from harness.artefacts import EnvRecord, PhaseRun, PytestExit
from harness.collect import BENCHMARKS, PYTEST_EXIT, RESULTS, read_records
from harness.progress import Progress

ROOT = Path(__file__).resolve().parent.parent
REPORTED_PACKAGES = ("torch", "torchvision", "torchaudio", "torchtext", "torchdata", "torchcodec",
                     "numpy", "onnx", "onnxruntime", "onnxscript", "librosa", "scipy", "sentencepiece")
# Phase name (the plugin's --harness-phase) -> whether it runs on xdist workers.
PHASES = {"checks": True, "benchmarks": False}


@dataclass(frozen=True)
class SuiteRun:
    """Options of one row's suite run; `depth` is recorded in summary.json.

    `workers` is the number of xdist workers for the checks (pytest-xdist's `-n`: "auto" is one
    per core); `timeout` bounds both phases together, in seconds.
    """

    out: Path
    depth: str = "quick"
    mode: str = "matrix"
    timeout: float = 3600.0
    suites: tuple[str, ...] = ()
    pytest_args: tuple[str, ...] = field(default_factory=tuple)
    workers: str = "auto"
    externals: tuple[external.External, ...] = ()  # team projects, each run after the harness's phases


def cuda_builds() -> dict[str, str]:
    """The CUDA version each row library was compiled with ("cpu" for a CPU build); see harness.cuda_probe."""
    try:
        done = isolate.run_python(["-m", "harness.cuda_probe"], 120,
                                  env=settings.child_env())
        return json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else {}
    except (isolate.CheckTimeout, isolate.CheckCrashed, ValueError, IndexError):
        return {}


def environment() -> dict:
    """Resolved versions, the full freeze, and the CUDA build of each row library."""
    freeze = sorted(f"{d.metadata['Name']}=={d.version}" for d in importlib.metadata.distributions())
    installed = {}
    for name in REPORTED_PACKAGES:
        try:
            installed[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    builds = {name: build for name, build in cuda_builds().items() if name in installed}
    return EnvRecord(platform.python_version(), platform.platform(), installed, builds, freeze).to_json()


def pytest_command(run: SuiteRun, phase: str) -> list[str]:
    """The pytest command line of one phase ("checks" or "benchmarks")."""
    suites = settings.current().suites
    targets = [str(suites / s) for s in run.suites] or [str(suites)]
    # worksteal balances checks of very uneven length (a model export against a biquad filter) and, unlike
    # xdist's scope-grouping schedulers, reschedules a crashed worker's pending checks on its replacement.
    parallel = ["-n", run.workers, "--dist", "worksteal", "--max-worker-restart", "1000"] if PHASES[phase] else []
    junit = "junit.xml" if phase == "checks" else f"junit-{phase}.xml"
    bench = [f"--benchmark-json={run.out / BENCHMARKS}", "--benchmark-save-data"] if phase == "benchmarks" else []
    return [sys.executable, "-m", "pytest", *targets, "-p", "no:cacheprovider", "-p", "no:faulthandler",
            f"--depth={run.depth}", f"--harness-mode={run.mode}", f"--harness-phase={phase}",
            f"--harness-results={run.out / RESULTS}", f"--junitxml={run.out / junit}",
            *parallel, *bench, *run.pytest_args]


def _run_phase(run: SuiteRun, phase: str, deadline: float, env: dict, progress: Progress,
               command: list[str] | None = None, cwd: Path = ROOT) -> dict:
    started = time.monotonic()
    timed_out = False
    command = command or pytest_command(run, phase)
    with open(run.out / "pytest.log", "a", encoding="utf-8") as log:
        log.write(f"==== phase {phase}: {' '.join(command)}\n")
        log.flush()
        proc = isolate.start(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            while proc.poll() is None:
                if time.monotonic() > deadline:
                    timed_out = True
                    break
                progress.update(phase)
                time.sleep(0.5)
        finally:
            if proc.poll() is None:
                isolate.kill_tree(proc)
            proc.wait()
    progress.update(phase)
    return {"phase": phase, "returncode": proc.returncode, "timed_out": timed_out,
            "seconds": round(time.monotonic() - started, 1)}


def run_suites(run: SuiteRun) -> dict:
    """Run the checks, then the benchmarks, each pytest in its own process group; past the row's bound
    the running phase's tree is killed and later phases do not start. Returns what pytest.json holds."""
    run.out.mkdir(parents=True, exist_ok=True)
    for stale in (RESULTS, "pytest.log"):
        (run.out / stale).unlink(missing_ok=True)
    fsio.write_json(run.out / "env.json", environment())
    # One intra-op thread per process: the workers share the cores, not each other's threads. We may
    # run inside an xdist worker (the harness's own tests): its variables stay out of our pytest.
    env = settings.child_env({"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}, drop_prefix="PYTEST_XDIST_")
    started = time.monotonic()
    phases, usage, died = [], None, None
    with isolate.guard(), Progress(run.out.name, run.out / RESULTS, previous_results(run.out)) as progress:
        for phase in (() if run.suites == (external.NO_SUITES,) else PHASES):  # `--suites none`: externals only
            before = len(read_records(run.out / RESULTS))
            phases.append(_run_phase(run, phase, started + run.timeout, env, progress))
            if phases[-1]["timed_out"] or phases[-1]["returncode"] < 0:
                died = phases[-1]
                break
            if (usage := usage_error(run, phases[-1], before)) is not None:
                break
        if usage is None:  # external suites: their own pytest each, within the same bound (none left: timeout)
            phases += external.run_phases(run, started + run.timeout, lambda phase, command, cwd: _run_phase(
                run, phase, started + run.timeout, env, progress, command, cwd))
            died = died or next((p for p in phases if p["timed_out"] or p["returncode"] < 0), None)
        last = died or (phases[-1] if phases else {"returncode": 0})  # `--suites none` with no external: none
        info = PytestExit(last["returncode"], any(p["timed_out"] for p in phases), run.timeout,
                          round(time.monotonic() - started, 1), [PhaseRun(**p) for p in phases], run.depth,
                          run.mode, list(run.suites), usage).to_json()
        fsio.write_json(run.out / PYTEST_EXIT, info)
        progress.finish()
    return info


# pytest's exits that mean it did not run what it was asked to: interrupted (a bad option), internal error,
# usage error (a path that does not exist, an unknown option).
USAGE_EXITS = (2, 3, 4)


def _ran_something(records: list[dict]) -> bool:
    return any("collected" in r or "collect_error" in r or "test" in r for r in records)


def usage_error(run: SuiteRun, info: dict, records_before: int) -> str | None:
    """pytest's own message when a phase could not even start (a typo in --suites, a stray `--`): a usage
    exit and nothing collected by the phase, and no module that failed to import (that is the row's error).
    (Under xdist a bad path can end the checks phase with 5, "no tests"; the benchmarks phase then says 4.)"""
    if info["timed_out"] or info["returncode"] not in USAGE_EXITS:
        return None
    if _ran_something(read_records(run.out / RESULTS)[records_before:]):
        return None
    try:
        log = (run.out / "pytest.log").read_text(encoding="utf-8", errors="replace")
    except OSError:
        log = ""
    lines = [ln.strip() for ln in log.rsplit(f"==== phase {info['phase']}", 1)[-1].splitlines()[1:] if ln.strip()]
    errors = [ln for ln in lines if (ln.startswith(("ERROR:", "INTERNALERROR", "UsageError")) or ": error:" in ln)
              and not ln.startswith("ERROR: usage:")]
    message = " ".join((errors or lines[-3:])[:5]) or "(no output)"
    suites = settings.current().suites
    missing = [s for s in run.suites if not (suites / s).exists()]
    if missing:
        message = f"--suites {' '.join(missing)}: no such path under {suites}; pytest said: {message}"
    return f"pytest exited with status {info['returncode']} without running the {info['phase']}: {message}"


def previous_results(out: Path) -> Path | None:
    """The same row's results.jsonl in the newest earlier run (for the progress estimate), if any."""
    runs = out.parent.parent.parent  # runs/<run-id>/rows/<row>
    earlier = sorted(p for p in runs.glob(f"*/rows/{out.name}/{RESULTS}") if p.parent != out)
    return earlier[-1] if earlier else None
