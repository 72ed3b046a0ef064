"""The progress a user sees while a row runs, fed from results lines as the plugin writes them."""
import io
import json

from harness.progress import Progress, Tally
from harness.status import normalise


def records():
    collected = {"suites/a/test_x.py::t1": ["a.x"], "suites/a/test_x.py::t2": ["a.x"],
                 "suites/b/test_y.py::t3": ["b.y"]}
    return [{"collected": collected},
            {"test": "suites/a/test_x.py::t1", "status": "pass"},
            {"test": "suites/b/test_y.py::t3", "status": "crash"},
            {"test": "suites/a/test_x.py::t2", "status": "fail"}]


def test_a_module_is_complete_when_every_collected_check_of_it_reported():
    tally = Tally()
    completed = [tally.add(r) for r in records()]
    assert completed == [None, None, "b/test_y.py", "a/test_x.py"]
    assert tally.failures == 2 and tally.current == "a/test_x.py"
    assert tally.module_line("a/test_x.py") == "a/test_x.py: 2 checks, 1 failing"


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_the_live_line_counts_checks_and_failures_and_estimates_from_the_previous_run(tmp_path):
    previous = tmp_path / "old" / "results.jsonl"
    previous.parent.mkdir()
    previous.write_text("")
    (previous.parent / "pytest.json").write_text(json.dumps({"seconds": 600.0}))
    results = tmp_path / "results.jsonl"
    results.write_text("".join(json.dumps(r) + "\n" for r in records()[:3]) + '{"test": "torn')
    terminal = Terminal()
    with Progress("torch-2.14", results, previous, stream=terminal) as progress:
        progress.update("checks")
        line = progress.line()
    assert line.startswith("torch-2.14 checks 2/3 · 1 failing · b/test_y.py · 0:0")
    assert line.endswith("left") and "~9:5" in line  # 600 s expected, a second or so gone
    assert "torch-2.14 checks 2/3 · 1 failing" in normalise(terminal.getvalue())  # rich drew it


def test_without_a_terminal_each_completed_module_prints_one_line(tmp_path):
    results = tmp_path / "results.jsonl"
    results.write_text("".join(json.dumps(r) + "\n" for r in records()))
    out = io.StringIO()
    with Progress("row", results, None, stream=out) as progress:
        progress.update("checks")
    lines = out.getvalue().splitlines()
    assert [line.split(" (")[0] for line in lines] == ["row: b/test_y.py: 1 checks, 1 failing",
                                                       "row: a/test_x.py: 2 checks, 1 failing"]
