"""A run's summary.json: rows folded from their artefacts, expectations applied, and the verdict."""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from harness import collect, fsio
from harness.expectations import Known, apply, explain
from harness.perf import load_benchmarks
from harness.registry import Feature
from harness.status import BROKEN, Outcome, Status

REPORTS = Path(os.environ.get("HARNESS_REPORTS") or Path(__file__).resolve().parent.parent / "reports")
RUN_META = "run.json"


def new_run_id(now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.timezone.utc)
    return now.strftime("%Y%m%dT%H%M%SZ")


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def runs_dir(reports: Path = REPORTS) -> Path:
    return reports / "runs"


def start_run(run_dir: Path, meta: dict) -> None:
    """Record the run's identity once; later rows of the same run leave it as it is."""
    if not (run_dir / RUN_META).exists():
        fsio.write_json(run_dir / RUN_META, meta)


def _read(path: Path, default):
    try:
        return fsio.read_json(path)
    except (OSError, json.JSONDecodeError):
        return default


def read_exit(row_dir: Path) -> dict:
    """A row's pytest.json ({} when there is none or it is damaged)."""
    return _read(Path(row_dir) / collect.PYTEST_EXIT, {})


def build_row(row_dir: Path, registry: dict[str, Feature], known: list[Known]) -> dict:
    """One row of summary.json from the files its session left in `row_dir`."""
    install = _read(row_dir / collect.INSTALL, {"status": "install-failed",
                                                "message": "no install record (session did not run)"})
    env = _read(row_dir / "env.json", {})
    installed = env.get("installed", {})
    exit_info = _read(row_dir / collect.PYTEST_EXIT, {})
    records = collect.read_records(row_dir / collect.RESULTS)
    name = row_dir.name
    if install.get("status") != "ok":
        outcomes = collect.install_failed(registry, install.get("message", ""))
    elif not exit_info and not records:
        outcomes = {fid: Outcome(Status.ERROR, "the suites did not run (see pytest.log)") for fid in registry}
    elif not exit_info:
        # run-suites was killed, yet its pytest wrote results: keep every one; the rest never reported.
        outcomes = collect.feature_outcomes(registry, records, {"returncode": None, "interrupted": True},
                                            lambda fid, o: explain(fid, o, name, installed, known))
    else:
        outcomes = collect.feature_outcomes(registry, records, exit_info,
                                            lambda fid, o: explain(fid, o, name, installed, known))
    outcomes = apply(outcomes, name, installed, known)
    row = {
        "name": name,
        "pins": install.get("pins", {}),
        "installed": installed,
        "cuda_builds": env.get("cuda_builds", {}),
        "install": {"status": install.get("status"), "message": install.get("message", ""),
                    "seconds": install.get("seconds")},
        "suites": exit_info,
        "timings": collect.timings(install, exit_info, records),
        "features": _with_measurements({fid: o.to_json() for fid, o in sorted(outcomes.items())},
                                       collect.feature_measurements(records)),
        "properties": collect.user_properties(records),
        "benchmarks": {},
        "files": sorted(p.name for p in row_dir.iterdir() if p.is_file()),
    }
    bench = row_dir / collect.BENCHMARKS
    if bench.exists():
        row["benchmarks"] = load_benchmarks(bench)
    return row


def _with_measurements(features: dict[str, dict], measured: dict[str, list[dict]]) -> dict[str, dict]:
    """Each numerical feature's cell gains `measured` (worst headroom first) and `headroom` (the worst)."""
    for fid, entries in measured.items():
        if fid in features and entries:
            features[fid]["measured"] = entries
            features[fid]["headroom"] = entries[0]["headroom"]
    return features


def build_summary(run_dir: Path, registry: dict[str, Feature], known: list[Known],
                  row_order: list[str] | None = None) -> dict:
    meta = _read(run_dir / RUN_META, {})
    row_dirs = [p for p in (run_dir / "rows").iterdir() if p.is_dir()] if (run_dir / "rows").exists() else []
    order = {name: i for i, name in enumerate(row_order or meta.get("rows", []))}
    row_dirs.sort(key=lambda p: (order.get(p.name, len(order)), p.name))
    rows = [build_row(p, registry, known) for p in row_dirs]
    listed = list(meta.get("rows") or [])
    missing = [name for name in listed if name not in {p.name for p in row_dirs}]
    return {
        "complete": not missing,  # every row the run listed has a result
        "missing_rows": missing,
        "run_id": meta.get("run_id", run_dir.name),
        "started": meta.get("started"),
        "finished": now(),
        "matrix": meta.get("matrix"),
        "depth": meta.get("depth", "quick"),
        "mode": meta.get("mode", "matrix"),
        "features": {fid: {"description": f.description, "area": f.area}
                     for fid, f in sorted(registry.items())
                     if any(fid in row["features"] for row in rows)},
        "rows": rows,
    }


@dataclass(frozen=True)
class Verdict:
    """Exit 1 for a change against expectations; `problems` say which cell and why."""

    exit_code: int
    problems: tuple[str, ...]


def verdict(summary: dict, regressions: list[str] = ()) -> Verdict:
    problems = []
    here = summary.get("mode") == "here"
    for row in summary["rows"]:
        for fid, cell in row["features"].items():
            status = Status(cell["status"])
            if status in BROKEN or (status == Status.SKIPPED and not here):
                problems.append(f"{row['name']}: {fid}: {status.value}: {cell['message']}")
    problems.extend(regressions)
    if summary.get("missing_rows"):
        problems.insert(0, f"incomplete run: {len(summary['missing_rows'])} row(s) it listed have no result: "
                           f"{', '.join(summary['missing_rows'])}")
    return Verdict(1 if problems else 0, tuple(problems))


def write_summary(run_dir: Path, summary: dict, reports: Path = REPORTS) -> None:
    """The run's own summary, then the newest-run copy; both atomic."""
    fsio.write_json(run_dir / "summary.json", summary)
    fsio.write_json(reports / "summary.json", summary)


def load_history(reports: Path = REPORTS, before: str | None = None) -> list[dict]:
    """Earlier runs' summaries, oldest first; a damaged one is reported and left alone."""
    history = []
    for path in sorted(runs_dir(reports).glob("*/summary.json")):
        if before and path.parent.name >= before:
            continue
        try:
            history.append(fsio.read_json(path))
        except (OSError, json.JSONDecodeError) as exc:
            print(f"warning: history file {path} is unreadable ({exc}); left as it is and ignored",
                  file=sys.stderr)
    return history


def latest_run(reports: Path = REPORTS) -> Path | None:
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
