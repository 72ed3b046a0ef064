"""Atomic file writes: a run killed halfway never leaves a corrupt summary or history."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

MODE = 0o644  # reports are read by whoever serves them


def write_text(path: Path | str, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, MODE)  # mkstemp's 0600 would keep a web server running as another user out
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path | str, data) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def read_json(path: Path | str):
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def shown(path: Path | str, reports: Path | str) -> str:
    """How a published message (summary["warnings"]) names `path`: relative to the reports folder
    (`runs/<id>/summary.json`) when it lies under `reports`, else its bare file name; never a
    machine's absolute path."""
    try:
        return Path(path).resolve().relative_to(Path(reports).resolve()).as_posix()
    except ValueError:
        return Path(path).name


def reason(exc: BaseException) -> str:
    """An exception's message without the absolute file name an OSError carries."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)
