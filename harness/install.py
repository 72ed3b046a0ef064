"""Install a row into its environment: resolve the pins with uv, then sync the venv to exactly that."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from harness import fsio, isolate, uv
from harness.artefacts import InstallRecord, InstallStatus
from harness.matrix import Row
from harness.uv import binary as uv_binary  # noqa: F401  (tests and sessions find uv here)

SUITE_REQUIREMENTS = Path(__file__).resolve().parent.parent / "suites" / "requirements.txt"


@dataclass(frozen=True)
class InstallResult:
    ok: bool
    message: str
    seconds: float = 0.0


def resolve(requirements: list[str], python: str, folder: Path, *,
            with_suites: bool = True, lowest_direct: bool = False) -> uv.Resolution:
    """What `uv pip compile` picks for `requirements` plus the suites' own (as a row install
    does) for the interpreter `python`, locked into folder/requirements.lock (see uv.lock)."""
    return uv.lock(requirements, python, folder, includes=(SUITE_REQUIREMENTS,) if with_suites else (),
                   lowest_direct=lowest_direct)


def install_row(row: Row, python: str, out: Path) -> InstallResult:
    """Resolve `row` plus the suites' requirements into a lock, then sync `python`'s venv to it."""
    started = time.monotonic()
    resolved = resolve(row.requirements(), python, out)
    if not resolved.ok:
        result = InstallResult(False, resolved.message, round(time.monotonic() - started, 1))
    else:
        synced = uv.sync(python, out / "requirements.lock")
        ok = synced.returncode == 0
        result = InstallResult(ok, "" if ok else "install failed: " + uv.problem(synced),
                               round(time.monotonic() - started, 1))
    fsio.write_json(out / "install.json", InstallRecord(InstallStatus.OK if result.ok else InstallStatus.FAILED,
                                                        result.message, result.seconds, row.pins,
                                                        row.requirements()).to_json())
    return result


def create_venv(venv: Path, python: str) -> isolate.Completed | None:
    """Make a uv venv at `venv` unless one is there; the failed uv call, if it failed."""
    if (venv / "bin" / "python").exists():
        return None
    made = uv.venv(venv, python)
    return made if made.returncode != 0 else None


def row_environment(row: Row, venv: Path, out: Path) -> str:
    """A uv venv at `venv` synced to `row` (for sessions that need a row outside `matrix`)."""
    python = venv / "bin" / "python"
    failed = create_venv(venv, row.python)
    if failed:
        raise RuntimeError(f"{row.name}: cannot create {venv}: {uv.problem(failed)}")
    result = install_row(row, str(python), out)
    if not result.ok:
        raise RuntimeError(f"{row.name}: {result.message}")
    return str(python)
