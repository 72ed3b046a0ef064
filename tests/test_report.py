import shutil
import subprocess

from harness import report, summary
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
    assert "<script" not in html and "<img" not in html
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
    shot = summary.REPORTS / "report-screenshot.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    chromium("--window-size=1280,900", f"--screenshot={shot}", page.as_uri(), tmp_path=tmp_path)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
