"""Time the report over a synthetic year of nights (issue 16, "a year of nights, fast").

    python benchmarks/render_year.py [--nights 1 30 90 365] [--rows 5] [--benchmarks 40]
                                     [--source reports] [--keep DIR]

Builds, in a temporary HARNESS_REPORTS, the newest night as row folders (copied from a real row of
`--source`, its benchmark.json widened to `--benchmarks` benchmarks) and up to max(--nights) - 1
earlier nights as summary.json files shaped like real ones: each row is the real row's features
(statuses and measured errors) with `--benchmarks` benchmark records of real rounds, resampled per
night and scaled by a process factor (sigma 5 %, the noise measured here) with a level shift in one
series in eight. Earlier nights are written by harness.runs.write_summary, as a nightly writes them
(so whatever it keeps beside a summary, e.g. the history index, is there too).

Then, for each N of --nights (smallest first; the older nights are added between measurements),
it runs `python -m harness report --keep-runs 0` for the newest night in a child process twice
(the first report of a night, then the same report again: what a re-render costs) and prints the
child's CPU seconds (user + system) and peak RSS (MB), with the load average. One untimed report
comes first, so that imports read bytecode as in an installed harness (PYTHONDONTWRITEBYTECODE is
dropped for the child).
"""
from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import math
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import isolate, runs  # noqa: E402

ROW_NAMES = ["torch-2.3", "torch-2.8", "torch-2.11", "torch-2.14", "torch-2.15"]
SIGMA = 0.05        # process-to-process noise of the log statistic
SHIFTED = 8         # one series in this many has a level shift
NEWEST = dt.datetime(2027, 1, 1, 3, 0, tzinfo=dt.timezone.utc)


def run_id(night: int) -> str:
    """The run id of `night` nights before the newest (0)."""
    return (NEWEST - dt.timedelta(days=night)).strftime("%Y%m%dT%H%M%SZ")


def real_template(source: Path) -> tuple[dict, Path]:
    """A real summary row with benchmarks and the row folder it came from."""
    for path in sorted((source / "runs").glob("*/summary.json"), reverse=True):
        summary = json.loads(path.read_text())
        for row in summary.get("rows", []):
            folder = path.parent / "rows" / row["name"]
            if row.get("benchmarks") and (folder / "benchmark.json").exists():
                return summary, folder
    raise SystemExit(f"error: no run under {source}/runs has a row with benchmarks and its folder")


def bench_names(real: dict, count: int) -> list[tuple[str, str]]:
    """`count` (synthetic name, real name) pairs: the real benchmarks, then copies with a suffix."""
    names = sorted(real)
    out = []
    for i in range(count):
        base = names[i % len(names)]
        copy_no = i // len(names)
        out.append((base if copy_no == 0 else base.replace("]", f"-c{copy_no}]") if "]" in base
                    else f"{base}[c{copy_no}]", base))
    return out


def rounds_for(real_rounds: list[float], rng: random.Random, level: float) -> list[float]:
    """One process's rounds: the real rounds resampled, scaled by the level and a process factor."""
    factor = level * math.exp(rng.gauss(0.0, SIGMA))
    return [round(rng.choice(real_rounds) * factor, 9) for _ in real_rounds]  # process_time: ns


def levels(names: list[tuple[str, str]], rows: list[str], nights: int, seed: int) -> dict:
    """{(benchmark, row): [level per night, night 0 (newest) first]}: 1.0, or a shift in one in SHIFTED."""
    rng = random.Random(seed)
    out = {}
    for name, _ in names:
        for row in rows:
            series = [1.0] * nights
            if rng.randrange(SHIFTED) == 0:
                at, size = rng.randrange(1, max(2, nights)), rng.choice([0.8, 1.25, 1.5])
                series = [size if night < at else 1.0 for night in range(nights)]
            out[(name, row)] = series
    return out


def record(real: dict, rounds: list[float], name: str) -> dict:
    """A summary's benchmark record like harness.benchfile's, with these rounds."""
    s = sorted(rounds)
    n = len(s)
    return {**real, "fullname": real["fullname"].replace(real["fullname"].rsplit("::", 1)[-1], name),
            "rounds": rounds, "median": s[n // 2], "min": s[0], "mean": sum(s) / n,
            "iqr": s[(3 * n) // 4] - s[n // 4]}


def build(reports: Path, nights: range, rows: list[str], count: int, source: Path, seed: int,
          total: int) -> None:
    """Write the earlier nights in `nights` (night 0, the newest, as row folders) under `reports`."""
    summary, folder = real_template(source)
    real_row = next(r for r in summary["rows"] if r["name"] == folder.name)
    names = bench_names(real_row["benchmarks"], count)
    level = levels(names, rows, total, seed)
    for night in nights:
        rng = random.Random(seed * 100003 + night)
        rid = run_id(night)
        run_dir = runs.runs_dir(reports) / rid
        meta = {"run_id": rid, "started": f"{rid[:4]}-{rid[4:6]}-{rid[6:8]}T03:00:00+00:00",
                "matrix": "matrix.toml", "depth": "quick", "mode": "matrix", "rows": rows}
        runs.start_run(run_dir, meta)
        if night == 0:
            bench = json.loads((folder / "benchmark.json").read_text())
            entries = {e["name"]: e for e in bench["benchmarks"]}
            for row in rows:
                dest = run_dir / "rows" / row
                shutil.copytree(folder, dest)
                out = []
                for name, base in names:
                    entry = copy.deepcopy(entries[base])
                    data = rounds_for(entry["stats"]["data"], rng, level[(name, row)][0])
                    entry.update(name=name, fullname=entry["fullname"].replace(base, name))
                    entry["stats"]["data"] = data
                    out.append(entry)
                bench["benchmarks"] = out
                (dest / "benchmark.json").write_text(json.dumps(bench))
            continue
        made = {**summary, **meta, "finished": meta["started"], "rows": []}
        for row in rows:
            made["rows"].append({**real_row, "name": row, "benchmarks": {
                name: record(real_row["benchmarks"][base],
                             rounds_for(real_row["benchmarks"][base]["rounds"], rng, level[(name, row)][night]),
                             name)
                for name, base in names}})
        runs.write_summary(run_dir, made, reports, newest=False)


def measure_child(reports: Path) -> dict:
    """`--child`: run the report once and return its rusage (CPU s, peak RSS MB) and wall time."""
    env = dict(os.environ, HARNESS_REPORTS=str(reports), PYTHONPATH=str(ROOT))
    env.pop("HARNESS_CALIBRATION", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed harness has its bytecode (a warm-up writes it)
    t0 = time.monotonic()
    done = isolate.run([sys.executable, "-m", "harness", "report", "--reports", str(reports), "--keep-runs", "0"],
                       timeout=600, cwd=ROOT, env=env)
    wall = time.monotonic() - t0
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"rc": done.returncode, "cpu_s": round(use.ru_utime + use.ru_stime, 2),
            "peak_mb": round(use.ru_maxrss / 1024, 1), "wall_s": round(wall, 2),
            "stderr": [line for line in done.stderr.splitlines() if line.startswith(("warning", "error"))][:5],
            "tail": done.stderr[-1500:]}


def measure(reports: Path) -> dict:
    """measure_child in a fresh process, so its RUSAGE_CHILDREN holds the one report alone."""
    done = isolate.run([sys.executable, __file__, "--child", str(reports)], timeout=660, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"error: the measuring child failed: {done.stderr[-2000:]}")
    result = json.loads(done.stdout)
    if result["rc"] not in (0, 1):  # 0 as expected, 1 a feature broke: anything else did not render
        raise SystemExit(f"error: the report exited {result['rc']}: {result['tail']}")
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nights", type=int, nargs="+", default=[1, 30, 90, 365])
    p.add_argument("--rows", type=int, default=5)
    p.add_argument("--benchmarks", type=int, default=40)
    p.add_argument("--source", type=Path, default=ROOT / "reports",
                   help="a reports folder with a real run (default: reports/ of this checkout)")
    p.add_argument("--seed", type=int, default=16)
    p.add_argument("--keep", type=Path, default=None, help="build here and keep it (default: a temporary folder)")
    p.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(measure_child(args.child)))
        return 0
    rows = (ROW_NAMES * (args.rows // len(ROW_NAMES) + 1))[:args.rows]
    rows = [r if i < len(ROW_NAMES) else f"{r}-{i}" for i, r in enumerate(rows)]
    work = args.keep or Path(tempfile.mkdtemp(prefix="render-year-"))
    reports = work / "reports"
    total = max(args.nights)
    built = 0
    try:
        for nights in sorted(args.nights):
            t0 = time.monotonic()
            build(reports, range(built, nights), rows, args.benchmarks, args.source, args.seed, total)
            built = nights
            size = sum(p.stat().st_size for p in runs.runs_dir(reports).glob("*/summary.json")
                       if p.parent.name != run_id(0)) / max(1, nights - 1) / 1e6
            made = time.monotonic() - t0
            if nights == min(args.nights):
                measure(reports)  # warm-up, not counted: writes the bytecode of the harness and its libraries
            first, again = measure(reports), measure(reports)
            load = os.getloadavg()[0]
            print(f"{nights:4d} nights ({args.rows} rows x {args.benchmarks} benchmarks, {size:.2f} MB per "
                  f"summary, built in {made:.0f} s): first report {first['cpu_s']:.2f} s CPU, "
                  f"{first['peak_mb']:.0f} MB peak, {first['wall_s']:.2f} s wall; again {again['cpu_s']:.2f} s CPU, "
                  f"{again['peak_mb']:.0f} MB; exit {first['rc']}; load {load:.2f}", flush=True)
            for line in first["stderr"] + again["stderr"]:
                print(f"      {line[:200]}")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
