"""Bisect: the search over synthetic histories, the pieces around it, and one real bisect end to end."""
import argparse
import json
import math
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness import uv
from harness.bisection import cli, plan, search
from harness.bisection import result as results
from harness.bisection import probe as probing
from harness.bisection.search import Verdict as V
from harness.collect import BENCHMARKS, INSTALL
from harness.matrix import Row
from harness.status import Status
from tests.conftest import ROOT

LETTERS = {"G": V.GOOD, "B": V.BAD, "S": V.SKIP}


class History:
    """A synthetic release history: each candidate answers its letters in turn ('GB' is flaky).

    Like the real prober, a candidate's verdict is `classify` over every answer it gave so far.
    """

    def __init__(self, *answers: str):
        self.answers = [list(a) for a in answers]
        self.seen: list[list[V]] = [[] for _ in answers]

    def __call__(self, i: int) -> V:
        letters = self.answers[i]
        self.seen[i].append(LETTERS[letters[min(len(self.seen[i]), len(letters) - 1)]])
        return search.classify(self.seen[i])

    @property
    def probed(self) -> set[int]:
        return {i for i, seen in enumerate(self.seen) if seen}


def test_a_clean_history_finds_the_boundary_and_confirms_both_sides():
    history = History("G", "G", "G", "G", "B", "B", "B")
    result = search.search(7, history)
    assert (result.outcome, result.last_good, result.first_bad) == (search.BOUNDARY, 3, 4)
    assert [v for i, v in result.probes if i in (3, 4)][-2:] == [V.GOOD, V.BAD]  # re-run once each


def test_the_search_is_logarithmic():
    n, first_bad = 1025, 700
    history = History(*("G" * first_bad + "B" * (n - first_bad)))
    result = search.search(n, history, confirm=0)
    assert (result.last_good, result.first_bad) == (first_bad - 1, first_bad)
    assert len(history.probed) <= 2 + math.ceil(math.log2(n))


def test_adjacent_ends_need_no_middle():
    result = search.search(2, History("G", "B"))
    assert (result.outcome, result.last_good, result.first_bad) == (search.BOUNDARY, 0, 1)


def test_a_skip_away_from_the_boundary_is_stepped_over():
    history = History("G", "S", "S", "G", "B", "B")
    result = search.search(6, history)
    assert (result.outcome, result.last_good, result.first_bad) == (search.BOUNDARY, 3, 4)


def test_a_skip_next_to_the_boundary_leaves_a_range_of_suspects():
    # 2 cannot be installed: the first bad is 2 or 3, as git bisect says for skipped commits.
    history = History("G", "G", "S", "B", "B")
    result = search.search(5, history)
    assert result.outcome == search.SKIPPED
    assert (result.last_good, result.first_bad, result.suspects) == (1, 3, (2, 3))


def test_only_skips_between_the_ends():
    result = search.search(4, History("G", "S", "S", "B"))
    assert (result.outcome, result.suspects) == (search.SKIPPED, (1, 2, 3))


def test_a_release_that_passes_and_fails_is_flaky_not_a_boundary():
    history = History("G", "G", "GB", "B", "B")  # the middle one fails on its second run
    result = search.search(5, history, confirm=1)
    assert result.outcome == search.FLAKY and result.flaky == 2
    assert result.first_bad is not None  # bracketed, but not claimed


def test_flakiness_seen_within_one_probe_stops_the_search():
    history = History("G", "G", "G", "B", "B")
    history.answers[2] = ["G"]
    result = search.search(5, lambda i: V.FLAKY if i == 2 else history(i))
    assert (result.outcome, result.flaky) == (search.FLAKY, 2)


@pytest.mark.parametrize("answers, outcome", [
    (("B", "B", "B"), search.GOOD_END_BAD),
    (("G", "G", "G"), search.BAD_END_GOOD),
    (("S", "B", "B"), search.END_UNTESTABLE),
    (("G", "G", "S"), search.END_UNTESTABLE),
])
def test_ends_that_do_not_bracket_a_change_are_reported(answers, outcome):
    assert search.search(3, History(*answers)).outcome == outcome


def test_statuses_map_to_verdicts_and_runs_fold_into_one():
    assert search.verdict_of(Status.PASS) is V.GOOD
    assert {search.verdict_of(s) for s in (Status.FAIL, Status.ERROR, Status.CRASH, Status.TIMEOUT,
                                      Status.ABSENT)} == {V.BAD}
    assert {search.verdict_of(s) for s in (Status.INSTALL_FAILED, Status.SKIPPED,
                                      Status.NOT_APPLICABLE)} == {V.SKIP}
    assert search.classify([V.GOOD, V.SKIP, V.GOOD]) is V.GOOD
    assert search.classify([V.GOOD, V.BAD]) is V.FLAKY
    assert search.classify([V.SKIP]) is V.SKIP


def _processes(median: float, n: int, seed: int, spread: float = 0.05) -> list[list[float]]:
    """n processes of 30 rounds; each process's level wanders by `spread` (log SD)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        level = median * math.exp(rng.gauss(0, spread))
        out.append([level * math.exp(rng.gauss(0, 0.02)) for _ in range(30)])
    return out


def test_the_slowdown_rule_flags_a_real_slowdown_and_not_noise():
    rule = search.SlowdownRule(alpha=0.01, min_effect=0.10)
    base = _processes(0.050, 5, seed=1)
    slower = search.compare(base, _processes(0.050 * 1.4, 5, seed=2))
    same = search.compare(base, _processes(0.050, 5, seed=3))
    assert rule.slower(slower) and slower.low > 1.2
    assert not rule.slower(same) and same.low < 1.0 < same.high
    # Significant but below the minimum effect is not a regression either.
    tiny = search.compare(_processes(0.05, 5, 4, 0.001), _processes(0.05 * 1.05, 5, 5, 0.001))
    assert tiny.p_value < 0.01 and not rule.slower(tiny)


# ---- the benchmark bisect reads the nightly's timing records ------------------------------------

NODE = "suites/bench/test_gpu.py::test_resnet18_eager[b1]"


def _bench_file(path, host_rounds, cuda_rounds=None):
    """A pytest-benchmark file as the GPU benchmarks write it: host rounds in stats.data, the
    CUDA-event rounds (seconds) in extra_info when the test timed the device."""
    extra = {"cuda_event_rounds": cuda_rounds, "timer": "cuda_event"} if cuda_rounds else {}
    path.write_text(json.dumps({"benchmarks": [{
        "name": "test_resnet18_eager[b1]", "fullname": NODE, "group": "gpu",
        "options": {"timer": "time.perf_counter"}, "stats": {"data": host_rounds}, "extra_info": extra}]}))


def _fake_runs(monkeypatch, with_cuda: bool):
    """Each run of a candidate passes and leaves a benchmark file: the host clock sees the same
    time at both ends (kernel launches return at once), CUDA events see the bad end 1.5x slower."""
    rng = random.Random(7)

    def run(cmd, timeout):
        out = Path(cmd[cmd.index("--out") + 1])
        device = 0.010 * (1.5 if out.parent.name.startswith("01-") else 1.0)
        host = [0.002 * math.exp(rng.gauss(0, 0.02)) for _ in range(30)]
        cuda = [device * math.exp(rng.gauss(0, 0.02)) for _ in range(30)]
        _bench_file(out / BENCHMARKS, host, cuda if with_cuda else None)
        return None

    monkeypatch.setattr(probing, "_run", run)
    monkeypatch.setattr(probing.summ, "build_row", lambda run_dir, registry, rows: {
        "features": {"bench.gpu": {"status": "pass"}}, "suites": {"seconds": 1.0}})


def _prober(tmp_path, versions=("2.8.0", "2.9.0"), *, unpaired=False, processes=5):
    """A prober of a benchmark over built candidates; each candidate's venv is named by its version."""
    cands = [plan.Candidate(i, v, built=True, venv=tmp_path / f"venv-{v}", tests={NODE: ["bench.gpu"]})
             for i, v in enumerate(versions)]
    for cand in cands:
        (tmp_path / "work" / cand.label).mkdir(parents=True)
        (tmp_path / "work" / cand.label / INSTALL).write_text("{}")
    args = argparse.Namespace(ext=None, alpha=0.01, min_effect=0.10, venvs=str(tmp_path / "venvs"), repeat=1,
                              processes=processes, depth="quick", timeout=60.0, pytest_args=[], suites=[],
                              subject="torch", unpaired=unpaired)
    target = probing.Target("test_resnet18_eager[b1]", "", True, "bench")
    return probing.Prober(target, cands, None, args, tmp_path / "work"), cands


def test_the_benchmark_bisect_compares_the_cuda_event_timings_the_nightly_uses(tmp_path, monkeypatch):
    _fake_runs(monkeypatch, with_cuda=True)
    prober, cands = _prober(tmp_path)
    assert prober(0) is V.GOOD and prober(1) is V.BAD
    assert len(cands[1].rounds) == 5 and cands[1].clock == "cuda_event"
    assert {r["clock"] for c in cands for r in c.runs} == {"cuda_event"}
    assert all(0.009 < min(r) and max(r) < 0.017 for r in cands[1].rounds)  # device time, not host
    ratio = float(re.match(r"x([\d.]+)", cands[1].runs[-1]["ratio"]).group(1))
    assert 1.4 < ratio < 1.6
    # Read with the host clock alone, the same runs show no change: the clock decides the verdict.
    _fake_runs(monkeypatch, with_cuda=False)
    host_prober, host_cands = _prober(tmp_path / "host")
    assert host_prober(0) is V.GOOD and host_prober(1) is V.GOOD
    assert host_cands[1].clock == "perf_counter"


class DriftingMachine:
    """A fake machine whose speed drifts: every process it runs is `drift` times slower than the
    one before (machine-wide load creeping up), on top of each release's true time (`speed`,
    by version) and a small process-to-process and round-to-round noise. `ran` lists the version
    of each process in the order run; versions in `failing` fail their check."""

    def __init__(self, monkeypatch, speed: dict[str, float], drift=1.03, failing=(), seed=11):
        self.speed, self.drift, self.failing = speed, drift, set(failing)
        self.rng = random.Random(seed)
        self.ran: list[str] = []
        monkeypatch.setattr(probing, "_run", self.run)
        monkeypatch.setattr(probing.summ, "build_row", self.build_row)

    @staticmethod
    def version(python: str) -> str:
        return Path(python).parent.parent.name.removeprefix("venv-")

    def run(self, cmd, timeout):
        version = self.version(cmd[0])
        out = Path(cmd[cmd.index("--out") + 1])
        level = 0.010 * self.speed[version] * self.drift ** len(self.ran) * math.exp(self.rng.gauss(0, 0.003))
        self.ran.append(version)
        (out / "version").write_text(version)
        _bench_file(out / BENCHMARKS, [level * math.exp(self.rng.gauss(0, 0.003)) for _ in range(30)])

    def build_row(self, run_dir, registry, rows):
        failed = (run_dir / "version").read_text() in self.failing
        return {"features": {"bench.gpu": {"status": "fail" if failed else "pass",
                                           "message": "AssertionError: broken" if failed else ""}},
                "suites": {"seconds": 1.0}}


def _ratio(text: str) -> float:
    return float(re.match(r"x([\d.]+)", text).group(1))


def test_pairs_cancel_the_drift_that_makes_an_unpaired_bisect_call_an_unchanged_release_slower(
        tmp_path, monkeypatch):
    """Same true speed at both ends, the machine 3 % slower every process: timed apart, the
    candidate's processes all come after the good end's and look 16 % slower; in pairs the
    drift falls on both sides of each pair and the alternating order cancels it."""
    machine = DriftingMachine(monkeypatch, {"2.8.0": 1.0, "2.9.0": 1.0})
    prober, cands = _prober(tmp_path / "unpaired", unpaired=True)
    assert prober(0) is V.GOOD and prober(1) is V.BAD
    assert machine.ran == ["2.8.0"] * 5 + ["2.9.0"] * 5
    assert _ratio(cands[1].runs[-1]["ratio"]) > 1.10
    assert not cands[1].pairs

    machine = DriftingMachine(monkeypatch, {"2.8.0": 1.0, "2.9.0": 1.0})
    prober, cands = _prober(tmp_path / "paired")
    assert prober(0) is V.GOOD and prober(1) is V.GOOD
    assert len(cands[1].pairs) == 5 and len(cands[0].rounds) == 1  # the good end: its check run only
    ratio = _ratio(cands[1].runs[-1]["ratio"])
    assert abs(ratio - 1.0) < 0.02, cands[1].runs[-1]["ratio"]
    assert cands[1].runs[-1]["ratio"].endswith("5 interleaved pairs")
    assert machine.ran.count("2.8.0") == 6 and machine.ran.count("2.9.0") == 5


def test_a_truly_slower_candidate_is_bad_in_pairs_despite_the_drift(tmp_path, monkeypatch):
    DriftingMachine(monkeypatch, {"2.8.0": 1.0, "2.9.0": 1.3})
    prober, cands = _prober(tmp_path)
    assert prober(0) is V.GOOD and prober(1) is V.BAD
    assert 1.25 < _ratio(cands[1].runs[-1]["ratio"]) < 1.36
    assert all(1.2 < r["pair_ratio"] < 1.4 for r in cands[1].runs)  # each pair alone shows it


def test_pairs_alternate_which_side_runs_first(tmp_path, monkeypatch):
    machine = DriftingMachine(monkeypatch, {"2.8.0": 1.0, "2.9.0": 1.0})
    prober, cands = _prober(tmp_path, processes=4)
    prober(0)
    assert machine.ran == ["2.8.0"]
    prober(1)
    g, c = "2.8.0", "2.9.0"
    assert machine.ran[1:] == [g, c, c, g, g, c, c, g]
    runs = cands[1].runs
    assert [(r["pair"], r["first"]) for r in runs] == [
        (1, "good end"), (2, "candidate"), (3, "good end"), (4, "candidate")]
    # each pair's good-end process is kept beside the good end's runs, and named by its candidate
    assert runs[1]["good_end"]["dir"] == "work/00-2.8.0/pair-01-2.9.0-2"
    assert runs[1]["good_end"]["status"] == "pass" and runs[1]["dir"] == "work/01-2.9.0/run-2"
    prober(1)  # a second probe (the search's confirmation) adds one pair, in the next order
    assert machine.ran[9:] == [g, c] and runs[-1]["pair"] == 5 and len(cands[1].pairs) == 5


def test_a_candidate_whose_check_fails_in_a_pair_is_a_skip(tmp_path, monkeypatch):
    machine = DriftingMachine(monkeypatch, {"2.8.0": 1.0, "2.9.0": 1.0}, failing={"2.9.0"})
    prober, cands = _prober(tmp_path)
    assert prober(0) is V.GOOD and prober(1) is V.SKIP
    assert machine.ran == ["2.8.0", "2.8.0", "2.9.0"]  # no more pairs after the failed check
    assert cands[1].runs[-1]["status"] == "fail" and not cands[1].pairs


def test_a_good_end_failing_its_check_in_a_pair_is_said_with_the_verdict(tmp_path, monkeypatch):
    """The good end passed its own run, then fails in the pairs: too few pairs, and the candidate's
    message names the good end's failure (its check is flaky here), instead of a bare skip."""
    machine = DriftingMachine(monkeypatch, {"2.8.0": 1.0, "2.9.0": 1.0})
    prober, cands = _prober(tmp_path)
    assert prober(0) is V.GOOD
    machine.failing = {"2.8.0"}
    assert prober(1) is V.SKIP and not cands[1].pairs
    message = cands[1].runs[-1]["message"]
    assert message.startswith("0 complete pair(s) with the good end: too few to judge")
    assert "the good end failed in 5 of its pair processes" in message and "AssertionError: broken" in message


def test_a_paired_bisect_reports_the_boundary_ratio_through_the_good_end(tmp_path, monkeypatch):
    DriftingMachine(monkeypatch, {"2.8.0": 1.0, "2.9.0": 1.0, "2.10.0": 1.3})
    prober, cands = _prober(tmp_path, ("2.8.0", "2.9.0", "2.10.0"))
    found = search.search(3, prober)
    assert (found.outcome, found.last_good, found.first_bad) == (search.BOUNDARY, 1, 2)
    good_row = Row("g", {"torch": "2.8.0"})
    the_plan = plan.Plan("package", "torch", good_row, Row("b", {"torch": "2.10.0"}),
                         {"torch": "2.8.0"}, {"torch": "2.10.0"})
    summary = results.summarize(the_plan, prober.target, cands, found)
    assert summary.ratio["method"] == "paired-through-good-end"
    assert 1.2 < summary.ratio["ratio"] < 1.4 and summary.ratio["low"] > 1.1
    assert "the ratio of the two ratios" in summary.failure
    # against the good end itself the pairs are compared directly
    direct, method = results.benchmark_estimate(cands[0], cands[2])
    assert method == "paired" and 1.2 < direct.ratio < 1.4


def test_an_unpaired_bisect_still_compares_processes_timed_apart(tmp_path, monkeypatch):
    _fake_runs(monkeypatch, with_cuda=True)
    prober, cands = _prober(tmp_path, unpaired=True)
    assert prober(0) is V.GOOD and prober(1) is V.BAD
    assert len(cands[0].rounds) == 5 and not cands[1].pairs
    assert results.benchmark_estimate(cands[0], cands[1])[1] == "unpaired"
    assert not any("pair" in r for r in cands[1].runs)


def test_a_benchmark_bisect_with_fewer_than_two_processes_is_a_usage_error(tmp_path, capsys):
    assert cli.main(["suites/bench/test_cpu.py::test_x", "--good", "torch=2.3.1", "--bad", "torch=2.4.0",
                     "--processes", "1", "--reports", str(tmp_path / "reports")]) == 2
    assert "--processes 1: a benchmark needs at least 2" in capsys.readouterr().err
    assert not (tmp_path / "reports").exists()
    assert cli.parser().parse_args(["x", "--good", "a", "--bad", "b", "--unpaired"]).unpaired


def test_a_benchmark_record_is_read_like_the_nightly_reads_it(tmp_path):
    path = tmp_path / "b.json"
    _bench_file(path, [0.002, 0.003], [0.010, 0.011])
    record = probing.benchmark_record(path, NODE)
    assert (record["clock"], record["rounds"]) == ("cuda_event", [0.010, 0.011])
    assert probing.benchmark_rounds(path, "test_gpu.py::test_resnet18_eager[b1]") == [0.010, 0.011]
    assert probing.benchmark_rounds(path, "test_other") == []
    assert probing.benchmark_rounds(tmp_path / "missing.json", NODE) == []


# ---- the ends, the plan and the listing -------------------------------------------------------

T23 = Row("text", {"torch": "2.3.1", "torchtext": "0.18.0"}, extra=("torchdata==0.7.1", "numpy<2"))


def test_pins_on_one_side_are_laid_over_the_other_sides_row():
    good, bad = plan.end_rows("text", "torchdata=0.10.1, numpy<2.1", {"text": T23})
    assert good is T23
    assert bad.pins == {"torch": "2.3.1", "torchtext": "0.18.0"}
    assert bad.extra == ("torchdata==0.10.1", "numpy<2.1")
    good, bad = plan.end_rows("torch=2.8.0,torchvision==0.23.0", "torch=2.11.0", {})
    assert good.pins == {"torch": "2.8.0", "torchvision": "0.23.0"}
    assert bad.pins == {"torch": "2.11.0", "torchvision": "0.23.0"}
    with pytest.raises(plan.BisectError, match="neither a row nor a pin"):
        plan.end_rows("no-such-row!", "torch=2.3.1", {})


def test_the_mode_follows_what_differs_between_the_resolved_ends():
    good_v = {"torch": "2.3.1", "torchtext": "0.18.0", "torchdata": "0.7.1", "numpy": "1.26.4"}
    bad_v = {**good_v, "torchdata": "0.10.1"}
    bad = Row("b", T23.pins, extra=("torchdata==0.10.1", "numpy<2"))
    assert plan.choose_mode(T23, bad, good_v, bad_v, None, False) == ("package", "torchdata")
    assert plan.choose_mode(T23, bad, good_v, {**bad_v, "torch": "2.4.0"}, None, False) == ("train", "torch")
    with pytest.raises(plan.BisectError, match="several packages differ"):
        plan.choose_mode(T23, bad, good_v, {**bad_v, "numpy": "2.0.0"}, None, False)
    with pytest.raises(plan.BisectError, match="same releases"):
        plan.choose_mode(T23, T23, good_v, good_v, None, False)


def test_candidates_hold_the_good_pins_then_relax_step_by_step():
    good = Row("g", {"torch": "2.8.0", "torchvision": "0.23.0", "torchaudio": "2.8.0"}, extra=("numpy<2",))
    bad = Row("b", {"torch": "2.11.0", "torchvision": "0.26.0", "torchaudio": "2.11.0"},
              extra=("torchcodec",))
    gv = {"torch": "2.8.0", "torchvision": "0.23.0", "torchaudio": "2.8.0", "numpy": "1.26.4"}
    bv = {"torch": "2.11.0", "torchvision": "0.26.0", "torchaudio": "2.11.0", "numpy": "2.2.0",
          "torchcodec": "0.8.0"}
    one = plan.Plan("package", "torchvision", good, bad, gv, bv)
    assert one.requirements("0.24.0", 0) == {"torch": "torch==2.8.0", "torchvision": "torchvision==0.24.0",
                                             "torchaudio": "torchaudio==2.8.0", "numpy": "numpy<2"}
    assert one.requirements("0.24.0", 1)["torch"] == "torch>=2.8.0,<=2.11.0"
    assert one.requirements("0.24.0", 1)["numpy"] == "numpy>=1.26.4,<=2.2.0"
    assert one.requirements("0.24.0", 2)["torch"] == "torch"
    train = plan.Plan("train", "torch", good, bad, gv, bv)
    assert train.requirements("2.9.1", 0) == {
        "torch": "torch==2.9.1", "torchvision": "torchvision>=0.23.0,<=0.26.0",
        "torchaudio": "torchaudio>=2.8.0,<=2.11.0", "numpy": "numpy<2"}
    assert train.notes() == ["only in the bad row, not carried into the candidates: torchcodec"]
    assert "release train" in train.describe() and "one package: torchvision" in one.describe()


def test_the_train_pins_each_domain_library_to_the_lowest_release_that_accepts_the_torch(
        monkeypatch, tmp_path):
    """torchaudio 2.11.0 declares no torch requirement, so the newest torchaudio in the ends' range
    would ride with every torch release: the train asks for the lowest one that resolves."""
    good = Row("g", {"torch": "2.3.1", "torchaudio": "2.3.1"}, extra=("numpy<2",))
    bad = Row("b", {"torch": "2.14.1", "torchaudio": "2.11.0"}, extra=("numpy<2",))
    gv = {"torch": "2.3.1", "torchaudio": "2.3.1", "numpy": "1.26.4"}
    bv = {"torch": "2.14.1", "torchaudio": "2.11.0", "numpy": "1.26.4"}
    train = plan.Plan("train", "torch", good, bad, gv, bv)
    assert train.train_windows("2.4.0") == ["torch==2.4.0", "torchaudio>=2.3.1,<=2.11.0"]
    asked = []

    def fake_resolve(reqs, python, folder, *, with_suites=True, lowest_direct=False):
        asked.append((reqs, with_suites, lowest_direct))
        return uv.Resolution(True, {"torch": "2.4.0", "torchaudio": "2.4.0", "numpy": "2.0.0"})

    monkeypatch.setattr(plan.install, "resolve", fake_resolve)
    paired = plan.paired_releases(train, "2.4.0", "3.11", tmp_path)
    assert paired == {"torchaudio": "2.4.0"}  # not the subject, not the helpers
    assert asked == [(["torch==2.4.0", "torchaudio>=2.3.1,<=2.11.0"], False, True)]
    assert train.requirements("2.4.0", 0, paired) == {
        "torch": "torch==2.4.0", "torchaudio": "torchaudio==2.4.0", "numpy": "numpy<2"}
    assert train.requirements("2.4.0", 1, paired)["torchaudio"] == "torchaudio>=2.3.1,<=2.11.0"
    monkeypatch.setattr(plan.install, "resolve", lambda *a, **k: uv.Resolution(False, {}, "no"))
    assert plan.paired_releases(train, "2.4.0", "3.11", tmp_path) == {}


@pytest.mark.slow
def test_the_real_resolver_pairs_torch_2_4_0_with_torchaudio_2_4_0(tmp_path):
    good = Row("g", {"torch": "2.3.1", "torchaudio": "2.3.1"})
    bad = Row("b", {"torch": "2.14.1", "torchaudio": "2.11.0"})
    train = plan.Plan("train", "torch", good, bad, {"torch": "2.3.1", "torchaudio": "2.3.1"},
                   {"torch": "2.14.1", "torchaudio": "2.11.0"})
    assert plan.paired_releases(train, "2.4.0", "3.11", tmp_path) == {"torchaudio": "2.4.0"}
    assert plan.paired_releases(train, "2.12.0", "3.11", tmp_path) == {"torchaudio": "2.11.0"}


def test_a_stored_result_is_found_for_the_grid_cell_it_explains(tmp_path):
    (tmp_path / "bisect").mkdir()
    (tmp_path / "bisect" / "f--r.json").write_text(json.dumps({
        "subject": "torch", "explains": {"row": "torch-2.14", "feature": "core.mobile.x"},
        "result": {"outcome": "boundary", "first_bad": {"version": "2.13.0"}}}))
    (tmp_path / "bisect" / "torn.json").write_text("{")
    assert results.links(tmp_path, tmp_path.parent) == {"torch-2.14/core.mobile.x": {
        "file": "bisect/f--r.json", "href": f"{tmp_path.name}/bisect/f--r.json",
        "text": "first bad: torch 2.13.0"}}


def test_a_result_carries_its_schema_version_and_links_read_old_and_current_files(tmp_path):
    summary = results.Summary(search.Outcome.BOUNDARY, first_bad={"version": "2.13.0"})
    data = results.BisectResult(
        target="core.mobile.x", kind="feature", feature="core.mobile.x", mode="package", subject="torch",
        description="", notes=[], explains={"row": "torch-2.14", "feature": "core.mobile.x"}, good={}, bad={},
        result=summary, candidates=[], probes=[[0, V.GOOD.value]], rows_built=0, started="s",
        finished="f", seconds=0.0, command=[]).to_json()
    assert data["schema_version"] == results.SCHEMA_VERSION == 2
    assert json.loads(json.dumps(data))["result"]["outcome"] == "boundary"
    assert type(data["result"]["outcome"]) is str
    (tmp_path / "bisect").mkdir()
    (tmp_path / "bisect" / "now.json").write_text(json.dumps(data))
    (tmp_path / "bisect" / "future.json").write_text(json.dumps(
        {**data, "schema_version": 3, "explains": {"row": "r", "feature": "f"}}))
    assert list(results.links(tmp_path)) == ["torch-2.14/core.mobile.x"]  # not the newer schema
    with pytest.raises(ValueError, match="schema_version 3"):
        results.read_result(tmp_path / "bisect" / "future.json")
    # a version-1 benchmark result was timed unpaired: migration says so
    ratio = {"ratio": 1.3, "low": 1.2, "high": 1.4, "p_value": 0.001, "against": "last good", "clock": "c"}
    (tmp_path / "old.json").write_text(json.dumps({**data, "schema_version": 1,
                                                   "result": {**data["result"], "ratio": ratio}}))
    old = results.read_result(tmp_path / "old.json")
    assert old["schema_version"] == 2 and old["result"]["ratio"] == {**ratio, "method": "unpaired"}
    assert results.read_result(tmp_path / "bisect" / "now.json")["result"]["ratio"] is None


def test_a_candidate_timed_by_another_clock_is_not_compared(tmp_path, monkeypatch):
    _fake_runs(monkeypatch, with_cuda=True)
    prober, cands = _prober(tmp_path)
    assert prober(0) is V.GOOD
    _fake_runs(monkeypatch, with_cuda=False)
    with pytest.raises(plan.BisectError, match="timed by perf_counter at 2.9.0 but by cuda_event"):
        prober(1)


def test_usage_errors_exit_2_and_write_nothing(tmp_path, capsys):
    env_reports = ["--reports", str(tmp_path / "reports")]
    assert cli.main(["no.such.feature", "--good", "torch=2.3.1", "--bad", "torch=2.4.0", *env_reports]) == 2
    assert "not a feature of the registry" in capsys.readouterr().err
    assert not (tmp_path / "reports").exists()



def test_the_usage_names_the_module_that_runs(tmp_path):
    """The usage line and a stored result's `command` name a module `python -m` can run."""
    assert cli.parser().prog == "python -m harness.bisection"
    proc = subprocess.run([sys.executable, "-m", "harness.bisection", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("usage: python -m harness.bisection "), proc.stderr


# ---- end to end ---------------------------------------------------------------------------------

# torchtext 0.18's datasets are torchdata DataPipes; torchdata 0.10.0 removed DataPipes
# (https://github.com/pytorch/data/releases/tag/v0.10.0). Rows of the real torch 2.3.1 with four
# real torchdata releases; `-k split` keeps the run to the three parsing checks of the feature.
MATRIX = """
[[row]]
name = "text-td08"
pins = { torch = "2.3.1", torchvision = "0.18.1", torchaudio = "2.3.1", torchtext = "0.18.0" }
extra = ["torchdata==0.8.0", "numpy<2", "portalocker"]

[[row]]
name = "text-td010"
pins = { torch = "2.3.1", torchvision = "0.18.1", torchaudio = "2.3.1", torchtext = "0.18.0" }
extra = ["torchdata==0.10.1", "numpy<2", "portalocker"]
"""


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_a_real_bisect_finds_the_torchdata_release_that_broke_torchtext_datasets(tmp_path):
    matrix = tmp_path / "matrix.toml"
    matrix.write_text(MATRIX)
    reports = tmp_path / "reports"
    run = reports / "runs" / "nightly"
    run.mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"run_id": "nightly"}))
    env = dict(os.environ, HARNESS_MATRIX=str(matrix), HARNESS_REPORTS=str(reports))
    env.pop("HARNESS_RUN_ID", None)
    proc = subprocess.run(
        [sys.executable, "-m", "nox", "-f", str(ROOT / "noxfile.py"), "--envdir", str(tmp_path / ".nox"),
         "-s", "bisect", "--",
         "text.datasets.penntreebank", "--good", "text-td08", "--bad", "text-td010",
         "--venvs", str(tmp_path / "venvs"), "--", "-k", "split"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1400)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "mode: package" in out and "torchdata 0.8.0 -> 0.10.1" in out
    assert "last good: torchdata 0.9.0" in out and "first bad: torchdata 0.10.0" in out
    assert "No module named 'torchdata.datapipes'" in out

    data = json.loads((run / "bisect" / "text.datasets.penntreebank--text-td010.json").read_text())
    assert data["explains"] == {"row": "text-td010", "feature": "text.datasets.penntreebank"}
    assert [c["version"] for c in data["candidates"]] == ["0.8.0", "0.9.0", "0.10.0", "0.10.1"]
    result = data["result"]
    assert result["outcome"] == "boundary"
    assert (result["last_good"]["version"], result["first_bad"]["version"]) == ("0.9.0", "0.10.0")
    assert result["first_bad"]["versions"]["torch"] == "2.3.1"  # held at the good row's pin
    assert "torchdata.datapipes" in result["failure"]
    assert data["rows_built"] == 4 and "rows built: 4 of 4" in out
    first_bad = data["candidates"][2]
    assert [r["status"] for r in first_bad["runs"]] == ["error", "error"]  # confirmed by a re-run
    assert (run / "bisect" / first_bad["runs"][0]["dir"] / "pytest.log").exists()  # beside the JSON
    assert results.links(run)["text-td010/text.datasets.penntreebank"]["text"] == "first bad: torchdata 0.10.0"
