"""Bisect a feature, or a benchmark, between two rows to the first release that changed it.

    python -m harness.bisection FEATURE_OR_BENCHMARK --good ROW_OR_PINS --bad ROW_OR_PINS
    nox -s bisect -- text.datasets.penntreebank --good torch-2.3 --bad torchdata=0.10.1

ROW_OR_PINS is a row of the matrix or pins such as `torch=2.8.0,torchvision=0.23.0`; pins given
on one side only change the other side's row. The candidates are the index's releases between
the two ends, either of one package (the others held at the good row's pins where the resolver
allows; `--package`) or of the release train (each torch release with the domain-library
releases the resolver pairs with it; `--train`). Each candidate is resolved and installed in its
own uv environment like a matrix row, only the tests of the feature (or the one benchmark) run
there, and a binary search finds the first bad release. A candidate that cannot be resolved or
installed is skipped (as `git bisect skip`), a release that both passes and fails is reported
as flaky, a benchmark candidate is timed in interleaved pairs of processes with the good end
(`--unpaired`: apart from it), and the result goes to `<run>/bisect/<feature>--<row>.json`
beside the grid it explains.

The modules of harness/bisection: search (pure), plan (ends and candidates), probe (running a
candidate), result (the stored model), and this command line.
"""
from __future__ import annotations

import argparse
import re
import shutil
import sys
import time
from pathlib import Path

from harness import external, fsio, index, install, runs, settings
from harness import summary as summ
from harness.bisection.plan import (BisectError, Plan, choose_mode, end_rows, make_row, parse_pins,
                                    plan_candidates, requirement_map)
from harness.bisection.probe import Prober, Target
from harness.bisection.result import BisectResult, cand_json, headline, summarize
from harness.bisection.search import BOUNDARY, FLAKY, SKIPPED, SlowdownRule, search
from harness.matrix import MatrixError, Row, load_matrix
from harness.registry import RegistryError, load_registry
from harness.status import first_line

USAGE_ERROR, NO_CHANGE = 2, 1


def result_dir(args: argparse.Namespace) -> Path:
    """The run whose grid this explains (--run, else the newest), or reports/ without runs."""
    reports = Path(args.reports)
    if args.run:
        return summ.runs_dir(reports) / args.run
    named = summ.runs_dir(reports) / (settings.current().run_id or "-")
    if (named / summ.RUN_META).exists():  # a pipeline that names its run
        return named
    latest = summ.latest_run(reports)
    return latest if latest else reports


def parser() -> argparse.ArgumentParser:
    """The command line of `python -m harness.bisection` (arguments after a lone -- go to pytest)."""
    p = argparse.ArgumentParser(prog="python -m harness.bisection",
                                description="Find the first release that breaks a feature or slows a benchmark.")
    p.add_argument("target", help="a feature id, or a benchmark (bench feature id, test name or node id)")
    p.add_argument("--good", required=True, help="a matrix row or pins (torch=2.8.0,torchvision=0.23.0)")
    p.add_argument("--bad", required=True, help="a matrix row or pins; pins of one side change the other row")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--package", help="bisect this package's releases, the others held")
    mode.add_argument("--train", action="store_true", help="bisect torch releases with their paired libraries")
    p.add_argument("--with", dest="with_", default="", metavar="PINS",
                   help="requirements added to both ends, e.g. portalocker or numpy<2")
    p.add_argument("--matrix", default=None, help="default: $HARNESS_MATRIX or matrix.toml")
    p.add_argument("--depth", choices=("quick", "full"), default="quick")
    p.add_argument("--suites", nargs="+", default=[], help="where to collect from (default: the feature's area)")
    p.add_argument("--timeout", type=float, default=1800.0, help="bound on one candidate's tests, s")
    p.add_argument("--repeat", type=int, default=1, help="runs of the tests per candidate")
    p.add_argument("--confirm", type=int, default=1, help="extra runs on each side of the boundary")
    p.add_argument("--processes", type=int, default=5,
                   help="benchmark: interleaved pairs (with --unpaired: processes) per candidate, at least 2")
    p.add_argument("--unpaired", action="store_true",
                   help="benchmark: time the good end once in its own processes and each candidate in its "
                        "own, minutes apart, instead of in pairs of back-to-back good-end and candidate "
                        "processes (the machine's drift then enters the comparison; kept for comparison)")
    p.add_argument("--alpha", type=float, default=SlowdownRule.alpha,
                   help=f"benchmark: a candidate is slower only at p below this (default {SlowdownRule.alpha})")
    p.add_argument("--min-effect", type=float, default=SlowdownRule.min_effect,
                   help="benchmark: ... and at least this much slower than the good end, as a ratio - 1 "
                        f"(default {SlowdownRule.min_effect}: 10 %%; 1.0 asks for 2x)")
    p.add_argument("--python", default=None, help="Python of the candidates (default: the good row's)")
    p.add_argument("--venvs", default=str(settings.ROOT / ".nox" / "bisect-rows"),
                   help="where the candidates' venvs live (kept: a repeat reuses them)")
    p.add_argument("--reports", default=str(settings.current().reports))
    p.add_argument("--run", default=None, help="run whose grid this explains (default: the newest)")
    p.add_argument("--row", default=None, help="grid row this explains (default: the bad row)")
    p.add_argument("--list", action="store_true", help="only list the candidates and their pairings")
    p.add_argument("--external", action="append", default=[], metavar="PATH",
                   help="the project of an ext.<name>.* target (default: the matrix's [[external]], then the run's)")
    p.epilog = "Arguments after a lone -- go to pytest (e.g. -- -k split)."
    return p


def resolve_ends(good: Row, bad: Row, python: str, work: Path) -> tuple[dict, dict]:
    """The releases each end resolves to; BisectError when one cannot be resolved."""
    versions = []
    for row in (good, bad):
        res = install.resolve(row.requirements(), python, work / f"end-{row.name}")
        if not res.ok:
            raise BisectError(f"{row.name} cannot be resolved: {first_line(res.message)}")
        versions.append(res.versions)
    return versions[0], versions[1]


def target_of(name: str, registry) -> Target:
    """A registry feature, or a benchmark named by test name or node id."""
    feature = registry.get(name)
    if feature is not None:
        return Target(name, name, feature.area == "bench", feature.area)
    if re.fullmatch(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)+", name):
        raise BisectError(f"{name}: not a feature of the registry")
    area = name.split("/")[0] if "/" in name.split("::")[0] else None
    return Target(name, "", True, area)


def main(argv: list[str] | None = None) -> int:
    """`python -m harness.bisection`: 0 a boundary (or flaky, or suspects), 1 no change between
    the ends, 2 a usage error (nothing written)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    cut = argv.index("--") if "--" in argv else len(argv)
    args = parser().parse_args(argv[:cut])
    args.pytest_args = argv[cut + 1:]
    started, t0 = summ.now(), time.monotonic()
    work = None
    try:
        registry = load_registry()
        loaded = load_matrix(args.matrix)
        # an ext.<name>.<module> feature runs its project's module (harness.external.BisectTarget)
        args.ext = external.bisect_target(args.target, args.external, loaded.externals + external.run_externals(
            runs.read_json(result_dir(args) / summ.RUN_META, None)))
        target = Target(args.target, args.target, False, None) if args.ext else target_of(args.target, registry)
        if target.benchmark and args.processes < 2:
            raise BisectError(f"--processes {args.processes}: a benchmark needs at least 2 (pairs, or "
                              "processes with --unpaired) to measure its own noise")
        matrix = {r.name: r for r in loaded.rows}
        good, bad = end_rows(args.good, args.bad, matrix)
        if args.with_:
            added = parse_pins(args.with_)
            good, bad = (make_row(r.name, {**requirement_map(r), **added}, r.python) for r in (good, bad))
        python = args.python or good.python
        out_root = result_dir(args) / "bisect"
        slug = f"{args.target.replace('/', '_').replace('::', '.')}--{args.row or bad.name}"
        work = out_root / slug
        if work.exists():
            shutil.rmtree(work)
        good_v, bad_v = resolve_ends(good, bad, python, work)
        mode, subject = choose_mode(good, bad, good_v, bad_v, args.package, args.train)
        listing = index.fetch_releases(subject)
    except (BisectError, MatrixError, RegistryError, OSError) as exc:
        if work is not None and work.exists():
            shutil.rmtree(work)  # a usage error leaves nothing behind
        print(f"error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    args.subject = subject
    plan = Plan(mode, subject, good, bad, good_v, bad_v)
    print(f"bisect {args.target} ({'benchmark' if target.benchmark else 'feature'}): {plan.describe()}")
    cands = plan_candidates(plan, listing, python, work)
    for note in plan.notes():
        print(f"note: {note}")
    print(f"candidates ({len(cands)}), from the good end to the bad end:")
    for c in cands:
        pairs = ", ".join(f"{k} {v}" for k, v in cand_json(plan, c)["versions"].items() if k != subject)
        note = f"  skip: {c.skip}" if c.skip else (f"  [{('held', 'moved', 'freed')[c.level]}]" if c.level else "")
        print(f"  [{c.index}] {subject} {c.version}" + (f"  ({pairs})" if pairs else "") + note)
    if args.list:
        return 0
    prober = Prober(target, cands, registry, args, work)
    try:
        result = search(len(cands), prober, confirm=args.confirm)
    except BisectError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    summary = summarize(plan, target, cands, result)
    seconds = round(time.monotonic() - t0, 1)
    data = BisectResult(
        target=args.target, kind="benchmark" if target.benchmark else "feature",
        feature=target.feature or None, mode=mode, subject=subject,
        description=plan.describe(), notes=plan.notes(),
        explains={"row": args.row or (bad.name if bad.name in matrix else None),
                  "feature": target.feature or args.target},
        good={"spec": args.good, "row": good.name, "requirements": good.requirements(),
              "versions": {p: good_v[p] for p in plan.shown() if good_v.get(p)}},
        bad={"spec": args.bad, "row": bad.name, "requirements": bad.requirements(),
             "versions": {p: bad_v[p] for p in plan.shown() if bad_v.get(p)}},
        result=summary,
        candidates=[cand_json(plan, c) for c in cands],
        probes=[[i, v.value] for i, v in result.probes],
        rows_built=prober.rows_built,
        started=started, finished=summ.now(), seconds=seconds,
        command=["python", "-m", "harness.bisection", *argv])
    path = out_root / f"{slug}.json"
    fsio.write_json(path, data.to_json())
    print(f"mode: {mode} — {plan.describe()}")
    for line in headline(plan, summary):
        print(line)
    print(f"rows built: {prober.rows_built} of {len(cands)} candidates; {seconds} s; result: {path}")
    return 0 if result.outcome in (BOUNDARY, FLAKY, SKIPPED) else NO_CHANGE
