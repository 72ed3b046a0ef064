#!/usr/bin/env python3
"""The rows of one CI run as a GitHub Actions matrix, taken from `nox -l --json`.

    python ci/plan.py --tag nightly              every row session tagged `nightly`
    python ci/plan.py --tag ci --rows torch-2.3  only these rows (comma-separated), tag or not

Prints {"include": [{"row": "torch-2.3", "session": "matrix(torch-2.3)"}, ...]} and, under
GitHub Actions, writes `matrix`, `rows` and `run-id` to $GITHUB_OUTPUT. Every row job of the
run gets the same run id, so the folders they upload merge into one run. Exit 2 when nothing
matches (an empty strategy.matrix would fail less clearly).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.summary import new_run_id  # noqa: E402 - the harness beside this script
SESSION = re.compile(r"^matrix\((?P<row>[^()]+)\)$")


def nox_sessions() -> list[dict]:
    """What `nox -l --json -s matrix` says about the row sessions (loading validates the matrix)."""
    proc = subprocess.run([sys.executable, "-m", "nox", "-f", str(ROOT / "noxfile.py"), "-l", "--json",
                           "-s", "matrix"],
                          cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(proc.returncode)
    return json.loads(proc.stdout)


def plan(sessions: list[dict], tag: str | None, rows: list[str]) -> list[dict]:
    """The matrix's `include` list: row sessions with the tag, or exactly the rows named."""
    include = []
    for entry in sessions:
        found = SESSION.match(entry.get("session", ""))
        if entry.get("name") != "matrix" or not found:
            continue
        row = found["row"]
        if (row in rows) if rows else (tag is None or tag in entry.get("tags", [])):
            include.append({"row": row, "session": entry["session"]})
    unknown = sorted(set(rows) - {item["row"] for item in include})
    if unknown:
        raise ValueError(f"no matrix row named {', '.join(unknown)}")
    return include


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tag", default=None, help="only row sessions with this tag (matrix.toml `tags`)")
    p.add_argument("--rows", default="", help="comma-separated row names; overrides --tag")
    p.add_argument("--nox-json", type=Path, default=None, help="read this `nox -l --json` output instead")
    args = p.parse_args(argv)
    sessions = json.loads(args.nox_json.read_text()) if args.nox_json else nox_sessions()
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    try:
        include = plan(sessions, args.tag, rows)
    except ValueError as exc:
        print(f"ci/plan.py: {exc}", file=sys.stderr)
        return 2
    if not include:
        print(f"ci/plan.py: no matrix row is tagged {args.tag!r}", file=sys.stderr)
        return 2
    run_id = os.environ.get("HARNESS_RUN_ID") or new_run_id()
    matrix = json.dumps({"include": include}, separators=(",", ":"))
    print(matrix)
    print(f"run {run_id}: {', '.join(item['row'] for item in include)}", file=sys.stderr)
    if os.environ.get("GITHUB_OUTPUT"):
        with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as out:
            out.write(f"matrix={matrix}\nrows={','.join(i['row'] for i in include)}\nrun-id={run_id}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
