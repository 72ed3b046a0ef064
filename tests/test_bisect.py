"""Bisect: the search over synthetic histories, the pieces around it, and one real bisect end to end."""
import json
import math
import os
import random
import subprocess
import sys

import pytest
from packaging.version import Version

from harness import bisect as b
from harness import releases
from harness.bisect import Verdict as V
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
        return b.classify(self.seen[i])

    @property
    def probed(self) -> set[int]:
        return {i for i, seen in enumerate(self.seen) if seen}


def test_a_clean_history_finds_the_boundary_and_confirms_both_sides():
    history = History("G", "G", "G", "G", "B", "B", "B")
    result = b.search(7, history)
    assert (result.outcome, result.last_good, result.first_bad) == (b.BOUNDARY, 3, 4)
    assert [v for i, v in result.probes if i in (3, 4)][-2:] == [V.GOOD, V.BAD]  # re-run once each


def test_the_search_is_logarithmic():
    n, first_bad = 1025, 700
    history = History(*("G" * first_bad + "B" * (n - first_bad)))
    result = b.search(n, history, confirm=0)
    assert (result.last_good, result.first_bad) == (first_bad - 1, first_bad)
    assert len(history.probed) <= 2 + math.ceil(math.log2(n))


def test_adjacent_ends_need_no_middle():
    result = b.search(2, History("G", "B"))
    assert (result.outcome, result.last_good, result.first_bad) == (b.BOUNDARY, 0, 1)


def test_a_skip_away_from_the_boundary_is_stepped_over():
    history = History("G", "S", "S", "G", "B", "B")
    result = b.search(6, history)
    assert (result.outcome, result.last_good, result.first_bad) == (b.BOUNDARY, 3, 4)


def test_a_skip_next_to_the_boundary_leaves_a_range_of_suspects():
    # 2 cannot be installed: the first bad is 2 or 3, as git bisect says for skipped commits.
    history = History("G", "G", "S", "B", "B")
    result = b.search(5, history)
    assert result.outcome == b.SKIPPED
    assert (result.last_good, result.first_bad, result.suspects) == (1, 3, (2, 3))


def test_only_skips_between_the_ends():
    result = b.search(4, History("G", "S", "S", "B"))
    assert (result.outcome, result.suspects) == (b.SKIPPED, (1, 2, 3))


def test_a_release_that_passes_and_fails_is_flaky_not_a_boundary():
    history = History("G", "G", "GB", "B", "B")  # the middle one fails on its second run
    result = b.search(5, history, confirm=1)
    assert result.outcome == b.FLAKY and result.flaky == 2
    assert result.first_bad is not None  # bracketed, but not claimed


def test_flakiness_seen_within_one_probe_stops_the_search():
    history = History("G", "G", "G", "B", "B")
    history.answers[2] = ["G"]
    result = b.search(5, lambda i: V.FLAKY if i == 2 else history(i))
    assert (result.outcome, result.flaky) == (b.FLAKY, 2)


@pytest.mark.parametrize("answers, outcome", [
    (("B", "B", "B"), b.GOOD_END_BAD),
    (("G", "G", "G"), b.BAD_END_GOOD),
    (("S", "B", "B"), b.END_UNTESTABLE),
    (("G", "G", "S"), b.END_UNTESTABLE),
])
def test_ends_that_do_not_bracket_a_change_are_reported(answers, outcome):
    assert b.search(3, History(*answers)).outcome == outcome


def test_statuses_map_to_verdicts_and_runs_fold_into_one():
    assert b.verdict_of(Status.PASS) is V.GOOD
    assert {b.verdict_of(s) for s in (Status.FAIL, Status.ERROR, Status.CRASH, Status.TIMEOUT,
                                      Status.ABSENT)} == {V.BAD}
    assert {b.verdict_of(s) for s in (Status.INSTALL_FAILED, Status.SKIPPED,
                                      Status.NOT_APPLICABLE)} == {V.SKIP}
    assert b.classify([V.GOOD, V.SKIP, V.GOOD]) is V.GOOD
    assert b.classify([V.GOOD, V.BAD]) is V.FLAKY
    assert b.classify([V.SKIP]) is V.SKIP


def _processes(median: float, n: int, seed: int, spread: float = 0.05) -> list[list[float]]:
    """n processes of 30 rounds; each process's level wanders by `spread` (log SD)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        level = median * math.exp(rng.gauss(0, spread))
        out.append([level * math.exp(rng.gauss(0, 0.02)) for _ in range(30)])
    return out


def test_the_slowdown_rule_flags_a_real_slowdown_and_not_noise():
    rule = b.SlowdownRule(alpha=0.01, min_effect=0.10)
    base = _processes(0.050, 5, seed=1)
    slower = b.compare(base, _processes(0.050 * 1.4, 5, seed=2))
    same = b.compare(base, _processes(0.050, 5, seed=3))
    assert rule.slower(slower) and slower.low > 1.2
    assert not rule.slower(same) and same.low < 1.0 < same.high
    # Significant but below the minimum effect is not a regression either.
    tiny = b.compare(_processes(0.05, 5, 4, 0.001), _processes(0.05 * 1.05, 5, 5, 0.001))
    assert tiny.p_value < 0.01 and not rule.slower(tiny)


# ---- the ends, the plan and the listing -------------------------------------------------------

T23 = Row("text", {"torch": "2.3.1", "torchtext": "0.18.0"}, extra=("torchdata==0.7.1", "numpy<2"))


def test_pins_on_one_side_are_laid_over_the_other_sides_row():
    good, bad = b.end_rows("text", "torchdata=0.10.1, numpy<2.1", {"text": T23})
    assert good is T23
    assert bad.pins == {"torch": "2.3.1", "torchtext": "0.18.0"}
    assert bad.extra == ("torchdata==0.10.1", "numpy<2.1")
    good, bad = b.end_rows("torch=2.8.0,torchvision==0.23.0", "torch=2.11.0", {})
    assert good.pins == {"torch": "2.8.0", "torchvision": "0.23.0"}
    assert bad.pins == {"torch": "2.11.0", "torchvision": "0.23.0"}
    with pytest.raises(b.BisectError, match="neither a row nor a pin"):
        b.end_rows("no-such-row!", "torch=2.3.1", {})


def test_the_mode_follows_what_differs_between_the_resolved_ends():
    good_v = {"torch": "2.3.1", "torchtext": "0.18.0", "torchdata": "0.7.1", "numpy": "1.26.4"}
    bad_v = {**good_v, "torchdata": "0.10.1"}
    bad = Row("b", T23.pins, extra=("torchdata==0.10.1", "numpy<2"))
    assert b.choose_mode(T23, bad, good_v, bad_v, None, False) == ("package", "torchdata")
    assert b.choose_mode(T23, bad, good_v, {**bad_v, "torch": "2.4.0"}, None, False) == ("train", "torch")
    with pytest.raises(b.BisectError, match="several packages differ"):
        b.choose_mode(T23, bad, good_v, {**bad_v, "numpy": "2.0.0"}, None, False)
    with pytest.raises(b.BisectError, match="same releases"):
        b.choose_mode(T23, T23, good_v, good_v, None, False)


def test_candidates_hold_the_good_pins_then_relax_step_by_step():
    good = Row("g", {"torch": "2.8.0", "torchvision": "0.23.0", "torchaudio": "2.8.0"}, extra=("numpy<2",))
    bad = Row("b", {"torch": "2.11.0", "torchvision": "0.26.0", "torchaudio": "2.11.0"},
              extra=("torchcodec",))
    gv = {"torch": "2.8.0", "torchvision": "0.23.0", "torchaudio": "2.8.0", "numpy": "1.26.4"}
    bv = {"torch": "2.11.0", "torchvision": "0.26.0", "torchaudio": "2.11.0", "numpy": "2.2.0",
          "torchcodec": "0.8.0"}
    one = b.Plan("package", "torchvision", good, bad, gv, bv)
    assert one.requirements("0.24.0", 0) == {"torch": "torch==2.8.0", "torchvision": "torchvision==0.24.0",
                                             "torchaudio": "torchaudio==2.8.0", "numpy": "numpy<2"}
    assert one.requirements("0.24.0", 1)["torch"] == "torch>=2.8.0,<=2.11.0"
    assert one.requirements("0.24.0", 1)["numpy"] == "numpy>=1.26.4,<=2.2.0"
    assert one.requirements("0.24.0", 2)["torch"] == "torch"
    train = b.Plan("train", "torch", good, bad, gv, bv)
    assert train.requirements("2.9.1", 0) == {
        "torch": "torch==2.9.1", "torchvision": "torchvision>=0.23.0,<=0.26.0",
        "torchaudio": "torchaudio>=2.8.0,<=2.11.0", "numpy": "numpy<2"}
    assert train.notes() == ["only in the bad row, not carried into the candidates: torchcodec"]
    assert "release train" in train.describe() and "one package: torchvision" in one.describe()


def test_the_listing_walks_from_good_to_bad_and_knows_which_wheels_fit():
    page = {"name": "torchdata", "versions": ["0.7.1", "0.8.0", "0.9.0rc1", "0.9.0", "0.10.0", "0.11.0"],
            "files": [
                {"filename": "torchdata-0.7.1-cp311-cp311-manylinux_2_17_x86_64.whl", "yanked": False},
                {"filename": "torchdata-0.8.0-cp311-cp311-win_amd64.whl", "yanked": False},
                {"filename": "torchdata-0.9.0rc1-py3-none-any.whl", "yanked": False},
                {"filename": "torchdata-0.9.0-py3-none-any.whl", "yanked": False},
                {"filename": "torchdata-0.10.0-py3-none-any.whl", "yanked": "broken"},
                {"filename": "torchdata-0.11.0-py3-none-any.whl", "yanked": False},
                {"filename": "torchdata-0.11.0.tar.gz", "yanked": False}]}
    listing = releases.parse_simple(page)
    forward = releases.between(listing, Version("0.7.1"), Version("0.11.0"))
    assert [str(r.version) for r in forward] == ["0.7.1", "0.8.0", "0.9.0", "0.11.0"]  # no rc, no yanked
    backward = releases.between(listing, Version("0.11.0"), Version("0.8.0"))
    assert [str(r.version) for r in backward] == ["0.11.0", "0.9.0", "0.8.0"]
    tags = releases.python_tags("3.11")
    fits = {str(r.version): releases.installable(r, tags) for r in listing}
    assert fits["0.9.0"] and fits["0.11.0"] and not fits["0.8.0"]  # only a Windows wheel
    assert releases.parse_lock("torch==2.3.1\n    # via x\nPyYAML==6.0.2 ; python_version >= '3'\n") == \
        {"torch": "2.3.1", "pyyaml": "6.0.2"}


def test_a_stored_result_is_found_for_the_grid_cell_it_explains(tmp_path):
    (tmp_path / "bisect").mkdir()
    (tmp_path / "bisect" / "f--r.json").write_text(json.dumps({
        "subject": "torch", "explains": {"row": "torch-2.14", "feature": "core.mobile.x"},
        "result": {"outcome": "boundary", "first_bad": {"version": "2.13.0"}}}))
    (tmp_path / "bisect" / "torn.json").write_text("{")
    assert b.links(tmp_path, tmp_path.parent) == {"torch-2.14/core.mobile.x": {
        "file": "bisect/f--r.json", "href": f"{tmp_path.name}/bisect/f--r.json",
        "text": "first bad: torch 2.13.0"}}


def test_usage_errors_exit_2_and_write_nothing(tmp_path, capsys):
    env_reports = ["--reports", str(tmp_path / "reports")]
    assert b.main(["no.such.feature", "--good", "torch=2.3.1", "--bad", "torch=2.4.0", *env_reports]) == 2
    assert "not a feature of the registry" in capsys.readouterr().err
    assert not (tmp_path / "reports").exists()


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
    assert b.links(run)["text-td010/text.datasets.penntreebank"]["text"] == "first bad: torchdata 0.10.0"
