"""Bisect from the report: the exact command for each new failure and each cross-row slowdown above 10 %."""
import shlex

from harness import bisect_hints, perf
from harness.bisection.cli import parser as bisect_parser
from harness.summary import Verdict


def summary(statuses: dict[str, str]) -> dict:
    return {"rows": [{"name": name, "features": {"core.a": {"status": status}, "core.b": {"status": "pass"}}}
                     for name, status in statuses.items()]}


def test_a_new_failure_gets_the_bisect_from_the_nearest_passing_row_in_the_real_syntax():
    s = summary({"torch-2.3": "pass", "torch-2.8": "pass", "torch-2.11": "known-failure", "torch-2.14": "fail"})
    [hint] = bisect_hints.failure_hints(s)
    assert (hint.row, hint.target, hint.good, hint.what) == ("torch-2.14", "core.a", "torch-2.8", "fail")
    assert hint.command == "nox -s bisect -- core.a --good torch-2.8 --bad torch-2.14"
    words = shlex.split(hint.command)
    assert words[:4] == ["nox", "-s", "bisect", "--"]
    args = bisect_parser().parse_args(words[4:])   # what noxfile's bisect session hands to harness.bisection
    assert (args.target, args.good, args.bad) == ("core.a", "torch-2.8", "torch-2.14")


def test_on_a_tie_the_earlier_row_is_the_good_end_and_without_a_passing_row_there_is_no_command():
    assert bisect_hints.nearest(["a", "b", "c"], "b", {"a", "c"}) == "a"
    assert bisect_hints.nearest(["a", "b", "c"], "a", {"c"}) == "c"
    [hint] = bisect_hints.failure_hints(summary({"torch-2.3": "error", "torch-2.14": "timeout"}))[:1]
    assert hint.good == "" and hint.command == ""


def test_a_stored_bisect_is_linked_from_its_hint():
    link = {"href": "runs/r1/bisect/core.a--torch-2.14.json", "text": "first bad: torch 2.13.0", "file": "x"}
    [hint] = bisect_hints.failure_hints(summary({"torch-2.11": "pass", "torch-2.14": "crash"}),
                                        {"torch-2.14/core.a": link})
    assert hint.link == link and hint.command


def comparison(bench, row, ratio, verdict, base="torch-2.3", expected=None):
    return {"benchmark": bench, "row": row, "ratio": ratio, "verdict": verdict, "base": base, "expected": expected}


def test_slowdowns_above_ten_percent_get_a_command_from_the_nearest_fast_row():
    report = {"rows": ["torch-2.3", "torch-2.8", "torch-2.11", "torch-2.14"], "cross_row": [
        comparison("test_mfcc[b16]", "torch-2.8", 1.02, "same"),
        comparison("test_mfcc[b16]", "torch-2.11", 1.40, "slower"),
        comparison("test_mfcc[b16]", "torch-2.14", 1.52, "slower"),
        comparison("test_spec[b1]", "torch-2.14", 1.08, "slower"),               # significant but under 10 %
        comparison("test_lfilter[b1]", "torch-2.14", 1.9, "slower", expected={"link": "https://x"}),  # known
        comparison("test_rpc", "torch-2.14", 1.3, "same"),                       # not significant
    ]}
    hints = bisect_hints.slowdown_hints(report, {"torch-2.14/bench.mfcc": {"href": "h", "text": "first bad"}},
                                        {"bench.mfcc": ["test_mfcc[b16]"]})
    assert [(h.row, h.good, h.what) for h in hints] == [("torch-2.14", "torch-2.8", "1.52x of torch-2.3"),
                                                        ("torch-2.11", "torch-2.8", "1.40x of torch-2.3")]
    assert hints[0].command == "nox -s bisect -- 'test_mfcc[b16]' --good torch-2.8 --bad torch-2.14"
    assert bisect_parser().parse_args(shlex.split(hints[0].command)[4:]).target == "test_mfcc[b16]"
    assert hints[0].link == {"href": "h", "text": "first bad"} and hints[1].link is None


def test_the_report_shows_next_steps_in_the_box_the_cell_and_the_perf_table(tmp_path):
    from tests.test_report import glance_summary

    s = glance_summary()
    out = tmp_path / "index.html"
    from harness import report

    report.write_report(s, Verdict(1, ("torch-2.14: core.a: fail",)), tmp_path / "runs" / "r1", [out],
                        perf.analyse(s, [], [], calibration={}))
    html = out.read_text()
    box = html.split('id="next-steps"')[1].split("</div>")[0]
    fail_cmd = "nox -s bisect -- core.a --good torch-2.13 --bad torch-2.14"
    slow_cmd = "nox -s bisect -- &#39;test_x[b1]&#39; --good torch-2.13 --bad nightly"
    assert fail_cmd in box and slow_cmd in box and "1.60x of torch-2.14" in box
    assert fail_cmd in html.split('id="cell-torch-2.14-core.a"')[1].split("</td>")[0]
    assert fail_cmd not in html.split('id="cell-torch-2.13-core.a"')[1].split("</td>")[0]
    table = html.split('id="perf-table"')[1].split("</table>")[0]
    assert f'data-bisect="{slow_cmd}"' in table
    assert slow_cmd in html.split('id="perf-test_x-b1--nightly"')[1].split("</tr>")[0]
