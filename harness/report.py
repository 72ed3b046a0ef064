"""Render a run's summary as one self-contained HTML page (inline CSS, every string escaped)."""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from harness import fsio
from harness.status import Status, first_line
from harness.summary import Verdict

COLOURS = {
    Status.PASS: "#8fd19e", Status.FAIL: "#f28b82", Status.ERROR: "#fbbc6b",
    Status.TIMEOUT: "#c9a0f0", Status.CRASH: "#d9534f", Status.INSTALL_FAILED: "#9e9e9e",
    Status.KNOWN_FAILURE: "#a7c7f2", Status.FIXED: "#7fdbd0", Status.SKIPPED: "#fff176",
    Status.ABSENT: "#e8e8e8", Status.NOT_APPLICABLE: "#f5f5f5",
}
LOG_TAIL_LINES = 60


def environment():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["first_line"] = first_line
    return env


def _log_tail(row_dir: Path) -> str:
    try:
        lines = (row_dir / "pytest.log").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-LOG_TAIL_LINES:])


def render(summary: dict, verdict: Verdict, run_dir: Path, out: Path, perf=None) -> str:
    """HTML for `summary`; links to row files are relative to where `out` is written."""
    areas: dict[str, list[str]] = {}
    for fid, info in summary["features"].items():
        areas.setdefault(info["area"], []).append(fid)
    counts = {row["name"]: Counter(c["status"] for c in row["features"].values()) for row in summary["rows"]}
    row_links = {row["name"]: os.path.relpath(run_dir / "rows" / row["name"], out.parent).replace(os.sep, "/")
                 for row in summary["rows"]}
    logs = {row["name"]: _log_tail(run_dir / "rows" / row["name"]) for row in summary["rows"]}
    from harness.bisect import links

    return environment().get_template("report.html.j2").render(bisects=links(run_dir, out.parent),
        s=summary, verdict=verdict, colours={s.value: c for s, c in COLOURS.items()},
        areas=sorted(areas.items()), counts=counts, row_links=row_links, logs=logs, perf=perf,
        corpus_link=os.path.relpath(run_dir.parent.parent / "cases.json", out.parent).replace(os.sep, "/"),
    )


def write_report(summary: dict, verdict: Verdict, run_dir: Path, outs: list[Path], perf=None) -> None:
    for out in outs:
        fsio.write_text(out, render(summary, verdict, run_dir, out, perf))
