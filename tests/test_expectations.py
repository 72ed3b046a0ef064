import pytest

from harness.expectations import ExpectationError, Known, apply, load_expectations
from harness.status import Outcome, Status
from tests.conftest import ROOT

LINK = "https://github.com/pytorch/pytorch/issues/1"
ENTRY = Known("core.x", "XNNPACK is not enabled", LINK, package="torch", versions=">=2.13")


def test_matching_failure_becomes_known_failure():
    out = apply({"core.x": Outcome(Status.ERROR, "RuntimeError: XNNPACK is not enabled")},
                "r", {"torch": "2.14.1"}, [ENTRY])
    assert out["core.x"].status == Status.KNOWN_FAILURE and LINK in out["core.x"].message


def test_other_message_or_version_stays_a_failure():
    other = apply({"core.x": Outcome(Status.ERROR, "RuntimeError: other")}, "r", {"torch": "2.14.1"}, [ENTRY])
    older = apply({"core.x": Outcome(Status.ERROR, "XNNPACK is not enabled")}, "r", {"torch": "2.3.1"}, [ENTRY])
    assert other["core.x"].status == older["core.x"].status == Status.ERROR


def test_expected_failure_that_passes_is_fixed():
    out = apply({"core.x": Outcome(Status.PASS)}, "r", {"torch": "2.15.0"}, [ENTRY])
    assert out["core.x"].status == Status.FIXED and LINK in out["core.x"].message


def test_entry_by_row_name():
    entry = Known("core.x", "boom", LINK, rows=("torch-2.8",))
    assert apply({"core.x": Outcome(Status.FAIL, "boom")}, "torch-2.8", {}, [entry])["core.x"].status \
        == Status.KNOWN_FAILURE
    assert apply({"core.x": Outcome(Status.FAIL, "boom")}, "torch-2.3", {}, [entry])["core.x"].status \
        == Status.FAIL


def test_entry_without_link_is_rejected(write):
    path = write("e.toml", '[[known]]\nfeature = "a.b"\nmessage = "x"\nrows = ["r"]\n')
    with pytest.raises(ExpectationError, match="'link'"):
        load_expectations(path)


def test_shipped_expectations_load():
    entries = load_expectations(ROOT / "expectations.toml")
    assert entries and all(e.link.startswith("https://") for e in entries)


def test_a_known_failure_in_one_test_does_not_hide_another_failure():
    from harness.collect import feature_outcomes
    from harness.expectations import explain
    from harness.registry import Feature

    records = [{"collected": {"t1": ["core.x"], "t2": ["core.x"]}},
               {"test": "t1", "features": ["core.x"], "status": "error", "message": "XNNPACK is not enabled"},
               {"test": "t2", "features": ["core.x"], "status": "fail", "message": "AssertionError: other"}]
    registry = {"core.x": Feature("core.x", "d", "core")}
    out = feature_outcomes(registry, records, {"returncode": 1},
                           lambda fid, o: explain(fid, o, "r", {"torch": "2.14.1"}, [ENTRY]))
    assert out["core.x"].status == Status.FAIL and out["core.x"].test == "t2"
    records[2]["status"], records[2]["message"] = "pass", ""
    out = feature_outcomes(registry, records, {"returncode": 1},
                           lambda fid, o: explain(fid, o, "r", {"torch": "2.14.1"}, [ENTRY]))
    assert out["core.x"].status == Status.KNOWN_FAILURE


@pytest.mark.parametrize("link", ["javascript://%0Aalert(1)", "http://example.org/issue", "data://x",
                                  "https://", "https://x.org/a b", "ftp://x.org/1", "not a link"])
def test_a_link_that_is_not_an_https_url_is_rejected(write, link):
    path = write("expectations.toml", f'[[known]]\nfeature = "core.rpc.rpc_sync"\nmessage = "x"\n'
                                      f'link = "{link}"\nrows = ["r1"]\n')
    with pytest.raises(ExpectationError, match="field 'link' must be an https URL"):
        load_expectations(path)


def test_a_file_that_is_not_toml_is_named_in_one_line(tmp_path):
    path = tmp_path / "expectations.toml"
    path.write_text("[[known]\nfeature = 'core.a'\n")
    with pytest.raises(ExpectationError, match=r"expectations.toml: not valid TOML: .*line 1"):
        load_expectations(path)
