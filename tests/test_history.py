"""History under damage (issue 18): warnings reach the report, an intact summary is never rewritten
with less data, an old run renders without replacing the newest, an unwritable reports folder is one
line and exit 2, and report files are world-readable."""
import json
import os
import stat

from harness import cli, fsio
from harness import summary as summ
from tests.test_perf import entry, pytest_benchmark_json
from tests.test_summary import make_row


def report(reports, *args):
    return cli.main(["report", "--reports", str(reports), "--expectations", str(reports / "none.toml"), *args])


def make_run(reports, run_id, bench=True):
    run = reports / "runs" / run_id
    summ.start_run(run, {"run_id": run_id, "rows": ["r"]})
    make_row(run, "r", {"core.mobile.lite_interpreter": "pass"})
    if bench:
        pytest_benchmark_json(run / "rows" / "r", [entry("test_a[b1]", [0.3, 0.1, 0.2])])
    return run


def test_a_corrupt_benchmark_file_keeps_the_intact_summary_and_warns_in_the_report(tmp_path, capsys):
    run = make_run(tmp_path, "20260101T000000Z")
    report(tmp_path)
    before = json.loads((run / "summary.json").read_text())
    assert before["rows"][0]["benchmarks"]
    (run / "rows" / "r" / "benchmark.json").write_text("{ torn")
    report(tmp_path)
    after = json.loads((run / "summary.json").read_text())
    assert after["rows"][0]["benchmarks"] == before["rows"][0]["benchmarks"]
    err = capsys.readouterr().err
    assert "benchmark.json" in err and "kept the row" in err
    html = (run / "index.html").read_text()
    assert 'id="warnings"' in html and "unreadable benchmark file" in html


def test_a_damaged_history_file_is_named_in_the_report(tmp_path):
    make_run(tmp_path, "20260101T000000Z", bench=False)
    bad = tmp_path / "runs" / "20250101T000000Z"
    summ.start_run(bad, {"run_id": bad.name})
    (bad / "summary.json").write_text("{ torn")
    report(tmp_path, "--run", "20260101T000000Z")
    html = (tmp_path / "index.html").read_text()
    assert 'id="warnings"' in html and "history file" in html and (bad / "summary.json").read_text() == "{ torn"
    warnings = fsio.read_json(tmp_path / "summary.json")["warnings"]  # published: no machine path in them
    assert any("history file runs/20250101T000000Z/summary.json is unreadable" in w for w in warnings), warnings
    assert not any(str(tmp_path) in w for w in warnings), warnings


def test_reporting_an_old_run_leaves_the_newest_report_in_place(tmp_path, capsys):
    make_run(tmp_path, "20250101T000000Z", bench=False)
    make_run(tmp_path, "20260101T000000Z", bench=False)
    report(tmp_path)
    newest_html, newest_json = (tmp_path / "index.html").read_text(), (tmp_path / "summary.json").read_text()
    assert json.loads(newest_json)["run_id"] == "20260101T000000Z"
    report(tmp_path, "--run", "20250101T000000Z")
    assert (tmp_path / "index.html").read_text() == newest_html
    assert (tmp_path / "summary.json").read_text() == newest_json
    assert (tmp_path / "runs" / "20250101T000000Z" / "index.html").exists()
    assert "not the newest run" in capsys.readouterr().out


def test_an_unwritable_reports_folder_is_one_line_and_exit_2_and_the_old_report_stays(tmp_path, capsys,
                                                                                      monkeypatch):
    run = make_run(tmp_path, "20260101T000000Z", bench=False)
    report(tmp_path)
    old = (tmp_path / "index.html").read_text()
    capsys.readouterr()
    real = fsio.write_text

    def full(path, text):  # the disk fills at the top-level report (works as root too, unlike chmod)
        if os.path.basename(str(path)) == "index.html" and os.path.dirname(str(path)) == str(tmp_path):
            raise OSError(28, "No space left on device", str(path))
        return real(path, text)

    monkeypatch.setattr(fsio, "write_text", full)
    code = report(tmp_path)
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith(f"error: {tmp_path / 'index.html'}: No space left on device")
    assert (tmp_path / "index.html").read_text() == old
    assert (run / "summary.json").exists()


def test_a_read_only_reports_folder_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch):
    make_run(tmp_path, "20260101T000000Z", bench=False)

    def denied(path, text):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(fsio, "write_text", denied)
    assert report(tmp_path) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Permission denied" in err and str(tmp_path) in err


def test_report_files_are_world_readable(tmp_path):
    old = os.umask(0o022)
    try:
        run = make_run(tmp_path, "20260101T000000Z", bench=False)
        report(tmp_path)
    finally:
        os.umask(old)
    for path in (tmp_path / "index.html", tmp_path / "summary.json", run / "index.html", run / "summary.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path
