import pytest

from harness.status import Outcome, Status, first_line, fold


def test_worst_outcome_stands_for_the_feature():
    outcomes = [Outcome(Status.PASS), Outcome(Status.FAIL, "assert 1 == 2"), Outcome(Status.ERROR, "boom")]
    assert fold(outcomes).status == Status.ERROR


def test_a_crash_outranks_a_timeout_and_a_timeout_a_failure():
    assert fold([Outcome(Status.TIMEOUT), Outcome(Status.CRASH)]).status == Status.CRASH
    assert fold([Outcome(Status.FAIL), Outcome(Status.TIMEOUT)]).status == Status.TIMEOUT


def test_absent_only_when_every_test_is_absent():
    assert fold([Outcome(Status.ABSENT), Outcome(Status.ABSENT)]).status == Status.ABSENT
    assert fold([Outcome(Status.ABSENT), Outcome(Status.PASS)]).status == Status.PASS


def test_a_feature_no_test_checked_is_an_error():
    assert fold([]).status == Status.ERROR


def test_first_line_skips_blank_lines_and_truncates():
    assert first_line("\n\n  RuntimeError: x\nmore") == "RuntimeError: x"
    assert len(first_line("y" * 1000, limit=50)) == 50


def test_outcome_json_round_trip():
    outcome = Outcome(Status.KNOWN_FAILURE, "msg", "a::b")
    assert Outcome.from_json(outcome.to_json()) == outcome


def _raise_chain():
    """What the dynamo exporter does: a generic, coloured wrapper around the real failure."""
    try:
        try:
            raise AttributeError("'NoneType' object has no attribute 'meta' (node at 0x7fd66795bf10)")
        except AttributeError as inner:
            raise RuntimeError("\x1b[1m\x1b[31mFailed to convert the exported program\x1b[0m") from inner
    except RuntimeError:  # the implicit context (no `from`) is the point
        raise ValueError("PassError: An error occurred when running the "  # noqa: B904
                         "'<onnxscript.version_converter._ConvertVersionPass object at 0x7fd66795bf10>' pass")


def test_the_first_line_names_the_innermost_cause_and_the_detail_keeps_the_chain():
    from harness.status import root_cause

    with pytest.raises(ValueError) as caught:
        _raise_chain()
    first, chain = root_cause(caught.value)
    assert first == "AttributeError: 'NoneType' object has no attribute 'meta' (node at 0x…)"
    lines = chain.splitlines()
    assert lines[0] == "Exception chain (outermost first):"
    assert lines[1].strip().startswith("ValueError: PassError") and "0x7f" not in lines[1]
    assert lines[2].strip() == "RuntimeError: Failed to convert the exported program"  # no ANSI codes
    assert lines[3].strip().startswith("AttributeError")


def test_an_assertion_is_its_own_cause_even_when_raised_while_handling_another():
    from harness.status import root_cause

    try:
        try:
            raise ImportError("optional thing")
        except ImportError:
            assert 1 == 2, "the check's own verdict"
    except AssertionError as exc:
        assert root_cause(exc) == ("AssertionError: the check's own verdict", "")


@pytest.mark.parametrize("raw, normal", [
    ("at /work/x/.nox/matrix-torch-2-14/lib/python3.11/site-packages/torch/onnx/_core.py:12",
     "at <site-packages>/torch/onnx/_core.py:12"),
    ("File /root/.pyenv/versions/3.11.7/lib/python3.11/subprocess.py", "File <python>/subprocess.py"),
    ("wrote /tmp/pytest-of-root/pytest-12/test_x0/model.onnx", "wrote <tmp>/test_x0/model.onnx"),
    ("<Foo object at 0x7f00deadbeef>", "<Foo object at 0x…>"),
    ("\x1b[31mred\x1b[0m", "red"),
])
def test_first_lines_read_the_same_in_every_row(raw, normal):
    assert first_line(raw) == normal
