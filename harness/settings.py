"""The only reader of the environment: every variable the harness reads, resolved when asked.

Nothing here is frozen at import: `current()` reads the environment each time it is called, so a
test (or `nox -s cases`, which points a child `nox` at another matrix and reports folder) changes
a variable and the next call sees it. Callers take what they need from the returned `Settings`
and pass it down as arguments; module constants never cache a path.

`VARIABLES` documents each variable (the README's table is checked against it by
tests/test_settings.py). The suites run inside a row's environment and read their own few
variables (`HARNESS_RPC_BOUND_S`, `HARNESS_CACHE`, the Java variables); they are listed here too so
one table names everything a user can set.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INDEX = "https://pypi.org/simple"

# name -> (default, what it does). Kept as data: the README's table and the test read it.
VARIABLES: dict[str, tuple[str, str]] = {
    "HARNESS_MATRIX": ("matrix.toml", "the matrix file"),
    "HARNESS_REPORTS": ("reports/", "where runs, summary.json and the report are written"),
    "HARNESS_KEEP_RUNS": ("90", "run folders the report keeps under $HARNESS_REPORTS/runs, newest first; 0 keeps all"),
    "HARNESS_RUN_ID": ("a UTC timestamp", "names the run the matrix sessions write (several machines, one run)"),
    "HARNESS_SUITES": ("suites/", "where the suites and their registries (`*/features.toml`) live"),
    "HARNESS_CALIBRATION": ("$HARNESS_REPORTS/calibration", "calibration files: written by calibrate, read by report"),
    "HARNESS_RESOLVE_CACHE": ("$XDG_CACHE_HOME/torch-harness/resolve-cache.json", "the installability map's cache"),
    "HARNESS_CACHE": ("$XDG_CACHE_HOME/harness", "built JNI bindings and other per-torch caches (suites)"),
    "XDG_CACHE_HOME": ("~/.cache", "the base of the caches above"),
    "UV_DEFAULT_INDEX": (DEFAULT_INDEX, "the package index (uv's own setting; release lists read it too)"),
    "UV_INDEX_URL": (DEFAULT_INDEX, "uv's older name for the index, read when UV_DEFAULT_INDEX is unset"),
    "HARNESS_RPC_BOUND_S": ("120", "bound on one RPC check, s (suites)"),
    "HARNESS_RPC_INJECT_HANG": ("unset", "=1 makes an RPC worker hang, for the harness's own tests (suites)"),
    "HARNESS_PYTORCH_JAVA_JAR": ("unset", "prebuilt PyTorch Java jars, instead of building the JNI (suites)"),
    "HARNESS_PYTORCH_JNI_LIB": ("unset", "the prebuilt libpytorch_jni.so that goes with them (suites)"),
    "PYTEST_XDIST_WORKER": ("unset", "set by pytest-xdist in its workers; the plugin arms each worker"),
    "GITHUB_OUTPUT": ("unset", "set by GitHub Actions: `python -m harness plan` writes the step's outputs there"),
}


@dataclass(frozen=True)
class Settings:
    """What the environment says, resolved once per call of `current()`.

    Paths are absolute or relative to the working directory, as the user gave them."""
    matrix: Path
    reports: Path
    run_id: str | None          # None: each invocation makes a new one
    suites: Path
    calibration: Path
    resolve_cache: Path
    cache: Path
    index: str                  # no trailing slash
    xdist_worker: str | None    # "gw0" inside a pytest-xdist worker
    github_output: Path | None  # the step-output file under GitHub Actions
    keep_runs: str = "90"       # as given; retention.keep_count checks it (the report's --keep-runs default)

    @property
    def runs(self) -> Path:
        return self.reports / "runs"


def current(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings as the environment (`os.environ` unless given) says now."""
    env = os.environ if environ is None else environ
    reports = Path(env.get("HARNESS_REPORTS") or ROOT / "reports")
    xdg = Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return Settings(
        matrix=Path(env.get("HARNESS_MATRIX") or "matrix.toml"),  # relative: messages name it as the user does
        reports=reports,
        run_id=env.get("HARNESS_RUN_ID") or None,
        suites=Path(env.get("HARNESS_SUITES") or ROOT / "suites"),
        calibration=Path(env.get("HARNESS_CALIBRATION") or reports / "calibration"),
        resolve_cache=Path(env.get("HARNESS_RESOLVE_CACHE") or xdg / "torch-harness" / "resolve-cache.json"),
        cache=Path(env.get("HARNESS_CACHE") or xdg / "harness"),
        index=(env.get("UV_DEFAULT_INDEX") or env.get("UV_INDEX_URL") or DEFAULT_INDEX).rstrip("/"),
        xdist_worker=env.get("PYTEST_XDIST_WORKER") or None,
        github_output=Path(env["GITHUB_OUTPUT"]) if env.get("GITHUB_OUTPUT") else None,
        keep_runs=env.get("HARNESS_KEEP_RUNS") or VARIABLES["HARNESS_KEEP_RUNS"][0],
    )


def child_env(extra: Mapping[str, str] | None = None, *, drop_prefix: str | None = None) -> dict[str, str]:
    """The environment for a child process: ours, the repository first on PYTHONPATH (so the child
    imports this harness), then `extra`; variables starting with `drop_prefix` are left out."""
    env = {k: v for k, v in os.environ.items() if not (drop_prefix and k.startswith(drop_prefix))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env.update(extra or {})
    return env


def search_path() -> list[str]:
    """The folders of PATH, in order (where interpreters and tools are looked up)."""
    return os.environ.get("PATH", "").split(os.pathsep)
