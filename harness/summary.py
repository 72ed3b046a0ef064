"""A run's summary.json: rows folded from their artefacts, expectations applied, and the verdict.

The model and its versions are harness.summary_model; the run folders, and reading and writing their
files, harness.runs (whose names this module re-exports for its callers). `now` and `new_run_id` are
the harness's one clock.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from harness import collect, external
from harness.artefacts import ArtefactError, EnvRecord, InstallRecord, InstallStatus
from harness.expectations import Known, apply, explain
from harness.perf import load_benchmarks
from harness.registry import Feature
from harness.runs import (RUN_META, latest_run, load_history, read_exit, read_intact,  # noqa: F401
                          read_json, runs_dir, start_run, write_summary)
from harness.status import BROKEN, Outcome, Status
from harness.summary_model import Row, RowInstall, Summary, Verdict


def new_run_id(now: dt.datetime | None = None) -> str:
    """A run id from the UTC time (`now`, default the current one): `20260101T000000Z`."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return now.strftime("%Y%m%dT%H%M%SZ")


def now() -> str:
    """The current UTC time, ISO 8601 to the second: `2026-01-01T00:00:00+00:00`."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


NO_INSTALL = InstallRecord(InstallStatus.FAILED, "no install record (session did not run)")


def _install(row_dir: Path, damaged: list[str]) -> InstallRecord:
    data = read_json(row_dir / collect.INSTALL, None, damaged)
    try:
        return NO_INSTALL if data is None else InstallRecord.from_json(data, collect.INSTALL)
    except ArtefactError as exc:
        damaged.append(f"{collect.INSTALL} is damaged ({exc})")
        return NO_INSTALL


def _env(row_dir: Path, damaged: list[str]) -> EnvRecord:
    data = read_json(row_dir / "env.json", None, damaged)
    try:
        return EnvRecord() if data is None else EnvRecord.from_json(data)
    except ArtefactError as exc:
        damaged.append(f"env.json is damaged ({exc})")
        return EnvRecord()


def build_row(row_dir: Path, registry: dict[str, Feature], known: list[Known]) -> dict:
    """One row of summary.json (`Row.to_json()`) from the files its session left in `row_dir`."""
    return row_model(row_dir, registry, known).to_json()


def row_model(row_dir: Path, registry: dict[str, Feature], known: list[Known]) -> Row:
    """One row of the summary from the files its session left in `row_dir`; a damaged file is named in the
    row's `damaged` and read as missing."""
    damaged: list[str] = []
    install = _install(row_dir, damaged)
    env = _env(row_dir, damaged)
    installed: dict[str, str | None] = dict(env.installed)
    exit_info = read_exit(row_dir, damaged)
    records = collect.read_records(row_dir / collect.RESULTS) + external.records(row_dir)  # ext/<name>/ node ids
    name = row_dir.name
    if install.status != InstallStatus.OK:
        outcomes = collect.install_failed(registry, install.message)
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
    row = Row(name, RowInstall(install.status, install.message, install.seconds), pins=install.pins,
              installed=env.installed, cuda_builds=env.cuda_builds, suites=exit_info,
              timings=collect.timings(install.to_json(), exit_info, records),
              features=_with_measurements({fid: o.to_json() for fid, o in sorted(outcomes.items())},
                                          collect.feature_measurements(records)),
              properties=collect.user_properties(records),
              files=sorted(p.name for p in row_dir.iterdir() if p.is_file()))
    bench = row_dir / collect.BENCHMARKS
    if bench.exists():
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the problems travel on .warnings, into the report
            row.benchmarks = load_benchmarks(bench)
        damaged += [w.replace(str(bench), bench.name) for w in getattr(row.benchmarks, "warnings", [])]
    row.damaged = damaged
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
    """The run's summary.json (the current version's dict: `Summary.to_json()`) from its row folders, rows in
    `row_order` (default: the order run.json lists them), and `finished` now."""
    meta = read_json(run_dir / RUN_META, {})
    registry = {**registry, **external.collected_features(run_dir)}  # ext.* features: what their rows collected
    row_dirs = [p for p in (run_dir / "rows").iterdir() if p.is_dir()] if (run_dir / "rows").exists() else []
    order = {name: i for i, name in enumerate(row_order or meta.get("rows", []))}
    row_dirs.sort(key=lambda p: (order.get(p.name, len(order)), p.name))
    rows = [row_model(p, registry, known) for p in row_dirs]
    missing = [name for name in list(meta.get("rows") or []) if name not in {p.name for p in row_dirs}]
    return Summary(
        run_id=meta.get("run_id", run_dir.name), rows=rows,
        features={fid: {"description": f.description, "area": f.area} for fid, f in sorted(registry.items())
                  if any(fid in row.features for row in rows)},
        complete=not missing,  # every row the run listed has a result
        missing_rows=missing, started=meta.get("started"), finished=now(), matrix=meta.get("matrix"),
        depth=meta.get("depth", "quick"), mode=meta.get("mode", "matrix"),
    ).to_json()


def verdict(summary: dict, regressions: Sequence[str] = ()) -> Verdict:
    """Exit 1 when a cell is broken (or skipped, outside `here` mode), a row is missing, or `regressions`
    (perf's) name a slowdown; the problems say which and why."""
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
