#!/usr/bin/env python3
"""Make one run out of the row folders that several machines uploaded.

    python ci/gather.py --run-id ID DIR...

Each DIR holds, at any depth, the `run.json` and `rows/<row>/` folders of the machines that ran
some of the rows (the row jobs' artefacts). This writes the run's own record once,
reports/runs/ID/run.json: the earliest start, the matrix's row order, the depth. The rows are
then merged by `python -m harness report --run ID --merge DIR...` (ci/report.sh does both).
Exit 2 when no DIR holds a record of that run.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import fsio, settings, summary  # noqa: E402 - the harness beside this script


def gather_meta(run_id: str, dirs: list[Path]) -> dict | None:
    """One run record from the machines' records of `run_id`; None when there is none."""
    metas = []
    for folder in dirs:
        for path in sorted(Path(folder).glob("**/" + summary.RUN_META)):
            try:
                meta = fsio.read_json(path)
            except (OSError, json.JSONDecodeError) as exc:
                print(f"warning: {path} is unreadable ({exc}); ignored", file=sys.stderr)
                continue
            if meta.get("run_id") == run_id:
                metas.append(meta)
            else:
                print(f"warning: {path} belongs to run {meta.get('run_id')}, not {run_id}; ignored",
                      file=sys.stderr)
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
            print(f"warning: the machines disagree on {key}: {sorted(map(str, values))}; "
                  f"the report says {merged.get(key)}", file=sys.stderr)
    return merged


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run-id", required=True)
    p.add_argument("--reports", type=Path, default=settings.current().reports)
    p.add_argument("dirs", nargs="+", type=Path)
    args = p.parse_args(argv)
    meta = gather_meta(args.run_id, args.dirs)
    if meta is None:
        print(f"error: no record of run {args.run_id} under {', '.join(map(str, args.dirs))}",
              file=sys.stderr)
        return 2
    fsio.write_json(summary.runs_dir(args.reports) / args.run_id / summary.RUN_META, meta)
    rows = sorted({p.parent.name for d in args.dirs for p in Path(d).glob("**/install.json")})
    print(f"run {args.run_id}: {len(rows)} row folders gathered ({', '.join(rows)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
