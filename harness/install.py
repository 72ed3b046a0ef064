"""Install a row into its environment: resolve the pins with uv, then sync the venv to exactly that."""
from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from harness import fsio, isolate
from harness.artefacts import InstallRecord, InstallStatus
from harness.matrix import Row

SUITE_REQUIREMENTS = Path(__file__).resolve().parent.parent / "suites" / "requirements.txt"
INSTALL_TIMEOUT = 1800  # a cold CUDA torch download is several GB


@dataclass(frozen=True)
class InstallResult:
    ok: bool
    message: str
    seconds: float = 0.0

    def to_json(self) -> dict:
        return {"status": "ok" if self.ok else "install-failed", "message": self.message,
                "seconds": self.seconds}


def uv_binary() -> str:
    found = shutil.which("uv")
    if found:
        return found
    from uv import find_uv_bin  # the PyPI 'uv' package ships the binary

    return find_uv_bin()


def _uv(args: list[str]) -> isolate.Completed:
    try:
        return isolate.run([uv_binary(), *args], INSTALL_TIMEOUT)
    except isolate.CheckTimeout:
        return isolate.Completed(124, "", f"uv {args[1]} exceeded {INSTALL_TIMEOUT}s")
    except isolate.CheckCrashed as exc:
        return isolate.Completed(1, "", str(exc))


def _problem(proc: isolate.Completed) -> str:
    """The resolver's own explanation, without uv's progress chatter."""
    lines = [ln.strip().removeprefix("error: ") for ln in proc.stderr.splitlines()
             if ln.strip() and not ln.startswith(("Resolved", "Using"))]
    return " ".join(lines[-40:]) or f"uv exited with status {proc.returncode}"


def install_row(row: Row, python: str, out: Path) -> InstallResult:
    """Resolve `row` plus the suites' requirements into a lock, then sync `python`'s venv to it."""
    started = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    requirements = out / "requirements.in"
    lock = out / "requirements.lock"
    fsio.write_text(requirements, "\n".join(row.requirements()) + f"\n-r {SUITE_REQUIREMENTS}\n")
    compiled = _uv(["pip", "compile", "--quiet", "--python", python, "--no-header",
                    str(requirements), "-o", str(lock)])
    if compiled.returncode != 0:
        result = InstallResult(False, "resolution failed: " + _problem(compiled),
                               round(time.monotonic() - started, 1))
    else:
        synced = _uv(["pip", "sync", "--quiet", "--python", python, str(lock)])
        ok = synced.returncode == 0
        result = InstallResult(ok, "" if ok else "install failed: " + _problem(synced),
                               round(time.monotonic() - started, 1))
    fsio.write_json(out / "install.json", InstallRecord(InstallStatus.OK if result.ok else InstallStatus.FAILED,
                                                        result.message, result.seconds, row.pins,
                                                        row.requirements()).to_json())
    return result


def create_venv(venv: Path, python: str) -> isolate.Completed | None:
    """Make a uv venv at `venv` unless one is there; the failed uv call, if it failed."""
    if (venv / "bin" / "python").exists():
        return None
    made = _uv(["venv", "--quiet", "--python", python, str(venv)])
    return made if made.returncode != 0 else None


def row_environment(row: Row, venv: Path, out: Path) -> str:
    """A uv venv at `venv` synced to `row` (for sessions that need a row outside `matrix`)."""
    python = venv / "bin" / "python"
    failed = create_venv(venv, row.python)
    if failed:
        raise RuntimeError(f"{row.name}: cannot create {venv}: {_problem(failed)}")
    result = install_row(row, str(python), out)
    if not result.ok:
        raise RuntimeError(f"{row.name}: {result.message}")
    return str(python)
