#!/usr/bin/env python3
"""The published site and the history of nights it carries.

The site is a folder with the layout of reports/ (the gh-pages branch; ci/site.sh fetches
and pushes it):

    index.html, summary.json        the newest night
    resolve.html, resolve.json      the newest installability map
    history.html, history.json      every kept night, newest first, with its verdict
    runs/<run-id>/                  each night's report, summary and row folders

    python ci/pages.py restore --site SITE               earlier nights' summaries into reports/runs/,
                                                         where the report finds its history
    python ci/pages.py publish --site SITE --run ID      this night into the site; nights past --keep go
"""
from __future__ import annotations

import argparse
import html
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import fsio, settings, summary  # noqa: E402 - the harness beside this script

KEEP = 90
NEWEST = ("index.html", "summary.json", "resolve.html", "resolve.json")


def restore(site: Path, reports: Path) -> list[str]:
    """Copy the site's nightly summaries into reports/runs/<id>/summary.json (those not there):
    the report compares benchmarks against them. Only summaries: run.json stays out, so the
    restored nights never pass for the run being reported."""
    restored = []
    for path in sorted(summary.runs_dir(site).glob("*/summary.json")):
        dest = summary.runs_dir(reports) / path.parent.name / "summary.json"
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
            restored.append(path.parent.name)
    return restored


def _night(run_dir: Path) -> dict | None:
    try:
        s = fsio.read_json(run_dir / "summary.json")
    except (OSError, json.JSONDecodeError):
        return None
    verdict = s.get("verdict") or {}
    return {"run_id": s.get("run_id", run_dir.name), "started": s.get("started"),
            "finished": s.get("finished"), "depth": s.get("depth"),
            "rows": [r.get("name") for r in s.get("rows", [])],
            "exit_code": verdict.get("exit_code"), "problems": len(verdict.get("problems", [])),
            "report": f"runs/{run_dir.name}/index.html"}


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


def history_page(nights: list[dict]) -> str:
    rows = []
    for n in nights:
        ok = n["exit_code"] == 0
        verdict = "as expected" if ok else (f"{n['problems']} change(s) against expectations"
                                            if n["exit_code"] == 1 else "no verdict")
        rows.append(f'<tr class="{"ok" if ok else "bad"}" id="night-{html.escape(str(n["run_id"]))}">'
                    f'<td><a href="{html.escape(n["report"])}">{html.escape(str(n["run_id"]))}</a></td>'
                    f'<td>{html.escape(str(n["started"] or ""))}</td><td>{html.escape(str(n["depth"] or ""))}</td>'
                    f'<td>{html.escape(", ".join(map(str, n["rows"])))}</td><td>{html.escape(verdict)}</td></tr>')
    return HISTORY_PAGE.format(rows="\n".join(rows))


def publish(site: Path, reports: Path, run_id: str, keep: int = KEEP) -> list[dict]:
    """This run (its folder, and as the newest night) into the site; the oldest nights past
    `keep` leave it. Returns the kept nights, newest first."""
    source = summary.runs_dir(reports) / run_id
    if not (source / "summary.json").exists():
        raise FileNotFoundError(f"{source} has no summary.json: render the report first")
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
    kept = [n for n in (_night(p) for p in reversed(nights[-keep:] if keep > 0 else nights)) if n]
    fsio.write_json(site / "history.json", kept)
    fsio.write_text(site / "history.html", history_page(kept))
    (site / ".nojekyll").touch()  # GitHub Pages serves the files as they are
    return kept


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("restore", help="earlier nights' summaries into reports/runs/")
    pub = sub.add_parser("publish", help="this run into the site, with the history page")
    for sp in (r, pub):
        sp.add_argument("--site", type=Path, required=True)
        sp.add_argument("--reports", type=Path, default=settings.current().reports)
    pub.add_argument("--run", required=True)
    pub.add_argument("--keep", type=int, default=KEEP, help="nights kept in the site")
    args = p.parse_args(argv)
    if args.command == "restore":
        restored = restore(args.site, args.reports)
        print(f"history: {len(restored)} earlier nights restored from {args.site}")
        return 0
    try:
        kept = publish(args.site, args.reports, args.run, args.keep)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"site: run {args.run} published; {len(kept)} nights kept in {args.site}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
