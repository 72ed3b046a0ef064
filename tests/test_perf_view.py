"""harness.perf_view: a PerfReport as the values the report's performance section shows."""
import re
import xml.etree.ElementTree as ET

import pytest

from harness import perf, perf_view
from tests.test_perf import PRIOR, history, render_html, summary


def test_the_partial_highlights_regressions_with_anchors_and_inline_svg():
    past = history(20, {"torch-2.3": 0.05, "torch-2.14": 0.05})
    for day, seed in ((23, 4), (24, 5), (25, 6)):
        past.append(summary(f"202611{day}T000000Z", {"torch-2.3": 0.05, "torch-2.14": 0.06}, seed))
    now = summary("20261126T000000Z", {"torch-2.3": 0.05, "torch-2.14": 0.06}, seed=7)
    report = perf.analyse(now, past, [], calibration=PRIOR)
    html = render_html(report)
    assert html == render_html(perf_view.render(report))  # the report or its rendered dict
    assert 'id="perf-test_op-torch-2.14" class="perf-regression"' in html
    assert 'href="#perf-test_op-torch-2.14"' in html
    assert html.count("<svg") == 3  # one bar chart, one trend per row
    assert "confirmed by at least four runs in a row, across the night's series (1)" in html
    for svg in re.findall(r"<svg.*?</svg>", html, re.S):
        ET.fromstring(svg)  # well-formed XML
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "<script" not in html


def test_names_from_benchmark_files_are_escaped_everywhere():
    evil = '<script>alert(1)</script>'
    run = summary("20261126T000000Z", {"r": 0.05, "s": 0.05}, seed=1)
    for row in run["rows"]:
        row["benchmarks"] = {evil: row["benchmarks"]["test_op"]}
    run["rows"][1]["name"] = "s<b>"
    html = render_html(perf.analyse(run, [], [], calibration={}))
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html


@pytest.mark.parametrize("seconds,text", [(2.5, "2.5 s"), (0.0123, "12.3 ms"), (4.56e-5, "45.6 µs"),
                                          (3e-9, "3 ns")])
def test_times_are_shown_in_the_largest_unit_below_them(seconds, text):
    assert perf_view._fmt_time(seconds) == text


def test_the_rendered_values_come_from_the_report():
    past = history(10, {"torch-2.3": 0.05, "torch-2.14": 0.05})
    now = summary("20261126T000000Z", {"torch-2.3": 0.05, "torch-2.14": 0.06}, seed=7)
    report = perf.analyse(now, past, [], calibration=PRIOR)
    view = perf_view.render(report)
    assert view == report.rendered()
    (bench,) = view["benchmarks"]
    assert [r["row"] for r in bench["rows"]] == ["torch-2.3", "torch-2.14"]
    slow = bench["rows"][1]
    (cross,) = report.cross_row
    assert slow["cross"]["ratio"] == f"{cross.ratio:.2f}x" and slow["cross"]["verdict"] == "slower"
    assert slow["state"] == "suspected"  # one night's regression, not yet confirmed
    assert [s["anchor"] for s in view["suspected"]] == ["perf-test_op-torch-2.14"]
    assert view["regressions"] == []
    assert f"p < {perf.ALPHA:g}" in view["rule"] and "1%" in view["rule"]
    noise = report.noise["test_op"]
    assert noise["source"] == "calibration + history"
    assert bench["noise"] == (f"process noise σ={noise['sigma'] * 100:.1f}% "
                              f"(calibration + history, df={noise['df']:.0f})")
