"""Benchmark data into comparisons and verdicts: across rows of one run, and against history.

The rule (see harness/stats.py for the model). Each side of a comparison is a set of processes,
each summarised by one statistic of its rounds (stats.process_stat: the 5th percentile of CPU
time); the ratio is new/base of their geometric means. Processes differ by more than their
rounds show, so the interval uses the process-to-process noise `sigma` of the log statistic,
pooled (weighted by degrees of freedom) from:
  * the A/A calibration of this machine (`python -m harness.calibrate`), or the built-in
    figure measured here when no calibration file exists (harness/calibration.py),
  * the history itself: the spread of each row's nightly values between change points
    (stats.robust_sigma: a burst of other jobs in one process does not widen it).
A benchmark is `slower` (`regression` against history) when BOTH
  * significance: p < ALPHA for "ratio == 1" (t test on the log ratio, process noise included),
  * size: the ratio is beyond 1 + min_effect, the resolution of the rounds themselves: the 95%
    half-width of the log ratio from each process's own order-statistic interval of its
    statistic (stats.resolution), and at least MIN_EFFECT_FLOOR.
ALPHA is 0.01 rather than 0.05 because calibration asks for no false alarm in 20 A/A
comparisons: at 0.05 two-sided the chance of none is 0.95^20 = 36%, at 0.01 it is 82% (90% for
the slower side alone, which is all that raises an alarm). The report shows 95% intervals.

Confirmation, across the whole night. One process now and then runs through a burst of other
jobs that slows even its fastest rounds (in the A/A calibration here: one process in 40 was 18%
slow on lowpass_biquad), so a single night's `regression` is only *suspected*. It is *confirmed*
(it goes into PerfReport.regressions, which fails the run) by the last k in RECENT runs together
against the baseline before them (harness/confirm.py: a t test on runs cleared of outliers and an
exact Mann-Whitney rank test must both show it, so bursts cannot), and the false alarms are
controlled across the night rather than per series: every series' confirmation p-value enters one
Benjamini-Hochberg family at NIGHT_FDR, and no series is confirmed above CONFIRM_ALPHA however few
series a night has. Change points, each of which resets its series' baseline, are one such family
too (_change_point_level). Pooling runs is what lets 3% process noise detect a 5% slowdown at all
(benchmarks/rule_year.py measures it; README, performance section).
A verdict whose noise rests on another machine's calibration is never confirmed into a failure
(harness/calibration.py). Memory is judged beside time by harness/memrule.py (never fails a run).

Neighbours: harness/calibration.py reads calibration files and holds the built-in noise table;
harness/perf_view.py turns a PerfReport into what the report shows.
"""
from __future__ import annotations

import math
import re
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from harness.calibration import load_calibration, prior_noise  # load_calibration: re-exported
from harness import confirm, memrule, settings, stats
from harness.confirm import NIGHT_FDR, RECENT  # noqa: F401  (re-exported)
from harness.benchfile import (  # noqa: F401  (re-exported: perf's readers keep their names)
    BenchmarkFileWarning, load_benchmarks, read_benchmarks)
from harness.benchfile import usable_rounds

ALPHA = 0.01
LEVEL = 0.95
MIN_EFFECT_FLOOR = 0.01   # policy: a change under 1% is not worth a verdict
HISTORY_WINDOW = 20       # at most this many previous runs form a baseline
MAX_HISTORY = 60          # change points are searched in at most this many runs

class PerfConfigError(ValueError):
    """A malformed expectations or calibration file; the text names the file and the entry."""


@dataclass(frozen=True)
class Slowdown:
    """A known slowdown: an expectations.toml [[slowdown]] entry with its upstream link."""

    benchmark: str                 # benchmark name; '*' matches anything ("test_mfcc[*]")
    link: str
    row: str | None = None
    package: str | None = None
    versions: str | None = None
    reason: str = ""

    def covers(self, benchmark: str, row: str, installed: dict[str, str | None]) -> bool:
        if not _glob(self.benchmark, benchmark):
            return False
        if self.row is not None:
            return row == self.row
        version = (installed or {}).get(self.package or "")
        if version is None:
            return False
        try:
            return Version(version) in SpecifierSet(self.versions or "", prereleases=True)
        except InvalidVersion:
            return False


def _glob(pattern: str, name: str) -> bool:
    """'*' and '?' wildcards; brackets are literal, as in test ids like test_mfcc[b16]."""
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, name) is not None


def load_slowdowns(path: str | Path) -> list[Slowdown]:
    """[[slowdown]] tables of an expectations file (other tables are ignored); a missing file
    means none. Raises PerfConfigError naming the file, entry and field when malformed."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PerfConfigError(f"{path}: cannot read: {exc}") from None
    entries = data.get("slowdown", [])
    if not isinstance(entries, list):
        raise PerfConfigError(f"{path}: 'slowdown' must be an array of tables ([[slowdown]])")
    result = []
    for i, entry in enumerate(entries, 1):
        where = f"{path}: [[slowdown]] #{i}"
        if not isinstance(entry, dict):
            raise PerfConfigError(f"{where}: must be a table")
        unknown = sorted(set(entry) - {"benchmark", "row", "package", "versions", "link", "reason"})
        if unknown:
            raise PerfConfigError(f"{where}: unknown field '{unknown[0]}'")
        for key in ("benchmark", "link"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise PerfConfigError(f"{where}: field '{key}' is required")
        if "://" not in entry["link"]:
            raise PerfConfigError(f"{where}: field 'link' must be a URL to the upstream report")
        row, package, versions = entry.get("row"), entry.get("package"), entry.get("versions")
        if (row is None) == (package is None):
            raise PerfConfigError(f"{where}: give either 'row' or 'package' with 'versions'")
        if row is not None and not isinstance(row, str):
            raise PerfConfigError(f"{where}: field 'row' must be a row name")
        if package is not None:
            if not isinstance(package, str) or not isinstance(versions, str):
                raise PerfConfigError(f"{where}: field 'versions' is required with 'package'")
            try:
                SpecifierSet(versions)
            except InvalidSpecifier:
                raise PerfConfigError(
                    f"{where}: field 'versions': bad specifier {versions!r}") from None
        result.append(Slowdown(entry["benchmark"], entry["link"], row, package, versions,
                               str(entry.get("reason", ""))))
    return result


# ---- the report --------------------------------------------------------------------------------

@dataclass
class Comparison:
    benchmark: str
    group: str
    row: str
    base: str            # the reference row, or "N earlier runs since <run_id>"
    kind: str            # "rows" or "history"
    ratio: float         # new/base ratio of the compared statistic (>1: slower)
    low: float           # 95% CI of the ratio
    high: float
    p_value: float
    verdict: str         # rows: faster/slower/same; history: regression/improvement/same
    value_s: float       # the compared statistic (stats.stat_name()) of each side, seconds
    base_value_s: float
    n_base: int          # processes on each side
    n_new: int
    sigma: float         # process noise used (SD of the log statistic) and where it came from
    noise_source: str
    min_effect: float    # the size the ratio had to exceed (resolution of the rounds)
    expected: Slowdown | None = None
    changed: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    confirmed: bool = False  # history: the previous run was a regression against this baseline too
    foreign_noise: bool = False  # sigma rests on another machine's calibration: never fails a run
    memory: list[memrule.MemoryVerdict] = field(default_factory=list)  # shown, never fails a run

    @property
    def anchor(self) -> str:
        return anchor(self.benchmark, self.row)

    def __str__(self) -> str:
        return self.describe()

    def describe(self) -> str:
        what = f"{self.benchmark} on {self.row} runs at {self.ratio:.2f}x of {self.base}"
        return (f"{what} (95% CI {self.low:.2f}-{self.high:.2f}, p={self.p_value:.2g}): "
                f"{self.verdict}")


@dataclass
class ChangePoint:
    benchmark: str
    row: str
    run_id: str          # the first run at the new level
    ratio: float         # new level / old level
    p_value: float


@dataclass
class SeriesPoint:
    run_id: str
    value_s: float       # the compared statistic of that run
    current: bool = False


@dataclass
class PerfReport:
    run_id: str
    rows: list[str]
    benchmarks: list[str]                 # in first-seen order
    groups: dict[str, str]
    cross_row: list[Comparison]
    history: list[Comparison]
    change_points: list[ChangePoint]
    regressions: list[Comparison]          # confirmed, not expected, noise of this machine: fail
    series: dict[str, dict[str, list[SeriesPoint]]]   # benchmark -> row -> points, oldest first
    noise: dict[str, dict]                # benchmark -> {"sigma", "df", "source"}
    warnings: list[str]
    throughput: dict[str, dict[str, float]] = field(default_factory=dict)  # items/s by row
    alpha: float = ALPHA
    level: float = LEVEL
    statistic: str = field(default_factory=stats.stat_name)  # what each process contributes

    def to_json(self) -> dict:
        return asdict(self)

    def rendered(self) -> dict:
        """harness.perf_view.render(self): what templates/perf.html.j2 shows (it accepts either)."""
        from harness.perf_view import render  # perf_view imports this module's types
        return render(self)


def anchor(benchmark: str, row: str) -> str:
    """HTML id of a benchmark/row cell: perf-<benchmark>-<row>, other characters as '-'."""
    return "perf-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{benchmark}-{row}").strip("-")


def size_threshold(base: list[list[float]], new: list[list[float]]) -> float:
    """The size threshold of a comparison: resolution of the rounds, at least the floor."""
    return max(MIN_EFFECT_FLOOR, stats.resolution([stats.stat_log_se(r) for r in base],
                                                  [stats.stat_log_se(r) for r in new]))


def verdict(est: stats.Estimate, min_effect: float, words=("slower", "faster")) -> str:
    """The decision rule: significant at ALPHA *and* at least `min_effect` in size."""
    if est.p_value < ALPHA and est.ratio >= 1.0 + min_effect:
        return words[0]
    if est.p_value < ALPHA and est.ratio <= 1.0 / (1.0 + min_effect):
        return words[1]
    return "same"


def _runs(summary: dict) -> dict[str, dict]:
    """A summary's rows by name (rows without a name are left out, as in the current run)."""
    return {str(row["name"]): row for row in summary.get("rows", [])
            if isinstance(row, dict) and row.get("name")}


def _bench(row: dict | None, name: str) -> dict | None:
    """A row's record of benchmark `name` if it holds usable rounds (older or hand-edited
    summaries may not), with its median and compared statistic recomputed from them."""
    benchmarks = (row or {}).get("benchmarks")
    record = benchmarks.get(name) if isinstance(benchmarks, dict) else None
    if not isinstance(record, dict):
        return None
    values = record.get("rounds")
    if not usable_rounds(values):
        return None
    return dict(record, median=stats.median(values), value=stats.process_stat(values))


def analyse(summary: dict, history: list[dict], expectations: list[Slowdown] | None = None,
            calibration: dict[str, dict] | None = None) -> PerfReport:
    """Compare the run's rows with each other and with each row's own history.

    `history` holds earlier summaries (any order; later or equal run ids are ignored).
    `calibration` defaults to the newest file in the settings' calibration folder (load_calibration)."""
    run_id = str(summary.get("run_id", ""))
    rows = [r for r in summary.get("rows", []) if isinstance(r, dict) and r.get("name")]
    previous = sorted((h for h in history
                       if isinstance(h, dict) and str(h.get("run_id", "")) < run_id),
                      key=lambda h: str(h.get("run_id")))[-MAX_HISTORY:]
    expectations = expectations or []
    report_warnings: list[str] = []
    if calibration is None:
        calibration, problems = load_calibration(settings.current().calibration)
        report_warnings += problems

    names: list[str] = []
    groups: dict[str, str] = {}
    for row in rows:
        benchmarks = row.get("benchmarks")
        for name in benchmarks if isinstance(benchmarks, dict) else ():
            record = _bench(row, name)
            if name not in groups and record is not None:
                names.append(name)
                groups[name] = str(record.get("group", ""))

    # Each row's series of earlier runs: [(run_id, record, installed)], oldest first.
    past: dict[tuple[str, str], list[tuple[str, dict, dict]]] = {}
    for run in previous:
        for row_name, row in _runs(run).items():
            for name in names:
                record = _bench(row, name)
                if record is not None:
                    past.setdefault((name, row_name), []).append(
                        (str(run.get("run_id")), record, row.get("installed") or {}))

    # The log statistic of every earlier record, once (_bench already computed each record's "value").
    logs_of = {key: [math.log(rec["value"]) for _, rec, _ in runs] for key, runs in past.items()}
    cp_alpha = _change_point_level(names, rows, logs_of)
    cross: list[Comparison] = []
    hist: list[Comparison] = []
    points: list[ChangePoint] = []
    series: dict[str, dict[str, list[SeriesPoint]]] = {}
    noise: dict[str, dict] = {}
    throughput: dict[str, dict[str, float]] = {}
    pending: list[tuple] = []  # per history comparison what its confirmation needs
    for name in names:
        prior, shifts = _noise(name, calibration, logs_of, cp_alpha)
        noise[name] = {"sigma": prior.sigma, "df": prior.df, "source": prior.source,
                       "foreign": prior.foreign}
        ref_row, ref = next((r, b) for r in rows if (b := _bench(r, name)) is not None)
        for row in rows:
            record = _bench(row, name)
            if record is None:
                continue
            if row is not ref_row:
                if record.get("clock") != ref.get("clock"):
                    report_warnings.append(f"{name}: {row['name']} and {ref_row['name']} used "
                                           "different clocks; not compared")
                else:
                    est = stats.compare_processes([ref["rounds"]], [record["rounds"]],
                                                  prior=prior, level=LEVEL)
                    cross.append(_comparison(name, groups[name], row, ref_row["name"], "rows",
                                             est, record, [ref], prior, ("slower", "faster"),
                                             expectations))
                    cross[-1].memory = memrule.compare([ref], record, calibration.get(name))
            items = (record.get("extra_info") or {}).get("items_per_round")
            if isinstance(items, (int, float)) and items > 0:
                throughput.setdefault(name, {})[row["name"]] = items / record["value"]
            runs = past.get((name, row["name"]), [])
            earlier = [run for run in runs if run[1].get("clock") == record.get("clock")]
            series.setdefault(name, {})[row["name"]] = (
                [SeriesPoint(rid, rec["value"]) for rid, rec, _ in earlier]
                + [SeriesPoint(run_id, record["value"], current=True)])
            if not earlier:
                continue
            if len(earlier) == len(runs):
                logs = logs_of[(name, row["name"])]
                cuts = shifts.get(row["name"], [])
            else:  # some earlier runs used another clock
                logs = [math.log(rec["value"]) for _, rec, _ in earlier]
                cuts = stats.change_points(logs, alpha=cp_alpha, min_effect=MIN_EFFECT_FLOOR)
            start = max([0] + [shift.index for shift in cuts])
            base = earlier[max(start, len(earlier) - HISTORY_WINDOW):]
            est = stats.compare_processes([rec["rounds"] for _, rec, _ in base],
                                          [record["rounds"]], prior=prior, level=LEVEL)
            label = f"{len(base)} earlier run{'s' if len(base) > 1 else ''} since {base[0][0]}"
            comparison = _comparison(name, groups[name], row, label, "history", est, record,
                                     [rec for _, rec, _ in base], prior,
                                     ("regression", "improvement"), expectations)
            comparison.changed = _changed(base[-1][2], row.get("installed") or {})
            comparison.memory = memrule.compare([rec for _, rec, _ in base], record,
                                                calibration.get(name))
            pending.append((comparison, [rec for _, rec, _ in earlier] + [record],
                            [shift.index for shift in cuts], prior, row))  # confirm.confirm
            hist.append(comparison)
            run_ids = [rid for rid, _, _ in earlier] + [run_id]
            full = logs + [math.log(record["value"])]
            for shift in stats.change_points(full, alpha=cp_alpha, min_effect=MIN_EFFECT_FLOOR):
                points.append(ChangePoint(name, row["name"], run_ids[shift.index], shift.ratio,
                                          shift.p_value))

    confirm.confirm(pending, expectations,
                    size_threshold, HISTORY_WINDOW, LEVEL)
    regressions = [c for c in hist if c.verdict == "regression" and c.confirmed
                   and c.expected is None and not c.foreign_noise]
    return PerfReport(
        run_id=run_id, rows=[r["name"] for r in rows], benchmarks=names, groups=groups,
        cross_row=cross, history=hist, change_points=points, regressions=regressions,
        series=series, noise=noise, warnings=report_warnings, throughput=throughput)


def _comparison(name, group, row, base_label, kind, est, record, base_records, prior, words,
                expectations) -> Comparison:
    size = size_threshold([r["rounds"] for r in base_records], [record["rounds"]])
    decided = verdict(est, size, words)
    expected = None
    if decided == words[0]:
        installed = row.get("installed") or {}
        expected = next((e for e in expectations if e.covers(name, row["name"], installed)), None)
    base_value = math.exp(sum(stats.log_stat(r["rounds"]) for r in base_records)
                          / len(base_records))
    return Comparison(
        benchmark=name, group=group, row=row["name"], base=base_label, kind=kind,
        ratio=est.ratio, low=est.low, high=est.high, p_value=est.p_value, verdict=decided,
        value_s=record["value"], base_value_s=base_value, n_base=len(base_records), n_new=1,
        sigma=prior.sigma, noise_source=prior.source, min_effect=size, expected=expected,
        foreign_noise=prior.foreign)


def _changed(before: dict, after: dict) -> dict[str, tuple[str | None, str | None]]:
    return {pkg: (before.get(pkg), after.get(pkg)) for pkg in sorted(set(before) | set(after))
            if before.get(pkg) != after.get(pkg)}


def _change_point_level(names: list[str], rows: list[dict], logs_of: dict[tuple[str, str], list[float]]) -> float:
    """The night's level for change points (stats.change_points' alpha): one hypothesis per
    series, "no level shift in its window" (the p-value of its best split, tonight's run
    included: stats.split_p_value), in one Benjamini-Hochberg family at NIGHT_FDR over every
    series of the night, never above ALPHA (stats.night_level). Each change point resets its
    series' baseline, so a spurious one costs detection power: per series at ALPHA, 200 series
    of pure noise gave 1.5 a night (benchmarks/rule_year.py)."""
    tonight = {(name, row["name"]): math.log(record["value"]) for row in rows for name in names
               if (record := _bench(row, name)) is not None}
    p_values = []
    for key in set(logs_of) | set(tonight):
        logs = logs_of.get(key, []) + ([tonight[key]] if key in tonight else [])
        if len(logs) >= 2 * stats.MIN_LEVEL:
            p_values.append(stats.split_p_value(logs)[1])
    return stats.night_level(p_values, NIGHT_FDR, cap=ALPHA)


def _noise(name: str, calibration: dict[str, dict], logs_of: dict[tuple[str, str], list[float]],
           cp_alpha: float) -> tuple[stats.Noise, dict]:
    """Prior process noise for `name`: calibration (or the built-in figure) pooled with the
    spread of every row's earlier runs between their change points; also those change points.
    A foreign prior (another machine's calibration, the built-in table) is left out once this
    machine's history holds at least as many degrees of freedom: then the verdict is this
    machine's own, and may fail a run."""
    parts = [prior_noise(name, calibration)]
    segments, shifts = [], {}
    for (bench, row), logs in logs_of.items():
        if bench != name:
            continue
        shifts[row] = stats.change_points(logs, alpha=cp_alpha, min_effect=MIN_EFFECT_FLOOR)
        cuts = [0] + [s.index for s in shifts[row]] + [len(logs)]
        segments += [logs[lo:hi] for lo, hi in zip(cuts, cuts[1:], strict=False)]
    sigma, df = stats.robust_sigma(segments)  # bursts of other jobs left out of the spread
    if df > 0:
        own = stats.Noise(sigma, df, "history")
        parts = [own] if parts[0].foreign and df >= parts[0].df else parts + [own]
    return stats.Noise.pool(parts), shifts
