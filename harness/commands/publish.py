"""`python -m harness publish --site SITE --run ID`: this night into the published site.

The site is a folder with the layout of reports/ (the gh-pages branch; ci/site.sh fetches and
pushes it):

    index.html, summary.json        the newest night
    resolve.html, resolve.json      the newest installability map
    history.html, history.json      every kept night, newest first, with its verdict
    runs/<run-id>/                  each night's report, summary and row folders

Nights past --keep (default 90) leave the site, oldest first.
"""
from __future__ import annotations

import argparse
import html
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from harness import fsio, runs, settings, summary
from harness.commands import CommandError

KEEP = int(settings.VARIABLES["HARNESS_KEEP_RUNS"][0])  # nights the site keeps: as many as the report's runs
NEWEST = ("index.html", "summary.json", "resolve.html", "resolve.json")


@dataclass(frozen=True)
class Night:
    """One line of history.json."""
    run_id: str
    started: str | None
    finished: str | None
    depth: str | None
    rows: list[str]
    exit_code: int | None    # the report's: 0 as expected, 1 changes against expectations
    problems: int            # how many changes against expectations
    report: str              # the night's report, relative to the site


def night(run_dir: Path) -> Night | None:
    """The history line of a published night, from its summary.json; None when that is unreadable or of a
    newer version than this harness reads."""
    s = runs.read_intact(run_dir / "summary.json")  # migrated: older nights read as the current version
    if s is None:
        return None
    verdict = s.get("verdict") or {}
    return Night(run_id=str(s.get("run_id", run_dir.name)), started=s.get("started"), finished=s.get("finished"),
                 depth=s.get("depth"), rows=[r.get("name") for r in s.get("rows", [])],
                 exit_code=verdict.get("exit_code"), problems=len(verdict.get("problems", [])),
                 report=f"runs/{run_dir.name}/index.html")


HISTORY_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>PyTorch release compatibility: history</title>
<style>body {{ font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1b1f24; }}
table {{ border-collapse: collapse; }} th, td {{ border: 1px solid #d0d7de; padding: 4px 8px; }}
.ok {{ background: #dafbe1; }} .bad {{ background: #ffebe9; }}</style></head><body>
<h1>PyTorch release compatibility: the nights</h1>
<p><a href="index.html">newest report</a> · <a href="resolve.html">installability map</a>
 · <a href="history.json">history.json</a></p>
<table id="history"><tr><th>run</th><th>started</th><th>depth</th><th>rows</th><th>verdict</th></tr>
{rows}
</table></body></html>
"""


def history_page(nights: list[Night]) -> str:
    """history.html: one table line per night, newest first as given, green when as expected."""
    rows = []
    for n in nights:
        ok = n.exit_code == 0
        verdict = "as expected" if ok else (f"{n.problems} change(s) against expectations"
                                            if n.exit_code == 1 else "no verdict")
        e = html.escape
        rows.append(f'<tr class="{"ok" if ok else "bad"}" id="night-{e(n.run_id)}">'
                    f'<td><a href="{e(n.report)}">{e(n.run_id)}</a></td>'
                    f'<td>{e(n.started or "")}</td><td>{e(str(n.depth or ""))}</td>'
                    f'<td>{e(", ".join(map(str, n.rows)))}</td><td>{e(verdict)}</td></tr>')
    return HISTORY_PAGE.format(rows="\n".join(rows))


def run(site: Path, reports: Path, run_id: str, keep: int = KEEP) -> list[Night]:
    """Copy reports/runs/`run_id`/ into the site (and the newest pages to its top), drop the
    oldest nights past `keep` (0 keeps all), write history.json and history.html.

    Returns the kept nights, newest first. Raises CommandError when the run has no summary.json
    (the report was not rendered), OSError when the site cannot be written."""
    source = summary.runs_dir(reports) / run_id
    if not (source / "summary.json").exists():
        raise CommandError(f"{source} has no summary.json: render the report first")
    dest = summary.runs_dir(site) / run_id
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(source, dest)
    for name in NEWEST:
        if (reports / name).exists():
            shutil.copyfile(reports / name, site / name)
    nights = sorted((p for p in summary.runs_dir(site).iterdir() if p.is_dir()), key=lambda p: p.name)
    for old in nights[:-keep] if keep > 0 else []:
        shutil.rmtree(old)
    kept = [n for n in (night(p) for p in reversed(nights[-keep:] if keep > 0 else nights)) if n]
    fsio.write_json(site / "history.json", [asdict(n) for n in kept])
    fsio.write_text(site / "history.html", history_page(kept))
    (site / ".nojekyll").touch()  # GitHub Pages serves the files as they are
    return kept


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--site", type=Path, required=True, help="the published site (gh-pages checkout)")
    p.add_argument("--reports", type=Path, default=None, help="default: $HARNESS_REPORTS or reports/")
    p.add_argument("--run", required=True, help="the run id to publish")
    p.add_argument("--keep", type=int, default=KEEP, help="nights kept in the site (0: all)")


def main(args: argparse.Namespace) -> int:
    kept = run(args.site, args.reports or settings.current().reports, args.run, args.keep)
    print(f"site: run {args.run} published; {len(kept)} nights kept in {args.site}")
    return 0
