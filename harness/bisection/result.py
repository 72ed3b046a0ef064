"""A bisect's result: the typed model written to `<run>/bisect/<target>--<row>.json`
(schema_version), the summary and headline, and `links`, which the report uses to point a grid
cell at the bisect that explains it. Nothing here runs anything.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from harness import fsio, stats
from harness.bisection.plan import Candidate, Plan, moved
from harness.bisection.probe import Target
from harness.bisection.search import (BAD_END_GOOD, BOUNDARY, END_UNTESTABLE, FLAKY, GOOD_END_BAD,
                                      SKIPPED, Outcome, SearchResult, Verdict, compare,
                                      compare_pairs, compare_through_good_end, describe_estimate)
from harness.status import first_line

# 0: the files written before the version was recorded (the same fields as 1).
# 2: a benchmark's `result.ratio` says its `method` (RATIO_METHODS; before 2 always "unpaired"),
#    and a paired candidate's runs carry `pair`, `first`, `good_end` and `pair_ratio`.
SCHEMA_VERSION = 2
RATIO_METHODS = {
    "paired": "interleaved pairs of the two, back to back",
    "paired-through-good-end": "each side in interleaved pairs with the good end; the ratio of the two ratios",
    "unpaired": "each side's processes timed apart",
}


@dataclass
class Summary:
    """The answer: last good and first bad (each {index, version, versions, row}), or the
    suspects, or the flaky release; `failure` is one line, `ratio` a benchmark's estimate."""

    outcome: Outcome
    last_good: dict | None = None
    first_bad: dict | None = None
    flaky: dict | None = None
    suspects: list[dict | None] = field(default_factory=list)
    failure: str = ""
    ratio: dict | None = None  # {ratio, low, high, p_value, against, clock, method}

    def to_json(self) -> dict:
        return {**asdict(self), "outcome": self.outcome.value}


@dataclass
class BisectResult:
    """The result file: what was bisected between which ends, the answer, every candidate."""

    target: str
    kind: str                     # "feature" or "benchmark"
    feature: str | None
    mode: str                     # "package" or "train"
    subject: str
    description: str
    notes: list[str]
    explains: dict                # {"row": grid row or None, "feature": the cell's feature}
    good: dict                    # {"spec", "row", "requirements", "versions"}
    bad: dict
    result: Summary
    candidates: list[dict]
    probes: list[list]            # [candidate index, verdict] in the order asked
    rows_built: int
    started: str
    finished: str
    seconds: float
    command: list[str]

    def to_json(self) -> dict:
        out = {"schema_version": SCHEMA_VERSION, **asdict(self)}
        out["result"] = self.result.to_json()
        return out


def migrate(data: dict) -> dict:
    """A stored result in the current schema; raises ValueError for a newer or unknown one."""
    version = data.get("schema_version", 0)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise ValueError(f"bisect result schema_version {version!r}: this harness reads up to "
                         f"{SCHEMA_VERSION}")
    out = {**data, "schema_version": SCHEMA_VERSION}  # 0 -> 1 added only the version
    result = out.get("result")
    if version < 2 and isinstance(result, dict) and isinstance(result.get("ratio"), dict):
        out["result"] = {**result, "ratio": {**result["ratio"], "method": "unpaired"}}
    return out


def benchmark_estimate(base: Candidate, new: Candidate) -> tuple[stats.Estimate, str]:
    """new / base for two timed candidates, and its method (RATIO_METHODS): from new's pairs
    when base is the good end they were paired with, from both candidates' pairs with the good
    end otherwise, from the processes' rounds when unpaired. ValueError when there is nothing
    to compare."""
    if new.pairs and base.index == 0:
        return compare_pairs(new.pairs), "paired"
    if new.pairs and base.pairs:
        return compare_through_good_end(base.pairs, new.pairs), "paired-through-good-end"
    return compare(base.rounds, new.rounds), "unpaired"


def read_result(path: Path) -> dict:
    """A result file, migrated; raises OSError or ValueError (json) for an unreadable one."""
    data = fsio.read_json(path)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a bisect result")
    return migrate(data)


def cand_json(plan: Plan, cand: Candidate) -> dict:
    """One candidate as the result file lists it: its pairing, how it was held, its runs."""
    return {"index": cand.index, "version": cand.version,
            "row": cand.row.name if cand.row else None,
            "requirements": cand.row.requirements() if cand.row else [],
            "held": "end" if cand.end else ("held", "moved within the ends' range", "freed")[cand.level],
            "versions": {p: cand.versions[p] for p in plan.shown() if cand.versions.get(p)},
            "moved": moved(plan, cand), "built": cand.built, "install_seconds": cand.install_seconds,
            "skip": cand.skip, "verdict": (cand.verdict().value if (cand.runs or cand.skip)
                                           else "untested"),
            "runs": cand.runs}


def summarize(plan: Plan, target: Target, cands: list[Candidate], result: SearchResult) -> Summary:
    """last good, first bad, the failure's first line (or the ratio, with the clock timed)."""
    def who(i: int | None) -> dict | None:
        if i is None:
            return None
        c = cands[i]
        return {"index": i, "version": c.version, "versions": cand_json(plan, c)["versions"],
                "row": c.row.name if c.row else None}

    out = Summary(result.outcome, who(result.last_good), who(result.first_bad), who(result.flaky),
                  [who(i) for i in result.suspects])
    if result.first_bad is not None and result.outcome in (BOUNDARY, SKIPPED):
        bad = cands[result.first_bad]
        failing = [r for r in bad.runs if r["verdict"] == "bad"]
        out.failure = first_line(failing[0]["message"]) if failing else ""
        if target.benchmark and result.last_good is not None and cands[result.last_good].rounds:
            e, method = benchmark_estimate(cands[result.last_good], bad)
            out.ratio = {"ratio": e.ratio, "low": e.low, "high": e.high, "p_value": e.p_value,
                         "against": "last good", "clock": bad.clock, "method": method}
            out.failure = (f"{target.name}: {describe_estimate(e)} against the last good release "
                           f"({RATIO_METHODS[method]})")
    ends = (cands[0], cands[-1])
    if result.outcome == GOOD_END_BAD:
        failing = [r for r in ends[0].runs if r["verdict"] == "bad"]
        out.failure = "the good end: " + (first_line(failing[0]["message"]) if failing else "?")
    elif result.outcome == BAD_END_GOOD and target.benchmark and ends[0].rounds and ends[1].rounds:
        e, method = benchmark_estimate(ends[0], ends[1])
        out.ratio = {"ratio": e.ratio, "low": e.low, "high": e.high, "p_value": e.p_value,
                     "against": "good end", "clock": ends[1].clock, "method": method}
        out.failure = f"the bad end against the good end: {describe_estimate(e)} ({RATIO_METHODS[method]})"
    elif result.outcome == END_UNTESTABLE:
        out.failure = "; ".join(f"{c.version}: {c.skip or (c.runs[-1]['message'] if c.runs else '')}"
                                   for c in ends if c.verdict() is Verdict.SKIP)
    if result.flaky is not None:
        runs = cands[result.flaky].runs
        out.failure = "; ".join(f"run {r['run']}: {r['status']}"
                                   + (f" {first_line(r['message'], 120)}" if r['message'] else "")
                                   for r in runs)
    return out


def headline(plan: Plan, summary: Summary) -> list[str]:
    """The result in a few lines for the terminal."""
    s = plan.subject

    def v(who: dict | None) -> str:
        if not who:
            return "-"
        extra = ", ".join(f"{k} {val}" for k, val in who["versions"].items() if k != s)
        return f"{s} {who['version']}" + (f" ({extra})" if extra else "")

    outcome = summary.outcome
    lines = []
    if outcome == BOUNDARY:
        lines += [f"last good: {v(summary.last_good)}", f"first bad: {v(summary.first_bad)}"]
    elif outcome == SKIPPED:
        lines += [f"last good: {v(summary.last_good)}",
                  "first bad: one of " + ", ".join(v(w) for w in summary.suspects)
                  + " (the ones between could not be tested)"]
    elif outcome == FLAKY:
        lines.append(f"flaky: {v(summary.flaky)} both passes and fails; no boundary is claimed")
    elif outcome == GOOD_END_BAD:
        lines.append("the good end is not good: nothing to bisect")
    elif outcome == BAD_END_GOOD:
        lines.append("the bad end is not bad: nothing to bisect")
    else:
        lines.append("an end could not be installed or checked")
    if summary.failure:
        lines.append(("ratio: " if summary.ratio else "failure: ") + summary.failure)
    return lines


def links(run_dir: Path, page_dir: Path | None = None) -> dict[str, dict]:
    """Bisect results stored in a run, keyed "<row>/<feature>" for the grid cell each explains:
    {"file": path relative to run_dir, "href": the same relative to page_dir (where the page
    that links it is written), "text": one line for the cell}."""
    found = {}
    for path in sorted((run_dir / "bisect").glob("*.json")):
        try:
            data = read_result(path)
            key = f"{data['explains']['row']}/{data['explains']['feature']}"
        except (OSError, ValueError, KeyError, TypeError):
            continue
        r = data.get("result", {})
        bad = r.get("first_bad") or {}
        text = {BOUNDARY: f"first bad: {data.get('subject')} {bad.get('version')}",
                FLAKY: "bisect: flaky"}.get(r.get("outcome"), f"bisect: {r.get('outcome')}")
        href = os.path.relpath(path, page_dir or run_dir).replace(os.sep, "/")
        found[key] = {"file": path.relative_to(run_dir).as_posix(), "href": href, "text": text}
    return found
