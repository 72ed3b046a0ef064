"""`python -m harness verdict --run-id ID`: a run's verdict as Markdown.

The job summary on GitHub and the body of the nightly's issue. A run without a readable
summary.json gets a "no report" verdict rather than an error: the step that writes the job
summary runs after a failed report too.
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from harness import runs, settings

SHOWN = 50  # changes listed; the rest are counted


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(s: dict | None, run_id: str, run_url: str = "", pages_url: str = "") -> str:
    """The verdict of summary `s` (None: no report) for run `run_id`, with links to the workflow
    run and the published report when given. A summary of another run counts as no report."""
    links = []
    if pages_url:
        links.append(f"[report]({pages_url.rstrip('/')}/runs/{run_id}/index.html)")
        links.append(f"[history]({pages_url.rstrip('/')}/history.html)")
    if run_url:
        links.append(f"[workflow run]({run_url}) (the `report` artefact holds the HTML)")
    tail = "\n\n" + " · ".join(links) + "\n" if links else "\n"
    if not s or s.get("run_id") != run_id:
        return (f"## Run {run_id}: no report\n\nThe rows' results could not be rendered into a "
                f"report; the workflow log says why." + tail)
    verdict = s.get("verdict") or {}
    problems = verdict.get("problems", [])
    head = ("as expected" if verdict.get("exit_code") == 0
            else f"{len(problems)} change(s) against expectations")
    lines = [f"## Run {run_id}: {head}", "",
             f"Depth {s.get('depth')} · {len(s.get('rows', []))} rows · started {s.get('started')}", "",
             "| row | torch | install | features |", "| --- | --- | --- | --- |"]
    for row in s.get("rows", []):
        counts = Counter(c["status"] for c in row.get("features", {}).values())
        shown = ", ".join(f"{n} {st}" for st, n in sorted(counts.items()))
        torch = row.get("installed", {}).get("torch") or row.get("pins", {}).get("torch", "")
        lines.append(f"| {_cell(row['name'])} | {_cell(torch)} | {_cell(row['install']['status'])} "
                     f"| {_cell(shown)} |")
    if problems:
        lines += ["", "### Changes against expectations", ""]
        lines += [f"- {_cell(p)[:400]}" for p in problems[:SHOWN]]
        if len(problems) > SHOWN:
            lines.append(f"- … and {len(problems) - SHOWN} more (see the report)")
    bundles = [(row["name"], fid, cell["repro"]) for row in s.get("rows", [])
               for fid, cell in sorted(row.get("features", {}).items()) if cell.get("repro")]
    if bundles:
        base = f"{pages_url.rstrip('/')}/runs/{run_id}/" if pages_url else f"runs/{run_id}/"
        lines += ["", "### Reproductions", "",
                  "A standalone script, the row's lock and environment, and a README to paste upstream; "
                  "`nox -s repro -- FEATURE ROW` verifies one.", ""]
        lines += [f"- [{_cell(fid)} on {_cell(row)}]({base}{path}README.md)" for row, fid, path in bundles[:SHOWN]]
    return "\n".join(lines) + tail


def run(run_id: str, reports: Path, run_url: str = "", pages_url: str = "") -> str:
    """The Markdown verdict of reports/runs/`run_id`/summary.json (see `markdown`)."""
    s = runs.read_intact(runs.runs_dir(reports) / run_id / "summary.json")  # migrated, None if unreadable
    return markdown(s, run_id, run_url, pages_url)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run-id", required=True)
    p.add_argument("--reports", type=Path, default=None, help="default: $HARNESS_REPORTS or reports/")
    p.add_argument("--run-url", default="", help="the workflow run, linked")
    p.add_argument("--pages-url", default="", help="where the site is served (GitHub Pages)")


def main(args: argparse.Namespace) -> int:
    sys.stdout.write(run(args.run_id, args.reports or settings.current().reports, args.run_url, args.pages_url))
    return 0
