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
