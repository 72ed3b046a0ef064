"""Retention: the report keeps the newest N run folders under reports/runs and removes older ones.

N comes from `python -m harness report --keep-runs N`, whose default is HARNESS_KEEP_RUNS
(settings; 90, as many nights as the published site keeps, harness/commands/publish.py). 0 keeps every run.
Only folders that are runs (they hold run.json or summary.json) are counted or removed; the run
just reported is never removed, even when it is older than the newest N.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from harness.summary import RUN_META


def keep_count(value: str) -> int:
    """argparse type of --keep-runs (and its default, HARNESS_KEEP_RUNS): a whole number >= 0.

    Raises argparse.ArgumentTypeError naming both places the number can come from."""
    try:
        number = int(str(value).strip())
    except ValueError:
        number = -1
    if number < 0:
        raise argparse.ArgumentTypeError(
            f"--keep-runs / HARNESS_KEEP_RUNS must be a whole number of runs >= 0 (0 keeps all), not {value!r}")
    return number


def runs(runs_dir: Path) -> list[Path]:
    """The run folders under `runs_dir`, oldest first (run ids are UTC timestamps, so by name)."""
    if not runs_dir.is_dir():
        return []
    return sorted((p for p in runs_dir.iterdir()
                   if p.is_dir() and ((p / RUN_META).exists() or (p / "summary.json").exists())),
                  key=lambda p: p.name)


@dataclass
class Pruned:
    removed: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)   # "<folder>: <why it could not be removed>"


def prune(runs_dir: Path, keep: int, protect: Path | None = None) -> Pruned:
    """Remove the run folders older than the newest `keep` ones (none when keep is 0), never
    `protect`. A folder that cannot be removed is named in `problems` (and left partly removed:
    the next report tries again); the others are still removed."""
    result = Pruned()
    if keep <= 0:
        return result
    folders = runs(runs_dir)
    kept = {p.resolve() for p in folders[-keep:]}
    if protect is not None:
        kept.add(protect.resolve())
    for old in folders:
        if old.resolve() in kept:
            continue
        try:
            shutil.rmtree(old)
        except OSError as exc:
            result.problems.append(f"{old}: {exc.strerror or exc}")
        else:
            result.removed.append(old)
    return result


def prune_and_tell(runs_dir: Path, keep: int, protect: Path | None = None) -> Pruned:
    """prune(), then one line on stdout for what went and one warning on stderr per folder left."""
    pruned = prune(runs_dir, keep, protect)
    if pruned.removed:
        print(f"retention: removed {len(pruned.removed)} run folder(s) older than the newest {keep} "
              f"({pruned.removed[0].name} .. {pruned.removed[-1].name})")
    for problem in pruned.problems:
        print(f"warning: retention: {problem} (left as it is; the next report tries again)", file=sys.stderr)
    return pruned
