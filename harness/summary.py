"""A run's summary.json: rows folded from their artefacts, expectations applied, and the verdict."""
from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from harness import collect, external, fsio, settings
from harness.expectations import Known, apply, explain
from harness.perf import load_benchmarks
from harness.registry import Feature
from harness.status import BROKEN, Outcome, Status

RUN_META = "run.json"


def new_run_id(now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.timezone.utc)
    return now.strftime("%Y%m%dT%H%M%SZ")


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def runs_dir(reports: Path | None = None) -> Path:
    """The run folders' parent: `reports`/runs, `reports` defaulting to the settings' (HARNESS_REPORTS)."""
    return (reports or settings.current().reports) / "runs"


def start_run(run_dir: Path, meta: dict) -> None:
    """Record the run's identity once; later rows of the same run leave it as it is."""
    if not (run_dir / RUN_META).exists():
        fsio.write_json(run_dir / RUN_META, meta)


def _read(path: Path, default, damaged: list[str] | None = None):
    """A JSON file, or `default`; a file that is there but unreadable is noted in `damaged`."""
    try:
        return fsio.read_json(path)
    except FileNotFoundError:
        return default
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        if damaged is not None:
            damaged.append(f"{path.name} is damaged ({exc.__class__.__name__}: {exc})")
        return default


def read_exit(row_dir: Path) -> dict:
    """A row's pytest.json ({} when there is none or it is damaged)."""
    return _read(Path(row_dir) / collect.PYTEST_EXIT, {})


def build_row(row_dir: Path, registry: dict[str, Feature], known: list[Known]) -> dict:
    """One row of summary.json from the files its session left in `row_dir`."""
    damaged: list[str] = []
    install = _read(row_dir / collect.INSTALL, {"status": "install-failed",
                                                "message": "no install record (session did not run)"}, damaged)
    env = _read(row_dir / "env.json", {}, damaged)
    installed = env.get("installed", {})
    exit_info = _read(row_dir / collect.PYTEST_EXIT, {}, damaged)
    records = collect.read_records(row_dir / collect.RESULTS) + external.records(row_dir)  # ext/<name>/ node ids
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
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the problems travel on .warnings, into the report
            row["benchmarks"] = load_benchmarks(bench)
        damaged += [w.replace(str(bench), bench.name) for w in row["benchmarks"].warnings]
    if damaged:
        row["damaged"] = damaged
    return row


def keep_intact(summary: dict, previous: dict | None) -> list[str]:
    """A row whose artefacts are damaged now keeps what the run's intact earlier summary held for it,
    so a report never rewrites a summary with less data. Returns the warnings, for stderr and the report."""
    warnings = []
    before = {row.get("name"): row for row in (previous or {}).get("rows", []) if isinstance(row, dict)}
    for i, row in enumerate(summary["rows"]):
        if not row.get("damaged"):
            continue
        what = "; ".join(row["damaged"])
        if row["name"] in before:
            summary["rows"][i] = {**before[row["name"]], "damaged": row["damaged"]}
            warnings.append(f"row {row['name']}: {what}; kept the row as this run's earlier summary.json held it")
        else:
            warnings.append(f"row {row['name']}: {what}")
    return warnings


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
    registry = {**registry, **external.collected_features(run_dir)}  # ext.* features: what their rows collected
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


def write_summary(run_dir: Path, summary: dict, reports: Path | None = None, newest: bool = True) -> None:
    """The run's own summary, then (for the newest run only) the newest-run copy; both atomic."""
    fsio.write_json(run_dir / "summary.json", summary)
    if newest:
        fsio.write_json((reports or settings.current().reports) / "summary.json", summary)


def read_intact(path: Path) -> dict | None:
    """A summary.json that is there and readable, else None."""
    data = _read(path, None)
    return data if isinstance(data, dict) else None


def load_history(reports: Path | None = None, before: str | None = None,
                 warnings: list[str] | None = None) -> list[dict]:
    """Earlier runs' summaries, oldest first; a damaged one is reported (on stderr, and in `warnings`
    for the report) and left alone."""
    history = []
    for path in sorted(runs_dir(reports).glob("*/summary.json")):
        if before and path.parent.name >= before:
            continue
        try:
            history.append(fsio.read_json(path))
        except (OSError, json.JSONDecodeError) as exc:
            message = f"history file {path} is unreadable ({exc}); left as it is and ignored"
            print(f"warning: {message}", file=sys.stderr)
            if warnings is not None:
                warnings.append(message)
    return history


def latest_run(reports: Path | None = None) -> Path | None:
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
