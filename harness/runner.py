"""Inside a row's environment: record what is installed, then run the suites under a hard bound."""
from __future__ import annotations

import importlib.metadata
import os
import platform
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness import fsio
from harness.collect import BENCHMARKS, PYTEST_EXIT, RESULTS
from harness.registry import SUITES

ROOT = Path(__file__).resolve().parent.parent
REPORTED_PACKAGES = ("torch", "torchvision", "torchaudio", "torchtext", "torchdata", "torchcodec",
                     "numpy", "onnx", "onnxruntime", "onnxscript", "librosa", "scipy", "sentencepiece")


@dataclass(frozen=True)
class SuiteRun:
    """Options of one row's suite run; `depth` is recorded in summary.json."""

    out: Path
    depth: str = "quick"
    mode: str = "matrix"
    timeout: float = 3600.0
    suites: tuple[str, ...] = ()
    pytest_args: tuple[str, ...] = field(default_factory=tuple)


def environment() -> dict:
    """Resolved versions, the full freeze, and what torch says about its build."""
    freeze = sorted(f"{d.metadata['Name']}=={d.version}" for d in importlib.metadata.distributions())
    installed = {}
    for name in REPORTED_PACKAGES:
        try:
            installed[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return {"python": platform.python_version(), "platform": platform.platform(),
            "installed": installed, "freeze": freeze}


def pytest_command(run: SuiteRun) -> list[str]:
    targets = [str(SUITES / s) for s in run.suites] or [str(SUITES)]
    return [sys.executable, "-m", "pytest", *targets, "-p", "no:cacheprovider",
            f"--depth={run.depth}", f"--harness-mode={run.mode}",
            f"--harness-results={run.out / RESULTS}", f"--junitxml={run.out / 'junit.xml'}",
            f"--benchmark-json={run.out / BENCHMARKS}", "--benchmark-save-data",
            *run.pytest_args]


def run_suites(run: SuiteRun) -> dict:
    """Run pytest in its own process group; a hang past the bound kills the whole tree."""
    run.out.mkdir(parents=True, exist_ok=True)
    (run.out / RESULTS).unlink(missing_ok=True)
    fsio.write_json(run.out / "env.json", environment())
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    started = time.monotonic()
    timed_out = False
    with open(run.out / "pytest.log", "w", encoding="utf-8") as log:
        proc = subprocess.Popen(pytest_command(run), cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            proc.wait(timeout=run.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    info = {"returncode": proc.returncode, "timed_out": timed_out, "timeout": run.timeout,
            "seconds": round(time.monotonic() - started, 1), "depth": run.depth, "mode": run.mode,
            "suites": list(run.suites)}
    fsio.write_json(run.out / PYTEST_EXIT, info)
    return info
