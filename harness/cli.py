"""`python -m harness`: a pipeline of small commands the noxfile and CI call."""
from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from harness import repro, runs, settings
from harness.commands import NAMES as COMMANDS
from harness.commands import CommandError
from harness import summary as summ
from harness.external import External
from harness.expectations import DEFAULT_EXPECTATIONS, ExpectationError, load_expectations
from harness.matrix import MatrixError, load_matrix
from harness.perf import PerfConfigError
from harness.registry import RegistryError, load_registry
from harness.runner import SuiteRun, run_suites

USAGE_ERROR = 2


def cmd_validate(args) -> int:
    matrix = load_matrix(args.matrix)
    for row in matrix.rows:
        print(f"{row.name}: {' '.join(row.requirements())}  tags={','.join(row.tags)}")
    return 0


def cmd_run_suites(args) -> int:
    info = run_suites(SuiteRun(out=Path(args.out), depth=args.depth, mode=args.mode,
                               timeout=args.timeout, suites=tuple(args.suites),
                               pytest_args=tuple(args.pytest_args), workers=args.workers,
                               externals=tuple(External.from_json(json.loads(e))
                                               for e in getattr(args, "external", None) or ())))
    if info.get("usage_error"):
        print(f"error: {Path(args.out).name}: {info['usage_error']}", file=sys.stderr)
        return USAGE_ERROR
    print(f"suites finished: exit {info['returncode']} in {info['seconds']} s"
          + (" (killed at the time bound)" if info["timed_out"] else ""))
    return 0


def cmd_report(args) -> int:
    reports = Path(args.reports)
    run_dir = summ.runs_dir(reports) / args.run if args.run else summ.latest_run(reports)
    if run_dir is None or not run_dir.exists():
        print(f"error: no run to report under {summ.runs_dir(reports)}", file=sys.stderr)
        return USAGE_ERROR
    runs.copy_rows(run_dir, [Path(m) for m in args.merge])
    registry = load_registry()
    known = load_expectations(args.expectations)
    summary = summ.build_summary(run_dir, registry, known)
    damage = summ.keep_intact(summary, summ.read_intact(run_dir / "summary.json"))
    for warning in damage:
        print(f"warning: {warning}", file=sys.stderr)
    from harness.resolve import load_map

    if (installability := load_map(reports, summary)) is not None:
        summary["resolve"] = installability
    from harness.cases import corpus_score

    if (corpus := corpus_score(reports)) is not None:
        summary["corpus"] = corpus
    from harness import drift, history_index

    # Earlier runs as slim summaries from their compact copies (harness.history_index): what perf, the
    # trend charts and the bundles read of them; drift reads whole summaries of the few runs it needs.
    history = history_index.load(summ.runs_dir(reports), before=summary["run_id"], warnings=damage)
    perf, regressions, calibration_warnings = _perf(summary, history, args.expectations, reports)
    summary["warnings"] = damage + calibration_warnings
    needed = drift.runs_needed(summary, history)
    history_index.condense(history)  # the rest reads each earlier record's statistic alone: rounds freed
    measured = history_index.load_full(summ.runs_dir(reports), needed, damage)
    drifts = drift.annotate(summary, measured)  # an early warning: never changes the exit status
    verdict = summ.verdict(summary, regressions)
    # New failures and confirmed regressions: repro/<feature>--<row>/, linked from the cell.
    repro.write_bundles(run_dir, summary, history, perf.regressions)
    summary["verdict"] = verdict.to_json()
    from harness.report import write_report

    # Only the newest run replaces the top-level report; an older one is rendered in its own folder.
    newest = summ.latest_run(reports)
    is_newest = newest is None or newest.resolve() == run_dir.resolve()
    summ.write_summary(run_dir, summary, reports, newest=is_newest)
    write_report(summary, verdict, run_dir, [run_dir / "index.html"] + ([reports / "index.html"] if is_newest else []),
                 perf, history=history)
    if is_newest:
        print(f"report: {reports / 'index.html'} (run {summary['run_id']}, {len(summary['rows'])} rows)")
    else:
        print(f"report: {run_dir / 'index.html'} (run {summary['run_id']}, {len(summary['rows'])} rows; not the "
              f"newest run, so {reports / 'index.html'} is left as it is)")
    for problem in verdict.problems:
        print(f"  {problem}")
    for d in drifts:
        print(f"  drift (warning only): {d}")
    from harness import retention

    retention.prune_and_tell(summ.runs_dir(reports), getattr(args, "keep_runs", 0), run_dir)
    return verdict.exit_code


def _perf(summary: dict, history: list[dict], expectations: Path, reports: Path):
    """The performance section and the confirmed regressions against each row's own history."""
    from harness import perf

    here = settings.current()  # HARNESS_CALIBRATION, else <reports>/calibration: where calibrate writes
    where = here.calibration if Path(reports) == here.reports else Path(reports) / "calibration"
    calibration, warnings = perf.load_calibration(where)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    report = perf.analyse(summary, history, perf.load_slowdowns(expectations), calibration)
    return report, [str(r) for r in report.regressions], list(warnings)


def cmd_here(args) -> int:
    """Check the current environment as a single row, installing nothing."""
    import platform

    from harness.runner import environment

    from harness import external

    try:  # --external PATH: a bad one stops before anything is written, as in `nox -s matrix`
        externals = external.chosen(tuple(args.external), (), tuple(args.suites))
    except external.ExternalError as error:
        print(f"error: {error}", file=sys.stderr)
        return USAGE_ERROR
    env = environment()
    torch = env["installed"].get("torch", "none")
    cuda = "cpu"
    try:
        import torch as _torch

        cuda = f"cuda{_torch.version.cuda}" if _torch.version.cuda else "cpu"
    except Exception:  # noqa: BLE001 - a broken torch is reported by the suites
        pass
    name = args.name or f"here-torch-{torch}-{cuda}".replace("+", "-")
    reports = Path(args.reports)
    run_id = summ.new_run_id()
    run_dir = summ.runs_dir(reports) / run_id
    row_dir = run_dir / "rows" / name
    summ.start_run(run_dir, {"run_id": run_id, "started": summ.now(), "matrix": f"here ({platform.node()})",
                             "depth": args.depth, "mode": "here", "rows": [name],
                             "externals": [e.to_json() for e in externals]})
    from harness import fsio
    from harness.artefacts import InstallRecord, InstallStatus

    fsio.write_json(row_dir / "install.json", InstallRecord(InstallStatus.OK, "current environment").to_json())
    if cmd_run_suites(argparse.Namespace(out=row_dir, depth=args.depth, mode="here", timeout=args.timeout,
                                         suites=args.suites, pytest_args=args.pytest_args,
                                         workers=args.workers,
                                         external=[json.dumps(e.to_json()) for e in externals])) == USAGE_ERROR:
        return USAGE_ERROR
    return cmd_report(argparse.Namespace(reports=reports, run=run_id, merge=[],
                                         expectations=args.expectations))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m harness", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    v = sub.add_parser("validate", help="check the matrix file and list its rows")
    v.add_argument("--matrix", default=None, help="default: $HARNESS_MATRIX or matrix.toml")
    v.set_defaults(func=cmd_validate)

    def suite_options(sp):
        sp.add_argument("--depth", choices=("quick", "full"), default="quick")
        sp.add_argument("--timeout", type=float, default=3600.0, help="bound on the whole suite run, s")
        sp.add_argument("--suites", nargs="*", default=[], help="paths under suites/ (default: all)")
        sp.add_argument("--workers", default="auto", help="xdist workers for the checks (auto: one per core)")
        sp.add_argument("pytest_args", nargs="*", help="after --: passed to pytest")

    r = sub.add_parser("run-suites", help="run the suites in this environment into a row folder")
    r.add_argument("--out", required=True)
    r.add_argument("--mode", choices=("matrix", "here"), default="matrix")
    r.add_argument("--external", action="append", default=[], help="an external project (JSON; see harness.external)")
    suite_options(r)
    r.set_defaults(func=cmd_run_suites)

    def report_options(sp):
        sp.add_argument("--reports", default=str(settings.current().reports))
        sp.add_argument("--expectations", type=Path, default=DEFAULT_EXPECTATIONS)

    rep = sub.add_parser("report", help="fold a run's rows into summary.json and index.html")
    rep.add_argument("--run", default=None, help="run id (default: the newest)")
    rep.add_argument("--merge", nargs="*", default=[], help="folders holding row folders to merge in")
    from harness.retention import keep_count

    rep.add_argument("--keep-runs", type=keep_count, default=settings.current().keep_runs,
                     help="run folders kept under REPORTS/runs, newest first (0: all; default $HARNESS_KEEP_RUNS)")
    report_options(rep)
    rep.set_defaults(func=cmd_report)

    h = sub.add_parser("here", help="check the current Python environment as one row")
    h.add_argument("--name", default=None)
    h.add_argument("--external", action="append", default=[], metavar="PATH",
                   help="a project's pytest folder to run here as ext.<name>.<module> features (repeatable)")
    suite_options(h)
    report_options(h)
    h.set_defaults(func=cmd_here)

    for name in COMMANDS:  # harness/commands/: one module per command, each with its own arguments
        module = importlib.import_module(f"harness.commands.{name}")
        doc = (module.__doc__ or "").strip()
        summary_line = doc.splitlines()[0].split(": ", 1)[-1].rstrip(".") if doc else None
        c = sub.add_parser(name, help=summary_line, description=doc,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(c)
        c.set_defaults(func=module.main)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (MatrixError, RegistryError, ExpectationError, PerfConfigError, CommandError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except OSError as exc:  # an unwritable or full reports folder: one line, and the old report stays
        where = exc.filename or getattr(args, "reports", None) or getattr(args, "out", "")
        print(f"error: {where}: {exc.strerror or exc} (nothing more written; the previous report is left as it is)",
              file=sys.stderr)
        return USAGE_ERROR
