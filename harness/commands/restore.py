"""`python -m harness restore --site SITE`: earlier nights' summaries into reports/runs/.

The site is the published folder (the gh-pages branch, fetched by ci/site.sh; its layout is in
harness/commands/publish.py). The report compares benchmarks against the nights it finds under
reports/runs/, so the nightly restores them before it renders.
"""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from harness import settings, summary


def run(site: Path, reports: Path) -> list[str]:
    """Copy the site's runs/<id>/summary.json into reports/runs/<id>/ (those not there yet), with its
    compact copies (history.json, rounds.json) when the site has them.

    Only summaries: run.json stays out, so a restored night never passes for the run being
    reported. Returns the restored run ids, oldest first. Raises OSError when reports/ is unwritable."""
    from harness.history_index import INDEX, ROUNDS

    restored = []
    for path in sorted(summary.runs_dir(site).glob("*/summary.json")):
        dest = summary.runs_dir(reports) / path.parent.name / "summary.json"
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
            for name in (INDEX, ROUNDS):  # the compact copies the report reads instead (harness.history_index)
                if (path.parent / name).exists():
                    shutil.copyfile(path.parent / name, dest.parent / name)
            restored.append(path.parent.name)
    return restored


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--site", type=Path, required=True, help="the published site (gh-pages checkout)")
    p.add_argument("--reports", type=Path, default=None, help="default: $HARNESS_REPORTS or reports/")


def main(args: argparse.Namespace) -> int:
    restored = run(args.site, args.reports or settings.current().reports)
    print(f"history: {len(restored)} earlier nights restored from {args.site}")
    return 0
