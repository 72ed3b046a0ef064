"""harness.calibrate: A/A figures on simulated processes, and the driver with stand-in interpreters."""
import json
import math
import random
import stat
import sys
import textwrap

import pytest

from harness import calibrate, calibration, perf


def process(rng, level, *, sigma, cv=0.03, n=30):
    factor = math.exp(rng.gauss(0.0, sigma))
    return [level * factor * (1 + rng.expovariate(1.0) * cv) for _ in range(n)]


def aa_pairs(seed, *, sigma, n=20, level=0.05):
    rng = random.Random(seed)
    return [(process(rng, level, sigma=sigma), process(rng, level, sigma=sigma)) for _ in range(n)]


def test_quiet_benchmark_meets_the_targets():
    """2% process noise: no false alarm in 20 A/A comparisons, 5% detectable with 20 pairs."""
    c = calibrate.calibrate_benchmark("test_op", aa_pairs(1, sigma=0.02))
    assert c.sigma == pytest.approx(0.02, rel=0.35)
    assert c.false_slower == 0 and c.false_history == 0 and c.false_confirmed == 0  # no alarm
    assert c.false_alarms <= 1  # either way, at ALPHA = 1%
    assert c.interleaved_verdict == "same"
    assert c.bias_low < 0 < c.bias_high
    assert c.detectable_pairs <= 0.05
    assert c.detectable_pairs < c.detectable_history < c.detectable_single <= 0.2
    assert 0 < c.pairs_for_target <= 20


def test_noisier_benchmark_needs_more_pairs_and_detects_less():
    quiet = calibrate.calibrate_benchmark("q", aa_pairs(2, sigma=0.02))
    noisy = calibrate.calibrate_benchmark("n", aa_pairs(2, sigma=0.08))
    assert noisy.detectable_single > quiet.detectable_single
    assert noisy.pairs_for_target > quiet.pairs_for_target


def test_injected_twenty_percent_slowdown_is_flagged_and_aa_is_not():
    """3% process noise: a 20% slowdown injected into A/A data is flagged against history in
    nearly every comparison, and by an interleaved A/B always; the A/A data itself is not."""
    sides = [(calibrate.Side.of(a), calibrate.Side.of(b)) for a, b in aa_pairs(3, sigma=0.03)]
    assert "slower" not in calibrate.single_pair_verdicts(sides)
    assert "slower" not in calibrate.history_verdicts(sides)
    assert calibrate.history_verdicts(sides, 0.20).count("slower") >= 18
    assert calibrate.interleaved_rate(sides, 0.20) == 1.0


def test_ab_compare_reports_the_slower_side():
    rng = random.Random(4)
    slower = [(process(rng, 0.05, sigma=0.03), process(rng, 0.055, sigma=0.03)) for _ in range(20)]
    est, verdict, size = calibrate.ab_compare(slower, {"sigma": 0.03, "df": 19})
    assert verdict == "slower" and est.ratio == pytest.approx(1.1, abs=0.03)
    assert size >= perf.MIN_EFFECT_FLOOR
    _, same, _ = calibrate.ab_compare(aa_pairs(5, sigma=0.03), None)
    assert same == "same"


FAKE_PYTHON = """\
#!{python}
# Stands in for a venv's python running `-m pytest suites/bench ... --benchmark-json=PATH`.
import json, math, random, sys
from pathlib import Path
counter = Path({counter!r})
seed = int(counter.read_text()) if counter.exists() else 0
counter.write_text(str(seed + 1))
args = sys.argv[1:]
Path({argv_log!r}).write_text(json.dumps(args))
out = next(a.split("=", 1)[1] for a in args if a.startswith("--benchmark-json="))
rng = random.Random(seed)
factor = {factor} * math.exp(rng.gauss(0, 0.02))
data = [0.05 * factor * math.exp(rng.gauss(0, 0.02)) for _ in range(30)]
bench = {{"group": "g", "name": "test_op[b1]", "fullname": "x::test_op[b1]",
          "options": {{"timer": "time.process_time"}},
          "extra_info": {{"peak_rss_bytes": 300_000_000 + int(rng.gauss(0, 1e6)),
                          "rss_before_bytes": 200_000_000, "peak_rss_method": "VmHWM",
                          "cuda_max_allocated_bytes": None}},
          "stats": {{"median": sorted(data)[15], "data": data}}}}
Path(out).write_text(json.dumps({{"benchmarks": [bench]}}))
"""


@pytest.fixture
def fake_python(tmp_path):
    def make(name, factor):
        path = tmp_path / name
        path.write_text(FAKE_PYTHON.format(python=sys.executable, counter=str(tmp_path / "seed"),
                                           argv_log=str(tmp_path / "argv.json"), factor=factor))
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
        return str(path)
    return make


def test_aa_driver_prints_the_figures_and_writes_a_calibration_file(tmp_path, fake_python, capsys):
    python = fake_python("python-a", 1.0)
    code = calibrate.main(["--python", python, "--pairs", "6", "--benchmarks", "op",
                           "--out", str(tmp_path / "cal")])
    out = capsys.readouterr().out
    assert code == 0
    assert "test_op[b1]" in out and "false alarms" in out and "detect 1v1" in out
    args = json.loads((tmp_path / "argv.json").read_text())
    assert args[:3] == ["-m", "pytest", "suites/bench"] and args[-2:] == ["-k", "op"]
    (written,) = (tmp_path / "cal").iterdir()
    entries, problems = perf.load_calibration(tmp_path / "cal")
    assert problems == [] and entries["test_op[b1]"]["pairs"] == 6
    assert entries["test_op[b1]"]["sigma"] > 0
    # memory: its A/A noise, false alarms and smallest detectable growth, printed and written
    assert "memory (RSS growth / CUDA peak)" in out and "Memory rule" in out
    entry = entries["test_op[b1]"]
    assert 0 < entry["memory_sigma_bytes"] < 5e6 and entry["memory_false_alarms"] == 0
    assert 0.1 <= entry["memory_detectable"] <= 0.2 and entry["cuda_sigma_bytes"] is None
    # made here: it records this machine, so it is not foreign
    data = json.loads(written.read_text())
    assert {k: data[k] for k in ("host", "cpu")} == calibration.this_machine()
    assert "foreign" not in entry


def test_ab_driver_gives_the_verdict_and_fails_on_a_slowdown(tmp_path, fake_python, capsys):
    a, b = fake_python("python-a", 1.0), fake_python("python-b", 1.3)
    code = calibrate.main(["--ab", a, b, "--pairs", "4", "--calibration", str(tmp_path / "none")])
    out = capsys.readouterr().out
    assert code == 1
    assert "B/A 1.3" in out and out.rstrip().endswith("slower")


def test_driver_rejects_missing_interpreters_and_too_few_pairs(tmp_path):
    with pytest.raises(SystemExit):
        calibrate.main(["--python", str(tmp_path / "nope"), "--pairs", "5"])
    with pytest.raises(SystemExit):
        calibrate.main(["--python", sys.executable, "--pairs", "2"])


def test_the_docstring_states_what_is_printed():
    doc = textwrap.dedent(calibrate.__doc__)
    for phrase in ("false alarms", "smallest slowdown", "--ab"):
        assert phrase in doc
