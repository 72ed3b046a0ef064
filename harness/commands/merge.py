"""`python -m harness merge --run-id ID DIR...`: the rows several machines ran, as one run.

Each DIR holds, at any depth, the `run.json` and `rows/<row>/` folders of the machines that ran
some of the rows (the row jobs' artefacts). This writes the run's own record once,
reports/runs/ID/run.json (the earliest start, the matrix's row order, the depth), and copies the
row folders in; `python -m harness report --run ID` then renders them (ci/report.sh does both).
Exit 2 when no DIR holds a record of that run.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from harness import fsio, settings, summary
from harness.commands import CommandError


@dataclass(frozen=True)
class Merged:
    run_dir: Path            # reports/runs/<run id>
    meta: dict               # the run record written there (run.json)
    rows: tuple[str, ...]    # the row folders copied in, sorted by name


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def gather_meta(run_id: str, dirs: Iterable[Path], warn: Callable[[str], None] = _warn) -> dict | None:
    """One run record from the machines' `run.json` files of `run_id` under `dirs`; None when there is none.

    The earliest `started` wins; `rows` is the union in the order the records list them. A record of
    another run, an unreadable one, or machines disagreeing on depth/matrix/mode is passed to `warn`."""
    metas = []
    for folder in dirs:
        for path in sorted(Path(folder).glob("**/" + summary.RUN_META)):
            try:
                meta = fsio.read_json(path)
            except (OSError, json.JSONDecodeError) as exc:
                warn(f"{path} is unreadable ({exc}); ignored")
                continue
            if meta.get("run_id") == run_id:
                metas.append(meta)
            else:
                warn(f"{path} belongs to run {meta.get('run_id')}, not {run_id}; ignored")
    if not metas:
        return None
    merged = dict(metas[0])
    starts = [m["started"] for m in metas if m.get("started")]
    merged["started"] = min(starts) if starts else None
    rows: list[str] = []
    for meta in metas:
        rows += [r for r in meta.get("rows", []) if r not in rows]
    merged["rows"] = rows
    for key in ("depth", "matrix", "mode"):
        values = {m.get(key) for m in metas}
        if len(values) > 1:
            warn(f"the machines disagree on {key}: {sorted(map(str, values))}; the report says {merged.get(key)}")
    return merged


def copy_rows(run_dir: Path, dirs: Iterable[Path]) -> list[str]:
    """Copy every row folder (a folder holding install.json) found under `dirs` into `run_dir`/rows/.

    A row stored under another run's folder (`.../runs/<other>/rows/<row>/`) is left out. Returns the
    names of the rows copied, in the order found."""
    copied = []
    for folder in dirs:
        for install in sorted(Path(folder).glob("**/install.json")):
            parts = install.parent.parts
            if len(parts) >= 4 and parts[-4] == "runs" and parts[-3] != run_dir.name:
                continue  # another run's row, stored beside this one
            summary.copy_row(install.parent, run_dir)
            copied.append(install.parent.name)
    return copied


def run(run_id: str, dirs: list[Path], reports: Path, warn: Callable[[str], None] = _warn) -> Merged:
    """Write reports/runs/`run_id`/run.json from the machines' records and copy their rows in.

    Raises CommandError when no folder in `dirs` holds a record of `run_id`; OSError when the
    reports folder cannot be written."""
    meta = gather_meta(run_id, dirs, warn)
    if meta is None:
        raise CommandError(f"no record of run {run_id} under {', '.join(map(str, dirs))}")
    run_dir = summary.runs_dir(reports) / run_id
    fsio.write_json(run_dir / summary.RUN_META, meta)
    return Merged(run_dir, meta, tuple(sorted(set(copy_rows(run_dir, dirs)))))


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run-id", required=True)
    p.add_argument("--reports", type=Path, default=None, help="default: $HARNESS_REPORTS or reports/")
    p.add_argument("dirs", nargs="+", type=Path, help="folders holding the machines' run.json and row folders")


def main(args: argparse.Namespace) -> int:
    merged = run(args.run_id, args.dirs, args.reports or settings.current().reports)
    print(f"run {args.run_id}: {len(merged.rows)} row folders gathered ({', '.join(merged.rows)})")
    return 0
