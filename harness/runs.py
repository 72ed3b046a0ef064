"""The run folders under the reports folder, and reading and writing their files.

    <reports>/runs/<run-id>/run.json              the run's identity (start_run)
    <reports>/runs/<run-id>/rows/<row>/...        each row's artefacts (harness.artefacts)
    <reports>/runs/<run-id>/summary.json          the run's summary (harness.summary_model)
    <reports>/runs/<run-id>/history.json, rounds.json   what later reports read of it (harness.history_index)
    <reports>/summary.json                        a copy of the newest run's

Every summary read here goes through harness.summary_model.migrate, so older runs read as the current version.
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from collections.abc import Iterable
from typing import Any

from harness import fsio, settings
from harness.artefacts import ArtefactError, PytestExit
from harness.collect import PYTEST_EXIT
from harness.summary_model import migrate

RUN_META = "run.json"


def runs_dir(reports: Path | None = None) -> Path:
    """The run folders' parent: `reports`/runs, `reports` defaulting to the settings' (HARNESS_REPORTS)."""
    return (reports or settings.current().reports) / "runs"


def start_run(run_dir: Path, meta: dict) -> None:
    """Record the run's identity once; later rows of the same run leave it as it is."""
    if not (run_dir / RUN_META).exists():
        fsio.write_json(run_dir / RUN_META, meta)


def read_json(path: Path, default: Any, damaged: list[str] | None = None) -> Any:
    """A JSON file, or `default` when it is not there; one that is there but unreadable is noted in `damaged`
    ("<name> is damaged (<error>)") and read as `default`."""
    try:
        return fsio.read_json(path)
    except FileNotFoundError:
        return default
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        if damaged is not None:
            damaged.append(f"{path.name} is damaged ({exc.__class__.__name__}: {exc})")
        return default


def read_exit(row_dir: Path, damaged: list[str] | None = None) -> dict:
    """A row's pytest.json as the current schema's dict (artefacts.PytestExit), {} when there is none or it
    is damaged (noted in `damaged`)."""
    data = read_json(Path(row_dir) / PYTEST_EXIT, None, damaged)
    if data is None:
        return {}
    try:
        return PytestExit.from_json(data, PYTEST_EXIT).to_json()
    except ArtefactError as exc:
        if damaged is not None:
            damaged.append(f"{PYTEST_EXIT} is damaged ({exc})")
        return {}


def write_summary(run_dir: Path, summary: dict, reports: Path | None = None, newest: bool = True) -> None:
    """The run's own summary and its compact copy for later reports (harness.history_index), then (for
    the newest run only) the newest-run copy; each file atomic."""
    from harness import history_index

    fsio.write_json(run_dir / "summary.json", summary)
    history_index.write(run_dir, summary)
    if newest:
        fsio.write_json((reports or settings.current().reports) / "summary.json", summary)


def read_intact(path: Path) -> dict | None:
    """A summary.json that is there, readable and of a version this harness reads, as the current version's
    dict; else None."""
    data = read_json(path, None)
    try:
        return migrate(data, str(path)) if isinstance(data, dict) else None
    except ArtefactError:
        return None


def load_history(reports: Path | None = None, before: str | None = None,
                 warnings: list[str] | None = None) -> list[dict]:
    """Earlier runs' summaries (run ids before `before`), oldest first, each migrated to the current version;
    a damaged one, or one of a newer version, is reported (on stderr, and in `warnings` for the report) and
    left alone."""
    runs = runs_dir(reports)
    read = (read_earlier(path, warnings) for path in sorted(runs.glob("*/summary.json"))
            if not before or path.parent.name < before)
    return [summary for summary in read if summary is not None]


def read_earlier(path: Path, warnings: list[str] | None = None) -> dict | None:
    """An earlier run's summary.json (<reports>/runs/<id>/summary.json) migrated to the current version;
    None when it is unreadable or of a newer version, said once (warn) and naming the file relative to
    the reports folder, since the warnings are published."""
    name = fsio.shown(path, path.parent.parent.parent)
    try:
        return migrate(fsio.read_json(path), name)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, ArtefactError) as exc:
        warn(f"history file {name} is unreadable ({fsio.reason(exc)}); left as it is and ignored", warnings)
        return None


def warn(message: str, warnings: list[str] | None) -> None:
    """A warning on stderr, and in `warnings` (the report's list) when given."""
    print(f"warning: {message}", file=sys.stderr)
    if warnings is not None:
        warnings.append(message)


def latest_run(reports: Path | None = None) -> Path | None:
    """The newest run folder (by run id) that has a run.json, or None."""
    runs = sorted(p for p in runs_dir(reports).glob("*") if p.is_dir() and (p / RUN_META).exists())
    return runs[-1] if runs else None


def copy_row(src: Path, run_dir: Path) -> None:
    """Merge one row's folder (e.g. from a CI runner's artefact) into a run."""
    dest = run_dir / "rows" / src.name
    if dest.resolve() == src.resolve():
        return
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(src, dest)


def copy_rows(run_dir: Path, dirs: Iterable[Path]) -> list[str]:
    """Copy every row folder (a folder holding install.json) found under `dirs` into `run_dir`/rows/.

    A row stored under another run's folder (`.../runs/<other>/rows/<row>/`) is left out, and so is
    a folder inside a row (an external project's `<row>/external/<name>/install.json`): it travels
    with its row. Returns the names of the rows copied, in the order found."""
    copied = []
    for folder in dirs:
        found = sorted(install.parent for install in Path(folder).glob("**/install.json"))
        rows = set(found)
        for row in found:
            if any(parent in rows for parent in row.parents):
                continue  # part of a row found above it
            parts = row.parts
            if len(parts) >= 4 and parts[-4] == "runs" and parts[-3] != run_dir.name:
                continue  # another run's row, stored beside this one
            copy_row(row, run_dir)
            copied.append(row.name)
    return copied
