import shutil
import subprocess

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


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def chromium(*args, tmp_path):
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True, text=True, timeout=120)


def test_report_opens_in_headless_chromium(tmp_path):
    assert CHROMIUM, "Debian's chromium is a prerequisite of this test (.ci/run installs it)"
    page = render(tmp_path)
    dom = chromium("--dump-dom", page.as_uri(), tmp_path=tmp_path).stdout
    assert 'id="feature-grid"' in dom
    assert dom.count('class="cell ') == 2
    assert "pwned" not in dom.split("<title>")[1].split("</title>")[0]  # the escaped script never ran
    shot = tmp_path / "shots" / "report-screenshot.png"  # never into the repository's reports/
    shot.parent.mkdir(parents=True, exist_ok=True)
    chromium("--window-size=1280,900", f"--screenshot={shot}", page.as_uri(), tmp_path=tmp_path)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


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
