"""harness.options.RunOptions: what `nox -s matrix -- ...` accepts, parsed and passed on (no torch)."""
import argparse

import pytest

from harness.cli import parser
from harness.options import RunOptions


def test_defaults_match_the_run_suites_command():
    options = RunOptions.parse([])
    assert options == RunOptions()
    cli = parser().parse_args(["run-suites", "--out", "x"])
    assert (options.depth, options.timeout, options.workers) == (cli.depth, cli.timeout, cli.workers)


def test_known_options_are_typed_and_the_rest_goes_to_pytest():
    options = RunOptions.parse(["--depth", "full", "-k", "mfcc", "--suites", "core", "audio/test_x.py",
                                "--timeout", "90", "--workers", "3", "-x"])
    assert options == RunOptions(depth="full", suites=("core", "audio/test_x.py"), timeout=90.0,
                                 pytest_args=("-k", "mfcc", "-x"), workers="3")


@pytest.mark.parametrize("argv", [[], ["--depth", "full"], ["--suites", "core", "vision", "-k", "x and not y"],
                                  ["--timeout", "12.5", "--workers", "1", "--", "-x"]])
def test_suite_args_are_what_run_suites_parses_back(argv):
    options = RunOptions.parse(argv)
    args = parser().parse_args(["run-suites", "--out", "o", *options.suite_args()])
    assert RunOptions(args.depth, tuple(args.suites), args.timeout, tuple(args.pytest_args), args.workers) == options


def test_a_bad_value_is_an_error_not_a_silent_default():
    with pytest.raises(argparse.ArgumentError, match="--depth"):
        RunOptions.parse(["--depth", "deep"])
    with pytest.raises(argparse.ArgumentError, match="--timeout"):
        RunOptions.parse(["--timeout", "soon"])
