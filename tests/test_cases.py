"""The corpus of real upstream breakages: validation of case files and the caught/missed/disturbed verdict."""
import contextlib
import json
from pathlib import Path

import pytest

from harness import cases
from harness.cases import CAUGHT, DISTURBED, MISSED, CaseError, judge, load_case, load_cases
from harness.matrix import MatrixError, load_matrix
from harness.registry import load_registry

FEATURES = {"audio.transforms.mfcc", "audio.transforms.biquad", "audio.transforms.masking",
            "vision.onnx.dynamo_exporter", "vision.onnx.torchscript_exporter"}

GOOD = '''\
title = "numpy 2 beside torch 2.2"
link = "https://github.com/pytorch/pytorch/issues/132179"
suites = ["audio/test_mfcc.py"]
reference = "good"

[[row]]
name = "good"
pins = { torch = "2.2.2", torchaudio = "2.2.2" }
extra = ["numpy<2"]

[[row]]
name = "bad"
pins = { torch = "2.2.2", torchaudio = "2.2.2" }
extra = ["numpy>=2"]

[expect.good]
"audio.transforms.mfcc" = "pass"

[expect.bad]
"audio.transforms.mfcc" = { status = "error", message = "Numpy is not available" }
'''


@pytest.fixture
def suites_dir(tmp_path):
    root = tmp_path / "suites"
    (root / "audio").mkdir(parents=True)
    (root / "audio" / "test_mfcc.py").write_text("")
    return root


def case_of(write, suites_dir, text: str, name: str = "demo.toml"):
    return load_case(write(f"cases/{name}", text), FEATURES, suites_dir)


def error_of(write, suites_dir, text: str) -> CaseError | MatrixError:
    with pytest.raises(MatrixError) as info:
        case_of(write, suites_dir, text)
    message = str(info.value)
    assert message.count("\n") == 0 and "demo.toml" in message
    return info.value


# ---------------------------------------------------------------- the shipped corpus

def test_the_shipped_corpus_validates_against_the_registry():
    corpus = load_cases(cases.CASES_DIR, feature_ids=set(load_registry()))
    assert len(corpus) >= 9
    assert all(c.link.startswith("https://github.com/") for c in corpus)
    names = {c.name for c in corpus}
    assert {"onnxscript-batchnorm-folding", "torchaudio-cuda-minor-mismatch"} <= names
    issue13 = next(c for c in corpus if c.name == "onnxscript-batchnorm-folding")
    assert issue13.expect["onnxscript-0.5.6"]["vision.onnx.dynamo_exporter"].status == "fail"
    assert issue13.expect["onnxscript-0.5.7"]["vision.onnx.dynamo_exporter"].status == "pass"
    assert {r.name: r.extra for r in issue13.rows}["onnxscript-0.5.6"] == (
        "onnxscript==0.5.6", "onnx-ir==0.1.13", "onnx==1.19.1")
    cuda = next(c for c in corpus if c.name == "torchaudio-cuda-minor-mismatch")
    assert cuda.link == "https://github.com/pytorch/audio/pull/4226"
    assert {r.name: r.pins for r in cuda.rows}["torchaudio-2.11.0"] == {"torch": "2.15.0", "torchaudio": "2.11.0"}


def test_a_case_becomes_a_matrix_file_the_harness_reads_back(write, suites_dir, tmp_path):
    case = case_of(write, suites_dir, GOOD)
    matrix = load_matrix(write("m.toml", case.matrix_toml()))
    assert matrix.rows == case.rows


# ---------------------------------------------------------------- malformed cases: file, entry, field

def test_not_toml(write, suites_dir):
    assert "not valid TOML" in str(error_of(write, suites_dir, "title = \n"))


def test_missing_link(write, suites_dir):
    text = GOOD.replace('link = "https://github.com/pytorch/pytorch/issues/132179"\n', "")
    assert "field 'link'" in str(error_of(write, suites_dir, text))


def test_link_not_https(write, suites_dir):
    text = GOOD.replace("https://github.com", "github.com")
    assert "field 'link'" in str(error_of(write, suites_dir, text))


def test_unknown_top_level_key(write, suites_dir):
    assert "field 'rows'" in str(error_of(write, suites_dir, GOOD.replace("[[row]]", "[[rows]]", 1)))


def test_a_malformed_row_is_reported_by_the_matrix_validation(write, suites_dir):
    err = error_of(write, suites_dir, GOOD.replace('torch = "2.2.2", torchaudio', 'torch = "2.2.2", torchaudoi', 1))
    assert (err.row, err.field) == ("good", "pins.torchaudoi")
    assert str(err).endswith("unknown package (known: torch, torchvision, torchaudio, torchtext)")


def test_a_malformed_version_names_row_and_field(write, suites_dir):
    err = error_of(write, suites_dir, GOOD.replace('"2.2.2", torchaudio = "2.2.2" }\nextra = ["numpy>=2"]',
                                                   '"two", torchaudio = "2.2.2" }\nextra = ["numpy>=2"]'))
    assert ": row bad: field 'pins.torch': malformed version 'two'" in str(err)


def test_unknown_status(write, suites_dir):
    text = GOOD.replace('"audio.transforms.mfcc" = "pass"', '"audio.transforms.mfcc" = "ok"')
    err = error_of(write, suites_dir, text)
    assert ": expect.good: field 'audio.transforms.mfcc': status 'ok' is not one of" in str(err)


def test_expectation_for_a_row_the_case_lacks(write, suites_dir):
    err = error_of(write, suites_dir, GOOD + '\n[expect.other]\n"audio.transforms.mfcc" = "pass"\n')
    assert ": expect.other: names no row of this case" in str(err)


def test_row_without_expectations(write, suites_dir):
    text = GOOD.split("[expect.bad]")[0]
    assert ": expect.bad: missing" in str(error_of(write, suites_dir, text))


def test_a_feature_the_registry_does_not_know(write, suites_dir):
    text = GOOD.replace('"audio.transforms.mfcc" = "pass"', '"audio.transforms.mfc" = "pass"')
    err = error_of(write, suites_dir, text)
    assert ": expect.good: field 'audio.transforms.mfc': names no feature of the registry" in str(err)


def test_a_message_that_is_not_a_regex(write, suites_dir):
    err = error_of(write, suites_dir, GOOD.replace("Numpy is not available", "Numpy (is"))
    assert "field 'audio.transforms.mfcc.message': not a regex" in str(err)


def test_suites_outside_the_tree(write, suites_dir):
    err = error_of(write, suites_dir, GOOD.replace('"audio/test_mfcc.py"', '"../audio/test_mfcc.py"'))
    assert "field 'suites'" in str(err)


def test_reference_that_is_not_a_row(write, suites_dir):
    err = error_of(write, suites_dir, GOOD.replace('reference = "good"', 'reference = "best"'))
    assert "field 'reference'" in str(err)


def test_main_exits_2_with_one_line_and_writes_nothing(write, tmp_path, capsys):
    write("corpus/demo.toml", GOOD.replace('"audio.transforms.mfcc" = "pass"', '"audio.transforms.mfcc" = "ok"'))
    reports = tmp_path / "reports"
    code = cases.main(["--cases", str(tmp_path / "corpus"), "--reports", str(reports)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "demo.toml: expect.good: field 'audio.transforms.mfcc'" in err
    assert not reports.exists()


def test_nox_s_cases_exits_2_on_a_malformed_case_before_building_anything(write, tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT

    corpus = tmp_path / "corpus"
    write("corpus/demo.toml", GOOD.replace('link = "https://', 'link = "ftp://'))
    assert cases.check(["--cases", str(corpus)]).startswith(f"error: {corpus / 'demo.toml'}: field 'link'")
    write("corpus/demo.toml", GOOD)
    assert cases.check(["--cases", str(corpus)]) is None
    write("corpus/demo.toml", GOOD.replace('reference = "good"', 'reference = "best"'))
    proc = subprocess.run([sys.executable, "-m", "nox", "-f", str(ROOT / "noxfile.py"), "--envdir",
                           str(tmp_path / ".nox"), "-s", "cases", "--",
                           "--cases", str(corpus), "--reports", str(tmp_path / "reports")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"error: {corpus / 'demo.toml'}: field 'reference'" in proc.stderr
    assert not (tmp_path / "reports").exists()


def test_an_unknown_case_name_exits_2(write, tmp_path, capsys):
    write("corpus/demo.toml", GOOD)
    assert cases.main(["--cases", str(tmp_path / "corpus"), "nosuch"]) == 2
    assert "nosuch.toml: no such case" in capsys.readouterr().err


# ---------------------------------------------------------------- the verdict, on synthetic summaries

def summary(**rows) -> dict:
    return {"rows": [{"name": name, "features": {fid: {"status": st, "message": msg}
                                                 for fid, (st, msg) in cells.items()}}
                     for name, cells in rows.items()]}


PASS = ("pass", "")
NUMPY = ("error", "RuntimeError: Numpy is not available")


def test_caught(write, suites_dir):
    case = case_of(write, suites_dir, GOOD)
    result = judge(case, summary(good={"audio.transforms.mfcc": PASS}, bad={"audio.transforms.mfcc": NUMPY}))
    assert (result.verdict, result.problems) == (CAUGHT, [])
    assert result.observed["bad"]["audio.transforms.mfcc"]["status"] == "error"


def test_missed_when_the_bad_row_passes(write, suites_dir):
    case = case_of(write, suites_dir, GOOD)
    result = judge(case, summary(good={"audio.transforms.mfcc": PASS}, bad={"audio.transforms.mfcc": PASS}))
    assert result.verdict == MISSED
    assert result.problems == ["bad: audio.transforms.mfcc: expected error /Numpy is not available/, got pass: "]


def test_missed_when_the_message_differs(write, suites_dir):
    case = case_of(write, suites_dir, GOOD)
    result = judge(case, summary(good={"audio.transforms.mfcc": PASS},
                                 bad={"audio.transforms.mfcc": ("error", "ImportError: libfoo.so")}))
    assert result.verdict == MISSED and "got error: ImportError: libfoo.so" in result.problems[0]


def test_missed_when_the_good_row_breaks_too(write, suites_dir):
    case = case_of(write, suites_dir, GOOD)
    result = judge(case, summary(good={"audio.transforms.mfcc": NUMPY}, bad={"audio.transforms.mfcc": NUMPY}))
    assert result.verdict == MISSED and result.problems[0].startswith("good: audio.transforms.mfcc")


def test_missed_when_a_row_did_not_run_or_the_feature_was_not_run(write, suites_dir):
    case = case_of(write, suites_dir, GOOD)
    assert judge(case, None).verdict == MISSED
    result = judge(case, summary(good={"audio.transforms.mfcc": PASS}, bad={"audio.transforms.biquad": PASS}))
    assert result.verdict == MISSED
    assert result.problems[0] == "bad: audio.transforms.mfcc: expected error /Numpy is not available/, not run"


def test_disturbed_when_an_unnamed_feature_changes_against_the_reference(write, suites_dir):
    case = case_of(write, suites_dir, GOOD)
    result = judge(case, summary(good={"audio.transforms.mfcc": PASS, "audio.transforms.biquad": PASS},
                                 bad={"audio.transforms.mfcc": NUMPY, "audio.transforms.biquad": ("fail", "off")}))
    assert result.verdict == DISTURBED
    assert result.problems == ["bad: audio.transforms.biquad: fail (reference good: pass): off"]


def test_an_unnamed_feature_that_stays_as_in_the_reference_is_no_disturbance(write, suites_dir):
    case = case_of(write, suites_dir, GOOD)
    both = {"audio.transforms.biquad": ("known-failure", "x")}
    result = judge(case, summary(good={"audio.transforms.mfcc": PASS, **both},
                                 bad={"audio.transforms.mfcc": NUMPY, **both}))
    assert result.verdict == CAUGHT


def test_a_pattern_names_every_feature_it_matches(write, suites_dir):
    text = GOOD.replace('[expect.bad]\n"audio.transforms.mfcc"', '[expect.bad]\n"audio.*"')
    case = case_of(write, suites_dir, text)
    cells = {"audio.transforms.mfcc": NUMPY, "audio.transforms.biquad": NUMPY}
    assert judge(case, summary(good={"audio.transforms.mfcc": PASS, "audio.transforms.biquad": PASS},
                               bad=cells)).verdict == CAUGHT
    cells["audio.transforms.biquad"] = PASS
    result = judge(case, summary(good={"audio.transforms.mfcc": PASS, "audio.transforms.biquad": PASS}, bad=cells))
    assert result.verdict == MISSED and result.problems[0].startswith("bad: audio.transforms.biquad: expected error")


# ---------------------------------------------------------------- the command, with a stand-in for the matrix run

def test_main_writes_a_versioned_result_and_scores(write, tmp_path, monkeypatch, capsys):
    write("corpus/alpha.toml", GOOD)
    write("corpus/beta.toml", GOOD)
    outcomes = {"alpha": NUMPY, "beta": PASS}

    def fake_run(case, reports, depth="quick"):
        run_dir = reports / "cases" / case.name / "runs" / "r1"
        return summary(good={"audio.transforms.mfcc": PASS},
                       bad={"audio.transforms.mfcc": outcomes[case.name]}), 12.5, 1, run_dir

    monkeypatch.setattr(cases, "run_case", fake_run)
    monkeypatch.setattr(cases.isolate, "guard", contextlib.nullcontext)  # no subreaper in the test process
    reports = tmp_path / "reports"
    code = cases.main(["--cases", str(tmp_path / "corpus"), "--reports", str(reports)])
    out = capsys.readouterr().out
    assert code == 1
    assert "corpus: 1/2 caught" in out and "  missed in 12 s" in out
    data = json.loads((reports / "cases.json").read_text())
    assert data["schema"] == 1 and data["score"] == {"caught": 1, "total": 2}
    assert [(c["name"], c["verdict"]) for c in data["cases"]] == [("alpha", CAUGHT), ("beta", MISSED)]
    assert data["cases"][0]["link"] == "https://github.com/pytorch/pytorch/issues/132179"
    assert data["cases"][0]["rows"][1]["expected"] == {"audio.transforms.mfcc": "error /Numpy is not available/"}
    assert data["cases"][0]["run"] == str(Path("cases/alpha/runs/r1"))

    outcomes["beta"] = NUMPY
    assert cases.main(["--cases", str(tmp_path / "corpus"), "--reports", str(reports), "beta"]) == 0
    assert json.loads((reports / "cases.json").read_text())["score"] == {"caught": 1, "total": 1}


# ---------------------------------------------------------------- the report's one line

def test_the_report_shows_the_corpus_score_linked_to_its_result(tmp_path):
    from harness import report
    from harness.summary import Verdict

    reports = tmp_path / "reports"
    assert cases.corpus_score(reports) is None
    reports.mkdir()
    (reports / "cases.json").write_text(json.dumps({"schema": 1, "started": "2026-11-30T01:00:00Z",
                                                    "score": {"caught": 8, "total": 9}, "cases": []}))
    corpus = cases.corpus_score(reports)
    assert corpus == {"caught": 8, "total": 9, "started": "2026-11-30T01:00:00Z", "selected": []}
    run_dir = reports / "runs" / "r1"
    summary = {"run_id": "r1", "started": "t0", "finished": "t1", "matrix": "m", "depth": "quick", "mode": "matrix",
               "features": {}, "rows": [], "corpus": corpus}
    report.write_report(summary, Verdict(0, ()), run_dir, [reports / "index.html", run_dir / "index.html"])
    assert 'corpus: <a href="cases.json">8/9 caught</a>' in (reports / "index.html").read_text()
    assert 'corpus: <a href="../../cases.json">8/9 caught</a>' in (run_dir / "index.html").read_text()
    del summary["corpus"]
    report.write_report(summary, Verdict(0, ()), run_dir, [reports / "index.html"])
    assert 'id="corpus"' not in (reports / "index.html").read_text()
