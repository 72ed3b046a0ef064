"""harness.perf: loading benchmark files and expectations, the verdicts, history (rendering: test_perf_view)."""
import json
import math
import random

import jinja2
import pytest

from harness import calibration, fsio, perf, settings

TEMPLATES = settings.ROOT / "harness" / "templates"
PRIOR = {"test_op": {"sigma": 0.03, "df": 19}}  # a calibration: 3% process noise


def rounds(rng, level, *, sigma=0.03, cv=0.03, n=30):
    """One simulated process: a process-wide factor (sigma) times delays from other jobs
    (exponential, mean cv: contention only ever adds time)."""
    factor = math.exp(rng.gauss(0.0, sigma))
    return [level * factor * (1 + rng.expovariate(1.0) * cv) for _ in range(n)]


def record(values, clock="process_time"):
    return {"group": "g", "unit": "s", "rounds": values, "median": sorted(values)[len(values) // 2],
            "clock": clock}


def summary(run_id, levels, seed, *, installed=None):
    """A run whose rows have one benchmark, test_op, at the given median levels (seconds)."""
    rng = random.Random(seed)
    return {"run_id": run_id, "rows": [
        {"name": name, "installed": (installed or {}).get(name, {"torch": "2.14.1"}),
         "benchmarks": {"test_op": record(rounds(rng, level))}}
        for name, level in levels.items()]}


def history(n, levels, seed=100):
    return [summary(f"202611{i + 1:02d}T000000Z", levels, seed + i) for i in range(n)]


def pytest_benchmark_json(tmp_path, entries):
    path = tmp_path / "benchmark.json"
    path.write_text(json.dumps({"machine_info": {}, "benchmarks": entries}))
    return path


def entry(name, data, **extra):
    return {"group": "vision", "name": name, "fullname": f"suites/bench/x.py::{name}",
            "options": {"timer": "time.process_time"}, "extra_info": extra,
            "stats": {"median": 1.0, "data": data}}


# ---- loading -------------------------------------------------------------------------------------

def test_benchmark_file_gives_raw_rounds_and_summary(tmp_path):
    path = pytest_benchmark_json(tmp_path, [entry("test_a[b1]", [0.3, 0.1, 0.2])])
    data = perf.load_benchmarks(path)
    assert data["test_a[b1]"]["rounds"] == [0.3, 0.1, 0.2]
    assert data["test_a[b1]"]["median"] == 0.2
    assert data["test_a[b1]"]["group"] == "vision"
    assert data["test_a[b1]"]["clock"] == "process_time"
    assert data.warnings == []
    json.dumps(data)  # goes into summary.json as it is


def test_externally_timed_rounds_take_precedence(tmp_path):
    path = pytest_benchmark_json(tmp_path, [entry("test_gpu", [1.0, 1.0], timer="cuda-events",
                                                  cuda_event_rounds=[0.5, 0.25])])
    data = perf.load_benchmarks(path)
    assert data["test_gpu"]["rounds"] == [0.5, 0.25]
    assert data["test_gpu"]["clock"] == "cuda-events"


def test_missing_or_corrupt_file_gives_nothing_and_a_warning_and_is_left_alone(tmp_path):
    missing = tmp_path / "nope.json"
    with pytest.warns(perf.BenchmarkFileWarning, match="no benchmark file"):
        assert perf.load_benchmarks(missing) == {}
    assert not missing.exists()
    corrupt = tmp_path / "benchmark.json"
    corrupt.write_bytes(b'{"benchmarks": [ {"na')
    data, problems = perf.read_benchmarks(corrupt)
    assert data == {} and "unreadable" in problems[0]
    assert corrupt.read_bytes() == b'{"benchmarks": [ {"na'


def test_an_entry_without_rounds_is_left_out_with_a_warning(tmp_path):
    path = pytest_benchmark_json(tmp_path, [entry("test_ok", [0.1]), entry("test_bad", []),
                                            entry("test_neg", [0.1, -1.0])])
    data, problems = perf.read_benchmarks(path)
    assert list(data) == ["test_ok"]
    assert len(problems) == 2 and "test_bad" in problems[0]


def test_slowdowns_load_by_row_or_by_package_versions(write):
    path = write("expectations.toml", """
        [[known_failure]]
        feature = "core.x"

        [[slowdown]]
        benchmark = "test_mfcc[*]"
        package = "torchaudio"
        versions = ">=2.9"
        link = "https://github.com/pytorch/audio/issues/1"

        [[slowdown]]
        benchmark = "test_op"
        row = "torch-2.14"
        link = "https://github.com/pytorch/pytorch/issues/2"
        reason = "dispatcher overhead"
        """)
    audio, op = perf.load_slowdowns(path)
    assert audio.covers("test_mfcc[b16]", "any-row", {"torchaudio": "2.11.0"})
    assert not audio.covers("test_mfcc[b16]", "any-row", {"torchaudio": "2.3.1"})
    assert not audio.covers("test_mfcc[b16]", "any-row", {"torchaudio": None})
    assert not audio.covers("test_lowpass_biquad[b1]", "r", {"torchaudio": "2.11.0"})
    assert op.covers("test_op", "torch-2.14", {}) and not op.covers("test_op", "torch-2.3", {})
    assert op.reason == "dispatcher overhead"


@pytest.mark.parametrize("body,problem", [
    ('benchmark = "b"\nrow = "r"', "'link' is required"),
    ('benchmark = "b"\nrow = "r"\nlink = "see slack"', "must be a URL"),
    ('benchmark = "b"\nlink = "https://x/1"', "either 'row' or 'package'"),
    ('benchmark = "b"\nrow = "r"\npackage = "torch"\nversions = ">1"\nlink = "https://x/1"',
     "either 'row' or 'package'"),
    ('benchmark = "b"\npackage = "torch"\nversions = "2.x"\nlink = "https://x/1"', "bad specifier"),
    ('benchmark = "b"\nrow = "r"\nlink = "https://x/1"\nlinks = 1', "unknown field 'links'"),
])
def test_malformed_slowdowns_name_file_entry_and_field(write, body, problem):
    path = write("expectations.toml", "[[slowdown]]\n" + body + "\n")
    with pytest.raises(perf.PerfConfigError, match=problem) as err:
        perf.load_slowdowns(path)
    assert str(path) in str(err.value) and "#1" in str(err.value)


def test_no_expectations_file_means_no_slowdowns(tmp_path):
    assert perf.load_slowdowns(tmp_path / "expectations.toml") == []


def test_calibration_uses_the_newest_usable_file_and_leaves_a_corrupt_one_alone(tmp_path):
    fsio.write_json(tmp_path / "20261101T000000Z.json",
                           {"benchmarks": {"test_op": {"sigma": 0.04, "df": 19}}})
    bad = tmp_path / "20261102T000000Z.json"
    bad.write_text("{not json")
    entries, problems = perf.load_calibration(tmp_path)
    assert entries["test_op"]["sigma"] == 0.04
    assert "20261102T000000Z.json" in problems[0]
    assert bad.read_text() == "{not json"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "20261101T000000Z.json", "20261102T000000Z.json"]  # no temporary files left behind


# ---- verdicts --------------------------------------------------------------------------------------

def test_a_twenty_percent_regression_is_flagged_and_a_steady_row_is_not():
    past = history(10, {"torch-2.3": 0.050, "torch-2.14": 0.050})
    now = summary("20261126T000000Z", {"torch-2.3": 0.050, "torch-2.14": 0.060}, seed=7)
    report = perf.analyse(now, past, [], calibration=PRIOR)
    by_row = {c.row: c for c in report.history}
    assert by_row["torch-2.14"].verdict == "regression"
    assert by_row["torch-2.14"].ratio == pytest.approx(1.2, rel=0.08)
    assert by_row["torch-2.14"].low > 1.0
    assert by_row["torch-2.3"].verdict == "same"
    assert by_row["torch-2.14"].anchor == "perf-test_op-torch-2.14"
    (cross,) = report.cross_row
    assert (cross.row, cross.base, cross.verdict) == ("torch-2.14", "torch-2.3", "slower")
    # One night is only suspected: a burst of other jobs can slow a whole process.
    assert not by_row["torch-2.14"].confirmed and report.regressions == []
    html = render_html(report)
    assert 'id="perf-test_op-torch-2.14" class="perf-suspected"' in html
    assert "Suspected regressions" in html


def test_a_regression_on_four_runs_in_a_row_is_confirmed():
    past = history(20, {"torch-2.3": 0.050, "torch-2.14": 0.050})
    for day, seed in ((23, 4), (24, 5), (25, 6)):
        past.append(summary(f"202611{day}T000000Z", {"torch-2.3": 0.05, "torch-2.14": 0.06}, seed))
    # Three slow runs are not enough: the rule looks at four runs at least (confirm.RECENT).
    assert perf.analyse(past[-1], past[:-1], [], calibration=PRIOR).regressions == []
    now = summary("20261126T000000Z", {"torch-2.3": 0.050, "torch-2.14": 0.060}, seed=7)
    report = perf.analyse(now, past, [], calibration=PRIOR)
    (regression,) = report.regressions
    assert (regression.row, regression.verdict, regression.confirmed) == (
        "torch-2.14", "regression", True)
    assert regression.base == "the last 4 runs together against the 20 before them"
    assert regression.ratio == pytest.approx(1.2, rel=0.05) and regression.low > 1.1
    # It fails every night until the new level is RECENT[-1] runs old; then it is the baseline.
    past.append(now)
    for day in range(27, 27 + perf.RECENT[-1] - 4):
        past.append(summary(f"202611{day}T000000Z", {"torch-2.3": 0.05, "torch-2.14": 0.06}, day))
    assert [c.row for c in perf.analyse(past[-1], past[:-1], [], PRIOR).regressions] == [
        "torch-2.14"]  # the 8th run at the new level
    later = perf.analyse(summary("20261205T000000Z", {"torch-2.3": 0.05, "torch-2.14": 0.06}, 9),
                         past, [], calibration=PRIOR)
    assert later.regressions == []
    assert [(cp.row, cp.run_id) for cp in later.change_points] == [
        ("torch-2.14", "20261123T000000Z")]


def aa_nights(count, first_seed):
    """`count` independent A/A nights: the same code against its own 10 earlier nights."""
    for seed in range(first_seed, first_seed + count):
        past = history(10, {"torch-2.14": 0.05}, seed=5000 + 10 * seed)
        yield perf.analyse(summary("20261126T000000Z", {"torch-2.14": 0.05}, seed=1000 + seed),
                           past, [], calibration=PRIOR)


def test_no_alarm_in_twenty_aa_comparisons():
    assert [r.regressions for r in aa_nights(20, 0)] == [[]] * 20


def test_the_false_verdict_rate_is_about_alpha():
    """Either way (regression or improvement) over 300 A/A nights: about ALPHA, 1% (3 of 300
    here), never far above it."""
    verdicts = [c.verdict for r in aa_nights(300, 0) for c in r.history]
    assert len(verdicts) == 300
    assert sum(v != "same" for v in verdicts) <= 2 * perf.ALPHA * 300


def test_an_aa_pair_of_rows_is_the_same_and_a_faster_row_is_faster():
    now = summary("20261126T000000Z", {"a": 0.05, "b": 0.05, "c": 0.035}, seed=3)
    report = perf.analyse(now, [], [], calibration=PRIOR)
    verdicts = {c.row: c.verdict for c in report.cross_row}
    assert verdicts == {"b": "same", "c": "faster"}
    assert report.history == [] and report.regressions == []


def test_a_known_slowdown_is_reported_but_not_a_regression():
    past = history(10, {"torch-2.14": 0.05})
    now = summary("20261126T000000Z", {"torch-2.14": 0.06}, seed=7)
    known = [perf.Slowdown("test_op", "https://github.com/pytorch/pytorch/issues/1",
                           package="torch", versions=">=2.14")]
    report = perf.analyse(now, past, known, calibration=PRIOR)
    (comparison,) = report.history
    assert comparison.verdict == "regression" and comparison.expected == known[0]
    assert report.regressions == []


def test_a_level_shift_becomes_a_change_point_and_the_new_baseline():
    past = history(10, {"r": 0.05}) + [summary(f"202611{20 + i}T000000Z", {"r": 0.065}, 50 + i)
                                       for i in range(perf.RECENT[-1])]
    now = summary("20261129T000000Z", {"r": 0.065}, seed=9)
    report = perf.analyse(now, past, [], calibration=PRIOR)
    (cp,) = report.change_points
    assert cp.run_id == "20261120T000000Z" and cp.ratio == pytest.approx(1.3, rel=0.05)
    (comparison,) = report.history
    assert comparison.verdict == "same" and comparison.n_base == 8
    assert comparison.base == "8 earlier runs since 20261120T000000Z"
    assert report.regressions == []  # the new level is older than RECENT[-1] runs


def test_history_ignores_later_runs_other_clocks_and_rows_without_data():
    now = summary("20261110T000000Z", {"r": 0.05}, seed=1)
    later = summary("20261111T000000Z", {"r": 0.5}, seed=2)
    other_clock = summary("20261105T000000Z", {"r": 0.5}, seed=3)
    other_clock["rows"][0]["benchmarks"]["test_op"]["clock"] = "perf_counter"
    failed = {"run_id": "20261106T000000Z", "rows": [
        {"name": "r", "install": {"status": "install-failed"}, "benchmarks": {}}]}
    report = perf.analyse(now, [later, other_clock, failed, now], [], calibration=PRIOR)
    assert report.history == []
    assert [p.run_id for p in report.series["test_op"]["r"]] == ["20261110T000000Z"]


def test_throughput_is_items_per_round_over_the_compared_statistic():
    run = summary("20261126T000000Z", {"r": 0.05}, seed=1)
    op = run["rows"][0]["benchmarks"]["test_op"]
    op["extra_info"] = {"items_per_round": 1000}
    report = perf.analyse(run, [], [], calibration=PRIOR)
    assert report.throughput["test_op"]["r"] == pytest.approx(
        1000 / perf.stats.process_stat(op["rounds"]))
    assert "/s</span>" in render_html(report)


def test_unusable_records_in_old_summaries_are_skipped():
    now = summary("20261126T000000Z", {"r": 0.05}, seed=1)
    broken = [summary(f"2026110{i}T000000Z", {"r": 0.05}, seed=i) for i in range(1, 4)]
    broken[0]["rows"][0]["benchmarks"]["test_op"] = {"rounds": [0.05, -1.0]}
    broken[1]["rows"][0]["benchmarks"] = None
    del broken[2]["rows"][0]["benchmarks"]["test_op"]["median"]
    report = perf.analyse(now, broken, [], calibration=PRIOR)
    assert [p.run_id for p in report.series["test_op"]["r"]] == [
        "20261103T000000Z", "20261126T000000Z"]


def test_version_changes_since_the_baseline_are_listed():
    past = history(5, {"r": 0.05})
    now = summary("20261126T000000Z", {"r": 0.05}, seed=4, installed={"r": {"torch": "2.15.0"}})
    (comparison,) = perf.analyse(now, past, [], calibration=PRIOR).history
    assert comparison.changed == {"torch": ("2.14.1", "2.15.0")}


def test_without_calibration_the_built_in_noise_and_history_are_pooled(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_CALIBRATION", str(tmp_path / "none"))
    report = perf.analyse(summary("20261126T000000Z", {"r": 0.05}, 1), history(6, {"r": 0.05}))
    assert report.noise["test_op"]["source"] == f"{calibration.DEFAULT_NOISE.source} + history"
    assert report.noise["test_op"]["df"] == calibration.DEFAULT_NOISE.df + 5


def render_html(perf_value):
    """The report's performance section (templates/perf.html.j2) for a PerfReport or its view."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    return env.from_string('{% include "perf.html.j2" %}').render(perf=perf_value)


# ---- noise from another machine ------------------------------------------------------------------

def slow_nights():
    """Twenty nights at 50 ms, then four at 60 ms on torch-2.14 (the last one returned apart)."""
    past = history(20, {"torch-2.3": 0.050, "torch-2.14": 0.050})
    for day, seed in ((23, 4), (24, 5), (25, 6)):
        past.append(summary(f"202611{day}T000000Z", {"torch-2.3": 0.05, "torch-2.14": 0.06}, seed))
    return summary("20261126T000000Z", {"torch-2.3": 0.050, "torch-2.14": 0.060}, seed=7), past


def test_a_confirmed_regression_judged_with_another_machines_noise_never_fails_the_run():
    now, past = slow_nights()
    # More degrees of freedom than the 23 nights of history hold, so the foreign prior stays in use.
    foreign = {"test_op": {"sigma": 0.03, "df": 200, "source": "calibration on ci-9 "
                           "(another machine)", "foreign": True}}
    report = perf.analyse(now, past, [], calibration=foreign)
    (hist,) = [c for c in report.history if c.row == "torch-2.14"]
    assert (hist.verdict, hist.confirmed, hist.foreign_noise) == ("regression", True, True)
    assert report.regressions == [] and report.noise["test_op"]["foreign"]
    view = report.rendered()
    (suspected,) = view["suspected"]
    assert "another machine" in suspected["text"] and "never a failure" in suspected["text"]
    assert "(another machine)" in view["benchmarks"][0]["noise"]
    # The same data judged with this machine's calibration fails the run.
    local = perf.analyse(now, past, [], calibration={"test_op": {"sigma": 0.03, "df": 39}})
    assert [c.row for c in local.regressions] == ["torch-2.14"]


def test_history_with_more_degrees_of_freedom_replaces_a_foreign_prior():
    now, past = slow_nights()
    foreign = {"test_op": {"sigma": 0.03, "df": 5, "source": "x (another machine)",
                           "foreign": True}}
    report = perf.analyse(now, past, [], calibration=foreign)
    assert report.noise["test_op"]["source"] == "history"
    assert not report.noise["test_op"]["foreign"]
    assert [c.row for c in report.regressions] == ["torch-2.14"]


# ---- confirmation across the night -------------------------------------------------------------

def test_one_slow_night_then_a_normal_one_is_not_confirmed():
    """A burst of other jobs slows one process: it must not confirm anything the night after."""
    past = history(12, {"r": 0.050})
    past.append(summary("20261125T000000Z", {"r": 0.060}, seed=6))
    report = perf.analyse(summary("20261126T000000Z", {"r": 0.050}, seed=7), past, [],
                          calibration=PRIOR)
    assert report.regressions == [] and not report.history[0].confirmed


def test_two_bursts_in_four_nights_confirm_nothing():
    """Two of the last four runs 20 % slow (one of them tonight), two normal: the median of four does
    not tell bursts from a slowdown, the rank test does (two high ranks are no shift)."""
    past = history(20, {"r": 0.050})
    for day, level in ((23, 0.050), (24, 0.060), (25, 0.050)):
        past.append(summary(f"202611{day}T000000Z", {"r": level}, seed=day))
    report = perf.analyse(summary("20261126T000000Z", {"r": 0.060}, seed=26), past, [],
                          calibration=PRIOR)
    assert report.history[0].verdict == "regression"  # tonight alone is suspected ...
    assert report.regressions == [] and not report.history[0].confirmed  # ... and nothing confirms it


@pytest.mark.parametrize("earlier", [3, 5, 6, 7])
def test_a_burst_tonight_on_a_short_history_confirms_nothing(earlier):
    """Fewer runs than the longest window: that window is not tried (no baseline), so tonight's burst
    cannot pose as eight runs together."""
    past = history(earlier, {"r": 0.050})
    report = perf.analyse(summary("20261126T000000Z", {"r": 0.059}, seed=26), past, [], calibration=PRIOR)
    assert report.regressions == [] and not report.history[0].confirmed


def test_a_small_shift_held_for_a_week_is_confirmed_from_the_runs_together():
    """7% at 3% process noise: one night cannot tell (suspected at most), eight nights can."""
    past = history(20, {"r": 0.050}, seed=300)
    past += [summary(f"202612{i + 1:02d}T000000Z", {"r": 0.0535}, 400 + i) for i in range(7)]
    first = perf.analyse(past[20], past[:20], [], calibration=PRIOR)
    assert first.regressions == []
    report = perf.analyse(summary("20261208T000000Z", {"r": 0.0535}, seed=500), past, [],
                          calibration=PRIOR)
    (regression,) = report.regressions
    assert regression.base == "the last 8 runs together against the 20 before them"
    assert regression.low > 1.0 and regression.ratio == pytest.approx(1.07, abs=0.03)


def test_confirmations_are_one_false_discovery_family_per_night(monkeypatch):
    families = []
    real = perf.stats.discoveries

    def spy(p_values, q):
        families.append((len(p_values), q))
        return real(p_values, q)

    monkeypatch.setattr(perf.stats, "discoveries", spy)
    levels = {f"row{i}": 0.05 for i in range(4)}
    perf.analyse(summary("20261126T000000Z", levels, seed=1), history(6, levels), [],
                 calibration=PRIOR)
    assert families == [(4, perf.NIGHT_FDR)]  # every series of the night in one family


@pytest.mark.parametrize("rounds, usable", [
    ([0.5, 1e-6, 2], True), ([], False), (None, False), ("0.5", False), ([0.5, 0.0], False),
    ([0.5, -1.0], False), ([0.5, math.inf], False), ([0.5, math.nan], False), ([math.nan, 0.5], False),
    ([0.5, "0.5"], False), ([0.5, None], False), ([1e308, 1e308], False)])
def test_one_rule_says_which_rounds_are_usable_for_the_comparison_the_index_and_the_table(rounds, usable):
    from harness import history_index, perf_table
    from harness.benchfile import usable_rounds
    assert usable_rounds(rounds) is usable
    row = {"name": "r", "benchmarks": {"b": {"rounds": rounds, "clock": "perf_counter"}}}
    assert (perf._bench(row, "b") is not None) is usable
    assert (("b", "r") in perf_table._values({"rows": [row]}, ["b"])) is usable
    kept = history_index.compact({"run_id": "R", "rows": [row]})[1]["rows"]["r"]
    assert ("b" in kept) is usable, kept
