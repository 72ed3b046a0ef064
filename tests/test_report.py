import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

from harness import report
from harness.summary import Verdict

EVIL = '<script>document.title="pwned"</script><img src=x onerror=alert(1)>'


def make_summary():
    return {
        "run_id": "r1", "started": "t0", "finished": "t1", "matrix": "matrix.toml", "depth": "quick",
        "mode": "matrix",
        "features": {"core.a": {"description": "desc " + EVIL, "area": "core"},
                     "vision.b": {"description": "d", "area": "vision"}},
        "rows": [{
            "name": "torch-2.14", "pins": {"torch": EVIL}, "installed": {"torch": "2.14.1"},
            "install": {"status": "ok", "message": "", "seconds": 1},
            "suites": {"seconds": 3}, "properties": {"audio_backends": EVIL},
            "features": {"core.a": {"status": "fail", "message": "AssertionError: " + EVIL + "\nline two"},
                         "vision.b": {"status": "pass", "message": ""}},
            "benchmarks": {}, "files": ["pytest.log"],
        }],
    }


def render(tmp_path):
    out = tmp_path / "index.html"
    report.write_report(make_summary(), Verdict(1, ("torch-2.14: core.a: fail: " + EVIL,)),
                        tmp_path / "runs" / "r1", [out])
    return out


def test_every_string_from_a_test_or_row_is_escaped(tmp_path):
    html = render(tmp_path).read_text()
    assert html.count("<script") == 1 and "<img" not in html  # the one script is the filter's own
    assert "pwned" not in html.split("<script>")[1].split("</script>")[0]
    assert "&lt;script&gt;" in html


def test_the_report_is_self_contained(tmp_path):
    html = render(tmp_path).read_text()
    assert "http://" not in html and "https://" not in html.replace("https://github.com", "")
    assert "<link" not in html and "<style>" in html


def test_grid_has_a_cell_per_feature_and_row_with_first_line_and_full_message(tmp_path):
    html = render(tmp_path).read_text()
    assert 'id="cell-torch-2.14-core.a"' in html and 'data-status="fail"' in html
    assert "line two" in html  # the whole message, behind the expander


def glance_summary():
    """Three rows, a failure, an absent feature, an n/a one, and a benchmark 1.6x slower on one row
    (`peak_rss_bytes` on the reference): what the overview, its filter and the tables show."""
    from tests.test_charts import record

    s = make_summary()
    s["features"].update({"bench.x": {"description": "x " + EVIL, "area": "bench"},
                          "text.c": {"description": "c", "area": "text"},
                          "cuda.d": {"description": "d", "area": "cuda"}})
    base = s["rows"][0]
    rows = []
    for name, status, seconds in (("torch-2.14", "fail", 0.010), ("torch-2.13", "pass", 0.010),
                                  ("nightly", "pass", 0.016)):
        message = "AssertionError: " + EVIL if status == "fail" else ""
        row = {**base, "name": name, "timings": {"install_s": 4.0, "phases": {"checks": 30.0, "benchmarks": 12.0}},
               "features": {"core.a": {"status": status, "message": message},
                            "vision.b": {"status": "pass", "message": ""},
                            "bench.x": {"status": "pass", "message": "", "test": "bench/test_b.py::test_x[b1]"},
                            "text.c": {"status": "absent", "message": "not installed"},
                            "cuda.d": {"status": "n/a", "message": "no CUDA"}},
               "benchmarks": {"test_x[b1]": record("test_x[b1]", seconds, peak_rss_bytes=300 * 2**20)}}
        rows.append(row)
    s["rows"] = rows
    return s


def render_glance(tmp_path):
    from harness import perf

    s = glance_summary()
    out = tmp_path / "index.html"
    report.write_report(s, Verdict(1, ("torch-2.14: core.a: fail",)), tmp_path / "runs" / "r1", [out],
                        perf.analyse(s, [], [], calibration={}))
    return out


def test_the_overview_has_a_cell_per_row_and_feature_and_marks_what_the_filter_hides(tmp_path):
    html = render_glance(tmp_path).read_text()
    overview = html.split('id="overview"')[1].split("</section>")[0]
    assert overview.count('class="hc ') == 3 * 5 and 'data-features="5"' in overview
    # Quiet: every row pass/absent/n/a. core.a fails on one row, bench.x is 1.6x slower on nightly.
    assert 'data-problems="2"' in overview and "(2 of 5 features)" in overview
    quiet = set(re.findall(r'<th class="fh[^"]*" data-quiet><a href="#feat-([^"]+)"', overview))
    assert quiet == {"vision.b", "text.c", "cuda.d"}
    assert re.search(r'data-status="fail" title="torch-2.14 · core.a: fail\nAssertionError: &lt;script&gt;', overview)
    assert '<a href="#cell-nightly-bench.x">▲</a>' in overview
    # The grid's rows carry the same mark, so the filter hides them there too.
    assert '<tr id="feat-vision.b" data-quiet>' in html and '<tr id="feat-core.a">' in html


def test_a_benchmark_cell_shows_its_time_memory_and_ratio_instead_of_pass(tmp_path):
    html = render_glance(tmp_path).read_text()

    def cell(row):
        return html.split(f'id="cell-{row}-bench.x"')[1].split("</td>")[0]
    assert "10 ms · 300 MB" in cell("torch-2.14") and ">ref</span>" in cell("torch-2.14")
    assert "16 ms · 300 MB" in cell("nightly") and ">1.60x</span>" in cell("nightly")
    assert ">pass<" not in cell("nightly") and ">pass<" in html.split('id="cell-nightly-vision.b"')[1].split("</td>")[0]


def test_the_performance_section_opens_with_one_table_and_folds_the_details(tmp_path):
    html = render_glance(tmp_path).read_text()
    perf_html = html.split('id="perf"')[1]
    table = perf_html.split('id="perf-table"')[1].split("</table>")[0]
    assert perf_html.index('id="perf-table"') < perf_html.index('<details class="bench"')
    assert re.search(r'data-state="slower"><a href="#perf-test_x-b1--nightly">1\.60x</a>', table)
    assert ">ref 10 ms</a>" in table and table.count('class="pc"') == 3
    assert "<details class=\"bench\" id=\"bench-1\"><summary>test_x[b1]" in perf_html


def test_row_timings_open_each_rows_details(tmp_path):
    html = render_glance(tmp_path).read_text()
    section = html.split('<section class="rowinfo" id="row-nightly">')[1].split("</section>")[0]
    assert section.index('id="time-nightly"') < section.index("<th>pins</th>")
    assert "install 4 s" in section and "checks 30 s" in section and "benchmarks 12 s" in section


def test_trend_charts_of_a_benchmark_share_one_scale_and_reach_over_the_year(tmp_path):
    from harness import perf
    from tests.test_charts import night

    ids = [(dt.datetime(2026, 1, 1) + dt.timedelta(days=d)).strftime("%Y%m%dT%H%M%SZ") for d in range(100)]
    history = [night(rid, {"a": {"test_x[b1]": 0.010}, "b": {"test_x[b1]": 0.020}}) for rid in ids[:-1]]
    s = glance_summary()
    s["run_id"] = ids[-1]
    s["rows"] = s["rows"][:2]
    s["rows"][0]["name"], s["rows"][1]["name"] = "a", "b"
    out = tmp_path / "index.html"
    analysed = perf.analyse(s, history, [], calibration={})
    report.write_report(s, Verdict(0, ()), tmp_path / "runs" / "r1", [out], analysed, history=history)
    html = out.read_text()
    assert 'id="trend-year"' in html and html.count('<span class="trend-year">') == 2
    table = html.split('id="perf-table"')[1].split("</table>")[0]
    assert re.search(r'>ref 10 ms <small class="perf-note">hist 1\.00x</small>', table)  # against its own runs
    year = html.split('<span class="trend-year">')[1].split("</span>")[0]
    assert ">01-01</text>" in year and ">04-10</text>" in year   # all 100 days, not the last 61
    recent = [part.split("</span>")[0] for part in html.split('<span class="trend-recent has-year">')[1:]]
    labels = [re.findall(r'text-anchor="end">([^<]+) ms</text>', svg) for svg in recent]
    assert labels[0] == labels[1] and len(labels[0]) == 2    # one value scale for both rows


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def chromium(*args, tmp_path):
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True, text=True, timeout=120)


def test_report_opens_in_headless_chromium(tmp_path, request):
    assert CHROMIUM, "Debian's chromium is a prerequisite of this test (.ci/run installs it)"
    page = render_glance(tmp_path)
    dom = chromium("--dump-dom", page.as_uri(), tmp_path=tmp_path).stdout
    assert 'id="feature-grid"' in dom and 'id="overview-grid"' in dom
    assert dom.count('class="cell ') == 3 * 5 and dom.count('class="hc ') == 3 * 5
    assert "pwned" not in dom.split("<title>")[1].split("</title>")[0]  # the escaped script never ran
    # The page's script ran: it marks the filter off and counts the features it shows: all five.
    assert '<body data-filter="all">' in dom and 'data-shown="5"' in dom
    # Opened with the filter on, only what is not pass/absent/n/a is shown: core.a and bench.x.
    filtered = chromium("--dump-dom", page.as_uri() + "#only-problems", tmp_path=tmp_path).stdout
    assert '<body data-filter="problems">' in filtered and 'data-shown="2"' in filtered
    shots = [tmp_path / "shots" / "report-1400.png", tmp_path / "shots" / "report-1400-filtered.png"]
    shots[0].parent.mkdir(parents=True, exist_ok=True)  # never into the repository's reports/
    for shot, url in zip(shots, (page.as_uri(), page.as_uri() + "#only-problems"), strict=True):
        chromium("--window-size=1400,1000", f"--screenshot={shot}", url, tmp_path=tmp_path)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
        assert int.from_bytes(shot.read_bytes()[16:20], "big") == 1400   # the PNG's width
    assert shots[0].read_bytes() != shots[1].read_bytes()
    keep = request.config.getoption("--screenshots")
    if keep:  # e.g. a CI artefact folder
        Path(keep).mkdir(parents=True, exist_ok=True)
        for shot in shots:
            shutil.copyfile(shot, Path(keep) / shot.name)


def test_headroom_reads_as_how_many_times_the_error_may_grow():
    assert report.format_headroom(40.0) == "×40"
    assert report.format_headroom(2.5) == "×2.5"
    assert report.format_headroom(0.3) == "×0.3"      # failing: the error is over its bound
    assert report.format_headroom("inf") == "exact"   # JSON's spelling of no error at all
    assert report.format_headroom(2.4e6) == "×2e6"
    assert report.format_headroom(None) == ""


def measured_summary():
    from harness import drift

    s = make_summary()
    s["run_id"] = "20260102"
    entries = [{"test": "suites/audio/test_mfcc.py::test_mfcc", "name": "mfcc " + EVIL, "metric": "max_abs",
                "value": 2.5e-4, "tolerance": 1e-2, "max_abs": 2.5e-4, "headroom": 40.0},
               {"test": "t2", "name": "exact one", "metric": "allclose_ratio", "value": 0.0, "tolerance": 1.0,
                "headroom": "inf"}]
    s["rows"][0]["features"]["vision.b"].update(measured=entries, headroom=40.0)
    past = {"run_id": "20260101", "rows": [{"name": "torch-2.14", "features": {"vision.b": {
        "status": "pass", "message": "", "measured": [dict(entries[0], value=1e-5, headroom=1000.0)]}}}]}
    drift.annotate(s, [past])
    return s


def test_a_measured_cell_shows_its_headroom_values_and_drift(tmp_path):
    out = tmp_path / "index.html"
    report.write_report(measured_summary(), Verdict(0, ()), tmp_path / "runs" / "r1", [out])
    html = out.read_text()
    cell = html.split('id="cell-torch-2.14-vision.b"')[1].split("</td>\n")[0]
    assert '<span class="hr" title="mfcc &lt;script&gt;' in cell and ">×40</span>" in cell
    assert "max_abs 0.00025 (must be ≤ 0.01)" in cell   # measured values in the title
    assert "drift ×25" in cell and "exact" in cell          # drift badge; the exact comparison listed
    assert 'id="drift"' in html and "torch-2.14: vision.b" in html
    assert html.count("<script") == 1
    # A cell of a feature that measured nothing has no headroom; the exit status is not drift's.
    other = html.split('id="cell-torch-2.14-core.a"')[1].split("</td>\n")[0]
    assert 'class="hr"' not in other and "drift" not in other


def test_an_older_summary_without_measurements_renders_without_a_drift_box(tmp_path):
    html = render(tmp_path).read_text()
    assert 'class="hr"' not in html and 'id="drift"' not in html


def test_a_hand_edited_measurement_without_its_fields_still_renders(tmp_path):
    s = make_summary()
    s["rows"][0]["features"]["vision.b"]["measured"] = [{"name": "bare"}]
    out = tmp_path / "index.html"
    report.write_report(s, Verdict(0, ()), tmp_path / "runs" / "r1", [out])
    assert "<td>bare</td>" in out.read_text()


def test_time_bars_share_one_scale_and_name_the_slowest_modules(tmp_path):
    data = make_summary()
    slow = {**data["rows"][0], "name": "torch-2.3",
            "timings": {"install_s": 20.0, "suites_s": 200.0, "phases": {"checks": 150.0, "benchmarks": 50.0},
                        "modules": {"vision/test_script.py": 90.0, "core/test_rpc.py": 12.0}}}
    fast = {**data["rows"][0], "timings": {"install_s": 2.0, "phases": {"checks": 60.0, "benchmarks": 48.0}}}
    bars = report.time_bars([slow, fast])
    assert [(p, round(pct, 1)) for p, _, pct in bars["torch-2.3"]] == [
        ("install", 9.1), ("checks", 68.2), ("benchmarks", 22.7)]
    assert round(sum(pct for *_, pct in bars["torch-2.14"]), 1) == round(100 * 110 / 220, 1)
    data["rows"] = [slow, fast]
    out = tmp_path / "index.html"
    report.write_report(data, Verdict(0, ()), tmp_path / "runs" / "r1", [out])
    html = out.read_text()
    assert 'id="time-torch-2.3"' in html and "<code>vision/test_script.py</code> 90 s" in html


def test_a_cuda_build_mismatch_is_flagged_in_the_row_details(tmp_path):
    assert report.cuda_mismatch({"torch": "13.2", "torchaudio": "13.0"})
    assert not report.cuda_mismatch({"torch": "13.2", "torchvision": "13.2", "torchaudio": "cpu"})
    data = make_summary()
    data["rows"][0]["cuda_builds"] = {"torch": "13.2", "torchaudio": "13.0"}
    out = tmp_path / "index.html"
    report.write_report(data, Verdict(0, ()), tmp_path / "runs" / "r1", [out])
    assert "<code>torchaudio 13.0</code>" in out.read_text() and "— mismatch" in out.read_text()
