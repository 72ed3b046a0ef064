"""pytest-benchmark's JSON files read into one record per benchmark: the rounds of one clock.

A record's rounds are pytest-benchmark's own (`stats.data`, saved by --benchmark-json) unless the
test kept externally timed rounds in `extra_info` (`rounds_s`, or `cuda_event_rounds` from CUDA
events, which win): the nightly (harness/perf.py) and the bisect (harness/bisection) read rounds
here, so both compare the same clock.
"""
from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import TypeGuard

from harness import stats


class BenchmarkFileWarning(UserWarning):
    pass


# ---- loading -----------------------------------------------------------------------------------

class BenchmarkData(dict):
    """{benchmark name: record}, with the problems met while reading on `.warnings`."""

    warnings: list[str] = []


def read_benchmarks(path: str | Path) -> tuple[dict[str, dict], list[str]]:
    """pytest-benchmark's JSON into {name: {group, unit, rounds, median, ...}}, and warnings.

    A missing or corrupt file gives {} and a warning; a malformed entry is left out with one."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, [f"{path}: no benchmark file (did the row's pytest run with --benchmark-json?)"]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return {}, [f"{path}: unreadable benchmark file, left as it is ({exc})"]
    entries = data.get("benchmarks") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return {}, [f"{path}: no 'benchmarks' list in the file, left as it is"]
    out: dict[str, dict] = {}
    problems: list[str] = []
    for entry in entries:
        try:
            name, record = _record(entry)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            label = entry.get("fullname", "?") if isinstance(entry, dict) else "?"
            problems.append(f"{path}: benchmark {label} left out: {exc}")
            continue
        if name in out:
            name = record["fullname"] or name
        out[name] = record
    return out, problems


def load_benchmarks(path: str | Path) -> dict[str, dict]:
    """read_benchmarks as a dict; its warnings are on `.warnings` and issued as warnings too."""
    records, problems = read_benchmarks(path)
    result = BenchmarkData(records)
    result.warnings = problems
    for problem in problems:
        warnings.warn(problem, BenchmarkFileWarning, stacklevel=2)
    return result


def _record(entry: dict) -> tuple[str, dict]:
    name = entry["name"]
    extra = entry.get("extra_info") or {}
    clock = str((entry.get("options") or {}).get("timer", "perf_counter"))
    rounds = entry["stats"].get("data")
    for key in ("rounds_s", "cuda_event_rounds"):  # externally timed rounds, when a test kept them
        if isinstance(extra.get(key), list) and extra[key]:
            rounds, clock = extra[key], str(extra.get("timer", key))
    if not isinstance(rounds, list) or not rounds:
        raise ValueError("no raw rounds (run pytest with --benchmark-json, which keeps them)")
    rounds = [float(r) for r in rounds]
    if not all(math.isfinite(r) and r > 0 for r in rounds):
        raise ValueError("rounds must be positive, finite durations")
    return name, {
        "group": entry.get("group") or "",
        "fullname": entry.get("fullname", ""),
        "unit": "s",
        "clock": clock.rsplit(".", 1)[-1],
        "rounds": rounds,
        "median": stats.median(rounds),
        "min": min(rounds),
        "mean": sum(rounds) / len(rounds),
        "iqr": stats.quantile(rounds, 0.75) - stats.quantile(rounds, 0.25),
        "extra_info": extra,
    }


def usable_rounds(rounds: object) -> TypeGuard[list[float]]:
    """Whether `rounds` (a record's "rounds", durations in seconds) is a non-empty list of positive
    finite numbers: what perf compares, the history index keeps and the trend table draws.

    Checked without a loop in Python (the report reads every round of every night): the smallest
    above 0, the exact sum (math.fsum) finite; False for anything else, including a sum that
    overflows a float."""
    if not isinstance(rounds, list) or not rounds:
        return False
    try:
        return min(rounds) > 0 and math.isfinite(math.fsum(rounds))
    except (TypeError, OverflowError):
        return False
