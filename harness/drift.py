"""Drift: a comparison whose measured error grew more than tenfold against its own history,
while still within its tolerance. An early warning, shown in the report; it never changes the
exit status (the tolerance decides pass or fail).

One comparison is identified across runs by (row name, feature, test node id, measurement name,
metric). Its history is the error it measured in the last `WINDOW` earlier runs of the same row
that measured it (runs that did not, e.g. a subset of suites, are passed over); the baseline is
their median, so one odd night neither raises nor hides a flag, and after a real change the new
level becomes the baseline within three runs (until then the flag stays up, night after night).

Errors are compared on their own scale: `value` for lower-is-better metrics, the noise amplitude
10 ** (-dB / 20) for `snr_db`. A baseline below `FLOOR` times the tolerance (a bit-exact match
is 0) counts as that floor, so a flag needs the error to reach at least FACTOR x FLOOR = 1/1000
of its tolerance: growth among round-off far below the tolerance is not reported.
"""
from __future__ import annotations

import hashlib
import json
import math
import statistics
from dataclasses import dataclass

from harness.measure import HIGHER_IS_BETTER, Measurement, json_number

FACTOR = 10.0   # more than tenfold growth is drift
WINDOW = 5      # the last 5 earlier runs of the row that measured the comparison
FLOOR = 1e-4    # of the tolerance: the smallest baseline an error is compared with


@dataclass(frozen=True)
class Drift:
    row: str
    feature: str
    test: str
    name: str
    metric: str
    baseline: float      # median error over `runs` ("from")
    current: float       # this run's error ("to")
    factor: float        # current / max(baseline, FLOOR x tolerance)
    headroom: float      # this run's headroom (>= 1: still within tolerance)
    runs: tuple[str, ...]

    def to_json(self) -> dict:
        return {"row": self.row, "feature": self.feature, "test": self.test, "name": self.name,
                "metric": self.metric, "from": self.baseline, "to": self.current,
                "factor": json_number(self.factor), "headroom": json_number(self.headroom), "runs": list(self.runs)}

    def __str__(self) -> str:
        return (f"{self.row}: {self.feature}: {self.name} ({self.metric}) error grew x{self.factor:.3g} "
                f"against the median of {len(self.runs)} earlier run(s) ({self.baseline:.3g} -> "
                f"{self.current:.3g}), headroom now x{self.headroom:.3g}")


def error_of(metric: str, value: float) -> float:
    """The error on a lower-is-better scale: `value`, or the noise amplitude of an SNR in dB."""
    return 10 ** (-value / 20) if metric in HIGHER_IS_BETTER else value


def _parse(entry: dict) -> Measurement | None:
    try:
        return Measurement.from_json(entry)
    except (KeyError, TypeError, ValueError):
        return None


def compare_with_history(current: Measurement, past: list[Measurement], *, factor: float = FACTOR,
                         floor: float = FLOOR) -> tuple[float, float, float] | None:
    """(baseline, current error, growth) when `current` drifted against `past` (same comparison,
    any order), else None. Needs at least one past value; a failing measurement is not drift."""
    past = [p for p in past if p.metric == current.metric and not math.isnan(p.value)]
    if not past or not current.headroom >= 1 or math.isnan(current.value):
        return None
    now = error_of(current.metric, current.value)
    baseline = statistics.median(error_of(p.metric, p.value) for p in past)
    reference = max(baseline, floor * error_of(current.metric, current.tolerance))
    if reference <= 0 or not math.isfinite(now):
        return None
    growth = now / reference
    return (baseline, now, growth) if growth > factor else None


def _key(entry: dict) -> tuple:
    return entry.get("test", ""), entry.get("name", ""), entry.get("metric", "")


def find(summary: dict, history: list[dict], *, window: int = WINDOW, factor: float = FACTOR,
         floor: float = FLOOR) -> list[Drift]:
    """Every drifting comparison of `summary` against `history` (earlier summaries, any order;
    runs not earlier than this one are ignored; summaries without measurements are fine)."""
    run_id = str(summary.get("run_id", ""))
    earlier = sorted((h for h in history if isinstance(h, dict) and str(h.get("run_id", "")) < run_id),
                     key=lambda h: str(h.get("run_id")))
    # (row, feature, test, name, metric) -> [(run id, measurement)], oldest first
    past: dict[tuple, list[tuple[str, Measurement]]] = {}
    for run in earlier:
        for row in run.get("rows") or []:
            if not isinstance(row, dict):
                continue
            for fid, cell in (row.get("features") or {}).items():
                for entry in (cell.get("measured") or []) if isinstance(cell, dict) else []:
                    if isinstance(entry, dict) and (m := _parse(entry)) is not None:
                        past.setdefault((row.get("name"), fid, *_key(entry)), []).append((str(run.get("run_id")), m))
    found = []
    for row in summary.get("rows") or []:
        for fid, cell in (row.get("features") or {}).items():
            for entry in cell.get("measured") or []:
                current = _parse(entry)
                series = past.get((row["name"], fid, *_key(entry)), [])[-window:]
                if current is None or not series:
                    continue
                result = compare_with_history(current, [m for _, m in series], factor=factor, floor=floor)
                if result:
                    baseline, now, growth = result
                    found.append(Drift(row["name"], fid, entry.get("test", ""), current.name, current.metric,
                                       baseline, now, growth, current.headroom, tuple(r for r, _ in series)))
    return found


def parses(entry) -> bool:
    """Whether a stored measured entry is one `find` reads."""
    return isinstance(entry, dict) and _parse(entry) is not None


def comparison_hash(feature: str, entry: dict) -> str:
    """A short id of one comparison within a row (feature, test, name, metric), as the history index
    (harness.history_index) lists the comparisons each earlier run measured."""
    return hashlib.sha1(json.dumps([feature, *_key(entry)]).encode()).hexdigest()[:12]


def runs_needed(summary: dict, history: list[dict], *, window: int = WINDOW) -> list[str]:
    """The run ids `find` reads for `summary`: for each of its comparisons, the newest `window` earlier
    runs whose row measured it. `history` holds slim summaries (harness.history_index.load) whose rows
    carry `measured_hashes` (comparison_hash of each comparison, space-separated); `find` over just
    those runs' whole summaries gives what it gives over all of them. Walks back from the newest run
    and stops once every comparison has `window` runs."""
    run_id = str(summary.get("run_id", ""))
    wanted: dict[str, dict[str, int]] = {}   # row -> comparison hash -> runs found so far
    for row in summary.get("rows") or []:
        for fid, cell in (row.get("features") or {}).items():
            for entry in cell.get("measured") or []:
                if parses(entry):
                    wanted.setdefault(row["name"], {})[comparison_hash(fid, entry)] = 0
    open_keys = sum(len(keys) for keys in wanted.values())
    needed: set[str] = set()
    for run in sorted((h for h in history if str(h.get("run_id", "")) < run_id),
                      key=lambda h: str(h.get("run_id")), reverse=True):
        if not open_keys:
            break
        for row in run.get("rows") or []:
            keys = wanted.get(row.get("name"))
            if not keys:
                continue
            for key in set(str(row.get("measured_hashes") or "").split()) & keys.keys():
                if keys[key] < window:
                    keys[key] += 1
                    needed.add(str(run["run_id"]))
                    open_keys -= keys[key] == window
    return sorted(needed)


def annotate(summary: dict, history: list[dict], **kwargs) -> list[Drift]:
    """`find`, then mark `summary` in place: each drifting entry of a feature's `measured` gets
    `drift` (its growth factor), the feature gets `drift` (its largest growth, as Drift.to_json),
    and the summary gets `drift` (every one, largest growth first)."""
    drifts = sorted(find(summary, history, **kwargs), key=lambda d: -d.factor)
    rows = {row["name"]: row for row in summary.get("rows") or []}
    for d in reversed(drifts):  # smallest first, so the largest is written last
        cell = rows[d.row]["features"][d.feature]
        for entry in cell.get("measured") or []:
            if _key(entry) == (d.test, d.name, d.metric):
                entry["drift"] = json_number(d.factor)
        cell["drift"] = d.to_json()
    summary["drift"] = [d.to_json() for d in drifts]
    return drifts
