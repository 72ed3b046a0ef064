"""The suites' plugin, run on a miniature suite tree in a separate pytest process."""
import json
import sys

import pytest

from tests.conftest import demo_suite

pytest_plugins = ["pytester"]

FEATURES = '''
[[feature]]
id = "demo.ok"
description = "passes"
[[feature]]
id = "demo.assert"
description = "an assertion fails"
[[feature]]
id = "demo.raise"
description = "an exception other than an assertion"
[[feature]]
id = "demo.hang"
description = "outruns the per-test bound"
[[feature]]
id = "demo.gone"
description = "documented as not shipped"
absent = [{ package = "torchtext", versions = "missing", source = "https://github.com/pytorch/text" }]
[[feature]]
id = "demo.lib"
description = "needs a library that fails at import"
[[feature]]
id = "demo.prereq"
description = "needs a tool the harness lacks"
[[feature]]
id = "demo.gpu"
description = "needs CUDA"
device = "cuda"
'''

SUITE = '''
import time
import pytest
from harness.plugin import require_tool

@pytest.mark.feature("demo.ok")
def test_ok(depth):
    assert depth == "full"

@pytest.mark.feature("demo.assert")
def test_assert():
    assert 1 + 1 == 3, "arithmetic"

@pytest.mark.feature("demo.raise")
def test_raise():
    raise KeyError("missing operator aten::foo")

@pytest.mark.feature("demo.hang")
@pytest.mark.timeout(1)
def test_hang():
    time.sleep(30)

@pytest.mark.feature("demo.gone")
def test_gone():
    raise AssertionError("must not run")

@pytest.mark.feature("demo.lib")
def test_lib(torchvision):
    assert False, "must not run"

@pytest.mark.feature("demo.prereq")
def test_prereq(request):
    require_tool(request.config, "no-such-compiler-xyz")

@pytest.mark.feature("demo.gpu")
def test_gpu():
    assert False, "must not run"
'''

BROKEN_TORCHVISION = 'raise RuntimeError("operator torchvision::nms does not exist\\nmore detail")\n'


@pytest.fixture
def run_suite(tmp_path):
    def _run(suite_text: str, features: str = FEATURES, extra: tuple[str, ...] = ()):
        results = tmp_path / "results.jsonl"
        env = demo_suite(tmp_path, features, suite_text, {"torchvision": BROKEN_TORCHVISION})
        import subprocess
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", str(tmp_path / "suites"), "-p", "no:cacheprovider", "--depth=full",
             f"--harness-results={results}", "-o", "timeout_method=signal", *extra],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        records = [json.loads(line) for line in results.read_text().splitlines()] if results.exists() else []
        return proc, records
    return _run


def by_feature(records):
    return {r["features"][0]: r for r in records if "test" in r}


def test_each_outcome_maps_to_its_status(run_suite):
    proc, records = run_suite(SUITE)
    got = by_feature(records)
    assert {fid: r["status"] for fid, r in got.items()} == {
        "demo.ok": "pass", "demo.assert": "fail", "demo.raise": "error", "demo.hang": "timeout",
        "demo.gone": "absent", "demo.lib": "error", "demo.prereq": "skipped", "demo.gpu": "n/a",
    }, proc.stdout[-3000:]
    assert got["demo.assert"]["message"].startswith("AssertionError: arithmetic")
    assert got["demo.gone"]["message"] == "torchtext not installed: https://github.com/pytorch/text"
    assert got["demo.lib"]["message"] == (
        "LibraryError: torchvision failed to import: RuntimeError: operator torchvision::nms does not exist")
    assert "no-such-compiler-xyz" in got["demo.prereq"]["message"]


REFERENCE_TOOL = '''
import pytest
from harness.plugin import require_tool

@pytest.mark.feature("demo.prereq")
def test_reference(request):
    require_tool(request.config, "no-such-reference-xyz", reference=True)
'''


@pytest.mark.parametrize(("mode", "status"), [("matrix", "error"), ("here", "skipped")])
def test_a_missing_reference_tool_is_skipped_in_here_mode_only(run_suite, mode, status):
    """A command-line reference (SoX) is like a reference library: an error in a row."""
    proc, records = run_suite(REFERENCE_TOOL, extra=(f"--harness-mode={mode}",))
    got = by_feature(records)["demo.prereq"]
    assert got["status"] == status, proc.stdout[-3000:]
    assert "no-such-reference-xyz not on PATH" in got["message"]


def test_collection_is_listed_first_so_a_crash_can_be_attributed(run_suite):
    _, records = run_suite(SUITE)
    assert len(records[0]["collected"]) == 8


def test_a_test_without_a_feature_marker_is_a_usage_error(run_suite):
    proc, _ = run_suite("def test_unmarked():\n    pass\n")
    assert proc.returncode == 4 and "no @pytest.mark.feature" in proc.stdout + proc.stderr


def test_an_unregistered_feature_is_a_usage_error(run_suite):
    proc, _ = run_suite('import pytest\n@pytest.mark.feature("demo.nope")\ndef test_x():\n    pass\n')
    assert proc.returncode == 4 and "demo.nope is not in the registry" in proc.stdout + proc.stderr


def test_a_library_the_row_leaves_out_is_na_and_a_broken_one_stays_error(tmp_path):
    """Issue 18: a row without torchaudio (not installed at all) makes its checks `n/a` with the reason,
    a module that imports it at the top too; a library that is present and fails is still `error`."""
    import subprocess

    features = ('[[feature]]\nid = "demo.audio"\ndescription = "needs torchaudio"\n'
                '[[feature]]\nid = "demo.text"\ndescription = "a module importing torchtext"\n'
                '[[feature]]\nid = "demo.lib"\ndescription = "needs a library that fails at import"\n')
    suite = ('import pytest\n\n@pytest.mark.feature("demo.audio")\ndef test_audio(torchaudio):\n'
             '    assert False, "must not run"\n\n@pytest.mark.feature("demo.lib")\n'
             'def test_lib(torchvision):\n    assert False, "must not run"\n')
    env = demo_suite(tmp_path, features, suite, {"torchvision": BROKEN_TORCHVISION})
    (tmp_path / "suites" / "pytest.ini").write_text("[pytest]\n")  # node ids under suites/, as in a row
    (tmp_path / "suites" / "demo" / "test_text.py").write_text(
        'import pytest\nimport torchtext\n\n@pytest.mark.feature("demo.text")\ndef test_text():\n    pass\n')
    results = tmp_path / "results.jsonl"
    subprocess.run([sys.executable, "-m", "pytest", str(tmp_path / "suites"), "-p", "no:cacheprovider",
                    f"--harness-results={results}", "--continue-on-collection-errors"], cwd=tmp_path, env=env,
                   capture_output=True, text=True,
                   timeout=120)
    from harness.collect import feature_outcomes, read_records
    from harness.registry import Feature

    records = read_records(results)
    got = by_feature(records)
    assert (got["demo.audio"]["status"], got["demo.audio"]["message"]) == ("n/a", "torchaudio is not in this row")
    assert got["demo.lib"]["status"] == "error"
    registry = {fid: Feature(fid, "", "demo") for fid in ("demo.audio", "demo.text", "demo.lib")}
    outcomes = feature_outcomes(registry, records, {"returncode": 2})
    text = outcomes["demo.text"]
    assert (text.status.value, text.message) == ("n/a", "torchtext is not in this row")
    assert outcomes["demo.audio"].status.value == "n/a" and outcomes["demo.lib"].status.value == "error"


def test_each_check_writes_a_start_record_before_its_result(run_suite):
    _, records = run_suite(SUITE)
    starts = [r["start"] for r in records if "start" in r]
    tests = [r["test"] for r in records if "test" in r]
    assert starts == tests and len(starts) == 8
    for test in tests:
        assert records.index({**next(r for r in records if r.get("start") == test)}) < \
            records.index(next(r for r in records if r.get("test") == test))
    assert records[0]["not_applicable"] == {t: "no CUDA device in this environment" for t in tests if "gpu" in t}


STATUS_AS_DATA = '''
import pytest
from harness.plugin import PLUGIN, HarnessPlugin, skip_as
from harness.status import Status

@pytest.mark.feature("demo.raise")
def test_absent_as_data():
    skip_as(Status.ABSENT, "dropped upstream: https://example.org/notes")

@pytest.mark.feature("demo.ok")
def test_a_reason_that_looks_like_a_status_is_only_a_reason():
    pytest.skip("absent: n/a: only words")

@pytest.mark.feature("demo.assert")
def test_state_lives_in_the_stash(request):
    plugin = request.config.stash[PLUGIN]
    assert isinstance(plugin, HarnessPlugin)
    assert request.config.pluginmanager.get_plugin("harness-results") is plugin
    assert not [name for name in vars(request.config) if "harness" in name]
'''


def test_statuses_travel_as_data_not_as_reason_prefixes(run_suite):
    """Issue 15: a status is the StatusSkip's `.status`; a skip reason is only ever a message."""
    proc, records = run_suite(STATUS_AS_DATA)
    got = by_feature(records)
    assert (got["demo.raise"]["status"], got["demo.raise"]["message"]) == (
        "absent", "dropped upstream: https://example.org/notes"), proc.stdout[-3000:]
    assert (got["demo.ok"]["status"], got["demo.ok"]["message"]) == ("skipped", "absent: n/a: only words")
    assert got["demo.assert"]["status"] == "pass", got["demo.assert"]["message"]
