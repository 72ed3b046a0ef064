"""A compact copy of what the report reads of each earlier run, so a year of nights renders fast.

Beside each run's summary.json (about 1 MB with 5 rows x 40 benchmarks: rounds and measured errors),
`write` keeps two small files that hold only what the report's readers use of an earlier run:

    <run>/history.json   run id and start; per row: name, installed versions, each feature's status,
                         a short hash of each measured comparison (harness.drift), and per benchmark
                         its clock and compared statistic (stats.process_stat of its rounds, s)  ~35 kB
    <run>/rounds.json    per row, each benchmark's rounds (seconds) and extra_info            ~0.6 MB

`load` gives the earlier runs as *slim summaries* that harness.perf.analyse, harness.perf_table.year_series
and harness.repro.last_good read unchanged: `rows` of {name, installed, features: {id: {status}},
benchmarks: {name: {clock, rounds[, extra_info]}}}. Only the newest FULL_ROUNDS runs carry their rounds;
an older run's record holds one round, its compared statistic, which is all those readers use of it
(change points, noise and trend values read only the statistic; the baseline of a comparison is at
most perf.HISTORY_WINDOW runs, and the check that the previous night regressed one more). So the
report reads 365 files of 35 kB and 21 of 0.6 MB instead of 365 of 1 MB; drift reads the whole
summaries of only the runs that hold the last measurements of each comparison (drift.runs_needed).

A compact file is used only when it is of this version, made with this statistic (a fingerprint of
harness/stats.py and the summary version) and from a summary.json of the same size; otherwise (missing,
stale, damaged) the run's summary.json is read and the compact files are written again, and one warning
says how many runs were rebuilt. A summary.json edited by hand to the same byte count is not noticed:
delete its history.json.
"""
from __future__ import annotations

import functools
import hashlib
import json
import sys
from pathlib import Path

from harness import drift, fsio, perf, stats
from harness.benchfile import usable_rounds
from harness.runs import read_earlier, warn
from harness.summary_model import SUMMARY_VERSION

INDEX, ROUNDS = "history.json", "rounds.json"
VERSION = 2   # 2: extra_info moved to rounds.json
FULL_ROUNDS = perf.HISTORY_WINDOW + 1   # the baseline window and the previous night before it


@functools.cache
def fingerprint() -> str:
    """What a compact file's values depend on: this format, the summary version and harness/stats.py."""
    source = Path(stats.__file__).read_bytes()
    return hashlib.sha256(f"{VERSION}/{SUMMARY_VERSION}/".encode() + source).hexdigest()[:16]


def compact(summary: dict) -> tuple[dict, dict]:
    """(history.json, rounds.json) of one summary (without their stamps); unusable records are left out,
    as every reader leaves them out."""
    rows, rounds = [], {}
    for row in summary.get("rows", []):
        if not isinstance(row, dict) or not row.get("name"):
            continue
        name = str(row["name"])
        records: dict = row["benchmarks"] if isinstance(row.get("benchmarks"), dict) else {}
        benchmarks, full = {}, {}
        for bench, record in records.items():
            if isinstance(record, dict) and usable_rounds(record.get("rounds")):
                benchmarks[bench] = {"clock": record.get("clock"), "value": stats.process_stat(record["rounds"])}
                full[bench] = {"rounds": record["rounds"], "extra_info": record.get("extra_info")}
        features: dict = row["features"] if isinstance(row.get("features"), dict) else {}
        rows.append({"name": name, "installed": row.get("installed") or {},
                     "statuses": {fid: cell.get("status") for fid, cell in features.items() if isinstance(cell, dict)},
                     "measured": " ".join(sorted({drift.comparison_hash(fid, entry) for fid, cell in features.items()
                                                  if isinstance(cell, dict) for entry in cell.get("measured") or []
                                                  if drift.parses(entry)})),
                     "benchmarks": benchmarks})
        rounds[name] = full
    head = {"run_id": str(summary.get("run_id", "")), "started": summary.get("started")}
    return {**head, "rows": rows}, {**head, "rows": rounds}


def _stamp(summary_path: Path) -> dict:
    return {"version": VERSION, "fingerprint": fingerprint(), "summary_bytes": summary_path.stat().st_size}


def write(run_dir: Path, summary: dict) -> None:
    """The run's compact files, from `summary` as written to run_dir/summary.json (call after writing it)."""
    stamp = _stamp(Path(run_dir) / "summary.json")
    index, rounds = compact(summary)
    for name, data in ((ROUNDS, rounds), (INDEX, index)):  # the index last: it vouches for both
        fsio.write_text(Path(run_dir) / name, json.dumps({**stamp, **data}, separators=(",", ":")))


def _read(path: Path, stamp: dict) -> dict | None:
    """A compact file if it is there, readable and made from this summary with this statistic."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(data, dict) or any(data.get(k) != v for k, v in stamp.items()):
        return None
    return data if isinstance(data.get("rows"), (list, dict)) else None


@functools.cache
def _status(status) -> dict:
    """One shared {"status": s} per status: a year of cells costs a few objects (readers only read them)."""
    return {"status": status}


@functools.lru_cache(maxsize=1024)
def _shared(items: tuple) -> dict:
    """One dict for equal contents (a row's installed versions change seldom night to night); shared, so
    readers only read it."""
    return dict(items)


@functools.lru_cache(maxsize=1024)
def _cells(statuses: tuple) -> dict:
    """A row's cells {feature: {"status": s}} from its (feature, status) pairs; shared like _shared."""
    return {fid: _status(status) for fid, status in statuses}


def _frozen(mapping: dict) -> tuple | None:
    try:
        items = tuple(mapping.items())
        hash(items)
        return items
    except TypeError:  # an unhashable value (hand-edited): not shared
        return None


def slim(index: dict, rounds: dict | None) -> dict:
    """A slim summary from a run's compact files: `rounds` (rounds.json) gives records their rounds and
    extra_info; without it each record has one round, its compared statistic."""
    rows = []
    for row in index["rows"]:
        full = rounds["rows"].get(row["name"], {}) if rounds else {}
        benchmarks = {}
        for bench, rec in row["benchmarks"].items():
            kept = full.get(bench)
            clock = rec.get("clock")
            clock = sys.intern(clock) if isinstance(clock, str) else clock  # one string for a year of records
            benchmarks[bench] = ({"clock": clock, **kept} if kept is not None
                                 else {"clock": clock, "rounds": [rec["value"]]})
        installed = row.get("installed") or {}
        statuses = row.get("statuses", {})
        rows.append({"name": row["name"],
                     "installed": _shared(key) if (key := _frozen(installed)) is not None else installed,
                     "features": _cells(key) if (key := _frozen(statuses)) is not None
                     else {fid: _status(s) for fid, s in statuses.items()},
                     "benchmarks": benchmarks, "measured_hashes": row.get("measured", "")})
    return {"run_id": index["run_id"], "started": index.get("started"), "rows": rows}


def condense(history: list[dict]) -> None:
    """Once perf.analyse has read the rounds and drift.runs_needed the measured hashes: each record of
    `history` (slim summaries, in place) keeps one round, its compared statistic, all that the trend
    charts (perf_table.year_series) read, and the rows drop `measured_hashes`; this frees the rounds of
    the newest runs before the page is rendered."""
    for run in history:
        for row in run["rows"]:
            row.pop("measured_hashes", None)
            for record in row["benchmarks"].values():
                if len(record["rounds"]) > 1:
                    record["rounds"] = [stats.process_stat(record["rounds"])]


def load(runs_dir: Path, before: str | None = None, warnings: list[str] | None = None,
         full_rounds: int = FULL_ROUNDS) -> list[dict]:
    """Earlier runs (run ids before `before`) as slim summaries, oldest first; the newest `full_rounds`
    with their rounds. A run whose compact files are missing, stale or damaged is read from its
    summary.json and its compact files written again (one warning for all of them, on `warnings`);
    an unreadable summary.json is reported as harness.runs.load_history reports it and left out."""
    paths = [p for p in sorted(Path(runs_dir).glob("*/summary.json")) if not before or p.parent.name < before]
    history, rebuilt, unwritable = [], [], []
    for i, path in enumerate(paths):
        want_rounds = i >= len(paths) - full_rounds
        try:
            stamp = _stamp(path)
        except OSError:
            continue
        index = _read(path.parent / INDEX, stamp)
        rounds = _read(path.parent / ROUNDS, stamp) if want_rounds and index is not None else None
        entry = None
        if index is not None and (rounds is not None or not want_rounds):
            try:
                entry = slim(index, rounds if want_rounds else None)
            except (KeyError, TypeError, AttributeError, ValueError):
                entry = None  # the right stamp on the wrong content: damaged
        if entry is None:
            summary = read_earlier(path, warnings)
            if summary is None:
                continue
            index, rounds = compact(summary)
            rebuilt.append(path.parent.name)
            try:
                write(path.parent, summary)
            except OSError as exc:
                unwritable.append(f"{path.parent.name} ({exc.strerror or exc})")
            entry = slim(index, rounds if want_rounds else None)
        history.append(entry)
    if rebuilt:
        warn(f"history index: {len(rebuilt)} of {len(paths)} earlier run(s) had no current compact copy "
              f"({INDEX}/{ROUNDS}; first {rebuilt[0]}); read from their summary.json"
              + (f"; could not write it again for {', '.join(unwritable[:3])}" if unwritable else " and written again"),
              warnings)
    return history


def load_full(runs_dir: Path, run_ids: list[str], warnings: list[str] | None = None) -> list[dict]:
    """Whole summaries of `run_ids` (migrated), oldest first, for readers that need more than the compact
    files hold (drift: the measured errors of the runs harness.drift.runs_needed names)."""
    read = (read_earlier(Path(runs_dir) / rid / "summary.json", warnings) for rid in sorted(run_ids))
    return [summary for summary in read if summary is not None]
