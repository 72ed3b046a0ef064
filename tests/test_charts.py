"""Trend charts (harness.charts) and the report's benchmark views (harness.perf_table)."""
import datetime as dt
import re

from harness import charts, perf, perf_table

EVIL = '<script>alert(1)</script>'


def circles(svg: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)"', svg)]


def test_run_ids_read_as_utc_dates_and_other_ids_do_not():
    assert charts.run_date("20261130T011734Z") == dt.datetime(2026, 11, 30, 1, 17, 34, tzinfo=dt.timezone.utc)
    assert charts.run_date("20260102") == dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc)
    assert charts.run_date("r1") is None and charts.date_span(["20260101", "r1"]) is None
    assert charts.run_date("20261330T000000Z") is None   # digits, but no month 13


def test_the_x_axis_is_time_with_the_first_and_last_day_written():
    # Runs on day 0, 1 and 3: the middle run sits a third of the way along, not half.
    points = [("20260101T000000Z", 1e-3, False), ("20260102T000000Z", 1e-3, False), ("20260104T000000Z", 2e-3, True)]
    svg = charts.trend(points, [])
    (x0, _), (x1, _), (x3, _) = circles(svg)
    assert abs((x1 - x0) / (x3 - x0) - 1 / 3) < 0.01
    assert ">01-01</text>" in svg and ">01-04</text>" in svg


def test_runs_without_dates_are_spaced_evenly():
    svg = charts.trend([("r1", 1e-3, False), ("r2", 1e-3, False), ("r9", 2e-3, True)], [])
    (x0, _), (x1, _), (x2, _) = circles(svg)
    assert abs((x1 - x0) - (x2 - x1)) < 0.2 and "3 runs" in svg


def test_rows_sharing_a_scale_and_span_draw_one_value_at_one_place():
    fast = [("20260101T000000Z", 1e-3, False), ("20260110T000000Z", 1e-3, True)]
    slow = [("20260105T000000Z", 4e-3, False), ("20260110T000000Z", 1e-3, True)]
    scale = charts.value_scale([v for _, v, _ in fast + slow])
    span = charts.date_span([r for r, _, _ in fast + slow])
    a, b = charts.trend(fast, [], scale=scale, span=span), charts.trend(slow, [], scale=scale, span=span)
    assert circles(a)[-1] == circles(b)[-1]                      # the same 1 ms on the same day
    assert circles(a)[0][1] > circles(b)[0][1]                   # 1 ms drawn below 4 ms
    # On its own scale each chart would stretch its own range over the whole height.
    assert circles(charts.trend(fast, []))[-1][1] != circles(a)[-1][1]


def test_a_year_chart_draws_the_line_and_only_the_current_dot():
    points = [(f"2026{m:02d}01T000000Z", 1e-3, False) for m in range(1, 13)] + [("20261231T000000Z", 1e-3, True)]
    svg = charts.trend(points, [], dots=False)
    assert len(circles(svg)) == 1 and "<polyline" in svg and ">2026-01-01</text>" in svg


def test_chart_text_is_escaped():
    svg = charts.trend([(EVIL, 1e-3, True)], [EVIL])
    assert "<script" not in svg and "&lt;script&gt;" in svg


def record(name, seconds, clock="process_time", fullname=None, **extra):
    rounds = [seconds * (1 + i / 1000) for i in range(30)]
    return {"group": "g", "fullname": fullname or f"bench/test_b.py::{name}", "unit": "s", "clock": clock,
            "rounds": rounds, "median": rounds[15], "extra_info": extra}


def night(run_id, rows):
    """rows: {row name: {benchmark: seconds or record}}"""
    return {"run_id": run_id, "rows": [
        {"name": row, "installed": {}, "features": {},
         "benchmarks": {b: v if isinstance(v, dict) else record(b, v) for b, v in benches.items()}}
        for row, benches in rows.items()]}


def test_a_benchmark_belongs_to_the_feature_naming_its_test_or_its_test_function():
    s = night("r", {"a": {"test_x[b1]": 0.01, "test_x[b16]": 0.02, "test_other": 0.01}})
    s["rows"][0]["features"] = {"bench.x": {"status": "pass", "test": "bench/test_b.py::test_x[b1]"},
                                "core.y": {"status": "pass", "test": "core/test_y.py::test_y"}}
    assert perf_table.feature_benchmarks(s) == {"bench.x": ["test_x[b1]", "test_x[b16]"]}


def test_bytes_read_in_binary_units_and_nonsense_reads_as_nothing():
    assert perf_table.format_bytes(150 * 2**20) == "150 MB" and perf_table.format_bytes(3 * 2**30) == "3 GB"
    assert perf_table.format_bytes(None) == perf_table.format_bytes(-1) == perf_table.format_bytes(True) == ""


def test_the_year_series_reaches_past_the_analysis_window_but_not_past_a_year():
    start = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    ids = [(start + dt.timedelta(days=d)).strftime("%Y%m%dT%H%M%SZ") for d in range(400)]
    history = [night(rid, {"a": {"t": 0.01}}) for rid in ids[:-1]]
    history[-2]["rows"][0]["benchmarks"]["t"]["clock"] = "perf_counter"  # another clock: left out
    series = perf_table.year_series(night(ids[-1], {"a": {"t": 0.02}}), history, ["t"])["t"]["a"]
    # Days 34..399 lie within 365 days of day 399; one of those 366 runs used another clock.
    assert len(series) == 365 and series[0][0] == ids[34]
    assert series[-1] == (ids[-1], perf.stats.process_stat(record("t", 0.02)["rounds"]), True)
    assert ids[-3] not in [rid for rid, _, _ in series]
    assert len(series) > perf.MAX_HISTORY + 1


def test_the_year_chart_is_offered_only_beyond_the_runs_the_verdicts_use():
    def series(n):
        return {"t": {"a": [(f"r{i:04d}", 0.01, i == n - 1) for i in range(n)],
                      "b": [(f"r{n - 1:04d}", 0.01, True)]}}
    short = perf_table.trend_charts(series(perf_table.RECENT_RUNS), {}, None)
    assert short[("t", "a")]["year"] == "" and short[("t", "a")]["recent"]
    long = perf_table.trend_charts(series(perf_table.RECENT_RUNS + 1), {}, None)
    assert long[("t", "a")]["year"] and long[("t", "b")]["year"]  # every row of the benchmark gets one
    assert long[("t", "a")]["recent"].count("<circle") == perf_table.RECENT_RUNS


def test_the_table_and_cells_show_ratios_against_the_reference_row_and_memory():
    s = night("20260101T000000Z", {"ref": {"test_x[b1]": record("test_x[b1]", 0.010, peak_rss_bytes=200 * 2**20)},
                                   "new": {"test_x[b1]": 0.016}})
    for row in s["rows"]:
        row["features"] = {"bench.x": {"status": "pass", "test": "bench/test_b.py::test_x[b1]"}}
    view = perf.analyse(s, [], [], calibration={}).rendered()
    (entry,) = perf_table.benchmark_table(view)
    assert entry["cells"]["ref"]["text"] == "ref 10 ms" and entry["cells"]["new"]["text"] == "1.60x"
    assert entry["cells"]["new"]["state"] == "slower" and entry["alert"]
    assert entry["cells"]["new"]["background"] == perf_table.STATE_BACKGROUND["slower"]
    figures = perf_table.cell_figures(s, view)
    (ref,), (new,) = figures[("ref", "bench.x")], figures[("new", "bench.x")]
    assert (ref.value, ref.memory, ref.ratio) == ("10 ms", "200 MB", "ref")
    assert (new.value, new.memory, new.ratio, new.state) == ("16 ms", "", "1.60x", "slower")
