"""The commands CI runs between nox sessions, one module each, asv-style.

Each module has a typed `run(...)` that does the work and returns data (raising
`CommandError` on bad input), and an argparse adapter: `add_arguments(parser)` and
`main(args) -> int`. harness/cli.py registers them:

    python -m harness plan     the rows of one CI run as a GitHub Actions matrix (plan.py)
    python -m harness merge    the rows several machines ran, as one run (merge.py)
    python -m harness restore  earlier nights from the published site into reports/runs/ (restore.py)
    python -m harness publish  this night into the published site, with its history page (publish.py)
    python -m harness verdict  a run's verdict as Markdown: job summary and issue body (verdict.py)
"""
from __future__ import annotations

NAMES = ("plan", "merge", "restore", "publish", "verdict")


class CommandError(Exception):
    """Bad input to a command (a missing run, an unknown row): one line, exit status 2."""
