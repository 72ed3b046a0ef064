"""Every call of uv (https://docs.astral.sh/uv/): resolve to a lock, make a venv, sync it, ask.

One runner (`run`, through harness/isolate.py), one cleaner of uv's messages (`clean_message`)
and one parser of a lock (`parse_lock`) for install.py, harness/bisection and harness/resolve.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name

from harness import fsio, isolate

TIMEOUT = 1800  # seconds; a cold CUDA torch download is several GB
DECORATIONS = "×╰─▶ "  # uv's tree of causes in front of a line
CHATTER = ("Resolved", "Using", "warning:")  # progress lines, not part of an explanation


def binary() -> str:
    """The uv on PATH, else the one the PyPI `uv` package ships."""
    found = shutil.which("uv")
    if found:
        return found
    from uv import find_uv_bin  # the PyPI 'uv' package ships the binary

    return find_uv_bin()


def run(args: list[str], timeout: float | None = None, input: str | None = None) -> isolate.Completed:
    """`uv ARGS` through isolate.run, bounded by `timeout` seconds (default TIMEOUT); a timeout is
    status 124 and a crash status 1, with the reason on stderr, so callers read one shape."""
    timeout = TIMEOUT if timeout is None else timeout
    try:
        return isolate.run([binary(), *args], timeout, input=input)
    except isolate.CheckTimeout:
        return isolate.Completed(124, "", f"uv {' '.join(args[:2])} exceeded {timeout:g} s")
    except isolate.CheckCrashed as exc:
        return isolate.Completed(1, "", str(exc))
    except OSError as exc:  # uv itself could not be started
        return isolate.Completed(127, "", f"uv: {exc}")


def clean_message(stderr: str, max_lines: int = 40) -> str:
    """uv's explanation on one line: its tree decorations, `error:`/`cause:`/`hint:` prefixes and
    progress chatter removed, the last `max_lines` lines kept."""
    lines = []
    for line in stderr.splitlines():
        line = line.strip().lstrip(DECORATIONS).strip()
        for prefix in ("error:", "cause:", "hint:"):
            line = line.removeprefix(prefix).strip()
        if line and not line.startswith(CHATTER):
            lines.append(line)
    return " ".join(lines[-max_lines:])


def problem(proc: isolate.Completed) -> str:
    """A failed uv call's message: the cleaned stderr, else its exit status."""
    return clean_message(proc.stderr) or f"uv exited with status {proc.returncode}"


def parse_lock(text: str) -> dict[str, str]:
    """`name==version` lines of a `uv pip compile` output (a requirements lock), by canonical
    name: comments, options and environment markers are left out."""
    versions: dict[str, str] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line and not line.startswith("-"):
            name, _, version = line.partition("==")
            versions[canonicalize_name(name.split("[")[0].strip())] = version.split(";")[0].strip()
    return versions


@dataclass(frozen=True)
class Resolution:
    """What the resolver picked (`versions` by canonical name), or why it could not."""

    ok: bool
    versions: dict[str, str] = field(default_factory=dict)
    message: str = ""


def lock(requirements: list[str], python: str, folder: Path, *,
         includes: tuple[Path, ...] = (), lowest_direct: bool = False) -> Resolution:
    """`uv pip compile` of `requirements` (plus `-r` of each of `includes`) for the interpreter
    `python` into folder/requirements.lock, beside the folder/requirements.in it read.

    `lowest_direct`: the lowest release of each requirement that resolves (uv's
    `--resolution lowest-direct`) instead of the newest; dependencies stay newest."""
    folder.mkdir(parents=True, exist_ok=True)
    source, out = folder / "requirements.in", folder / "requirements.lock"
    fsio.write_text(source, "\n".join([*requirements, *(f"-r {p}" for p in includes)]) + "\n")
    strategy = ["--resolution", "lowest-direct"] if lowest_direct else []
    compiled = run(["pip", "compile", "--quiet", "--python", python, "--no-header", *strategy, str(source),
                    "-o", str(out)])
    if compiled.returncode != 0:
        return Resolution(False, {}, "resolution failed: " + problem(compiled))
    return Resolution(True, parse_lock(out.read_text(encoding="utf-8")))


def compile_for(requirements: list[str], python_version: str, platform: str, index: str,
                timeout: float) -> isolate.Completed:
    """`uv pip compile` from package metadata only, for a target interpreter version and
    platform (not this machine's) against `index`; the lock is on stdout."""
    return run(["pip", "compile", "--quiet", "--no-header", "--no-annotate",
                "--python-version", python_version, "--python-platform", platform,
                "--default-index", index, "-"], timeout, input="\n".join(requirements) + "\n")


def sync(python: str, lockfile: Path) -> isolate.Completed:
    """Make `python`'s environment exactly `lockfile` (`uv pip sync`)."""
    return run(["pip", "sync", "--quiet", "--python", python, str(lockfile)])


def venv(path: Path, python: str) -> isolate.Completed:
    """`uv venv` at `path` for `python` (a version such as "3.11" or an interpreter)."""
    return run(["venv", "--quiet", "--python", python, str(path)])


def version() -> str:
    """`uv --version`, or "uv" when it cannot be asked."""
    proc = run(["--version"], 30)
    return proc.stdout.strip() if proc.returncode == 0 and proc.stdout.strip() else "uv"
